"""Splits are disjoint, deterministic, geographic, and reject bad specs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geobench.errors import InputError, UnknownNameError
from geobench.evaluation.splits import apply_split, parse_split


@pytest.fixture(scope="module")
def pts():
    from geobench.tasks.sampling import sample_sphere

    lon, lat = sample_sphere(5000, seed=1).T
    cont = np.where(lon > 60, "Asia", np.where((lon > -20) & (lat < 35), "Africa", "Europe"))
    return pd.DataFrame({"lon": lon, "lat": lat, "continent": cont})


@pytest.mark.parametrize("spec", ["random", "spatial_block", "spatial_block:deg=5", "continent",
                                  "continent:Africa:fewshot=0.01", "continent:Asia"])
def test_disjoint_complete_deterministic(pts, spec):
    s = parse_split(spec)
    a = apply_split(pts, s, 0)
    b = apply_split(pts, s, 0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    tr, va, te = a
    allidx = np.concatenate(a)
    assert allidx.size == len(pts) and np.unique(allidx).size == len(pts)
    c = apply_split(pts, s, 1)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


@pytest.mark.parametrize("spec", ["random", "spatial_block:deg=5", "continent:Asia:fewshot=0.01"])
def test_canonical_form_round_trips(spec):
    s = parse_split(spec)
    assert parse_split(str(s)) == s


def test_random_fractions(pts):
    tr, va, te = apply_split(pts, parse_split("random"), 0)
    assert (tr.size, va.size, te.size) == (3000, 1000, 1000)


def test_spatial_block_keeps_blocks_whole(pts):
    tr, va, te = apply_split(pts, parse_split("spatial_block:deg=10"), 3)
    blk = (np.floor((pts.lon + 180) / 10) * 1000 + np.floor((pts.lat + 90) / 10)).to_numpy()
    sets = [set(blk[i]) for i in (tr, va, te)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert 0.45 < tr.size / len(pts) < 0.75 and te.size > 0.1 * len(pts)


def test_zero_shot_has_no_test_continent_in_train(pts):
    tr, va, te = apply_split(pts, parse_split("continent:Africa"), 0)
    cont = pts.continent.to_numpy()
    assert (cont[te] == "Africa").all()
    assert not (cont[tr] == "Africa").any() and not (cont[va] == "Africa").any()


def test_few_shot_moves_about_one_percent(pts):
    tr, va, te = apply_split(pts, parse_split("continent:Africa:fewshot=0.01"), 0)
    cont = pts.continent.to_numpy()
    n_af = int((cont == "Africa").sum())
    moved = int((cont[tr] == "Africa").sum())
    assert moved == round(0.01 * n_af) and te.size == n_af - moved


@pytest.mark.parametrize("spec,err,needle", [
    ("randm", UnknownNameError, "random"),
    ("continent:Atlantis", UnknownNameError, "Africa"),
    ("random:train=0.9:val=0.2", InputError, "no test set"),
    ("spatial_block:size=3", InputError, "deg"),
    ("random:train", InputError, "name:key=value"),
])
def test_bad_specs(spec, err, needle):
    with pytest.raises(err) as e:
        parse_split(spec)
    assert needle in str(e.value)


def test_continent_absent_from_task(pts):
    from geobench.errors import NotApplicableError

    with pytest.raises(NotApplicableError) as e:
        apply_split(pts, parse_split("continent:Oceania"), 0)
    assert "continents present" in str(e.value)
