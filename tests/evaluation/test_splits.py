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


# --- random:duplicates=grouped ------------------------------------------------------------

def test_duplicates_option_names_and_canonical_form():
    assert str(parse_split("random")) == "random:train=0.6:val=0.2"  # committed rows keep their keys
    assert parse_split("random:duplicates=independent") == parse_split("random")
    g = parse_split("random:duplicates=grouped")
    assert str(g) == "random:duplicates=grouped:train=0.6:val=0.2" and parse_split(str(g)) == g
    with pytest.raises(UnknownNameError) as e:
        parse_split("random:duplicates=together")
    assert "grouped" in str(e.value)
    with pytest.raises(InputError):
        parse_split("spatial_block:duplicates=grouped")


def test_grouped_is_the_default_split_without_duplicates(pts):
    for seed in (0, 3):
        a = apply_split(pts, parse_split("random"), seed)
        b = apply_split(pts, parse_split("random:duplicates=grouped"), seed)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def housing():
    """California housing: 20,640 block groups, 12,403 of them share their coordinates with
    another (4,353 coordinates used more than once, up to 15 times)."""
    from geobench.tasks.base import load_task

    return load_task("california_housing").df


def _coords(df, idx):
    return set(map(tuple, df[["lon", "lat"]].to_numpy()[idx]))


def test_housing_has_duplicates_that_the_default_split_spreads(housing):
    from geobench.evaluation.splits import n_shared_coords

    ll = housing[["lon", "lat"]].to_numpy()
    assert len(housing) - len(np.unique(ll, axis=0)) > 5000
    tr, va, te = apply_split(housing, parse_split("random"), 0)
    shared = n_shared_coords(housing, te, tr)
    # independent route: test rows whose coordinate is among the training coordinates
    train_coords = _coords(housing, tr)
    assert shared == sum(tuple(c) in train_coords for c in ll[te]) and shared > 1000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_keeps_each_coordinate_in_one_part(housing, seed):
    from geobench.evaluation.splits import n_shared_coords

    spec = parse_split("random:duplicates=grouped")
    tr, va, te = apply_split(housing, spec, seed)
    n = len(housing)
    assert np.unique(np.concatenate([tr, va, te])).size == n == tr.size + va.size + te.size
    sets = [_coords(housing, i) for i in (tr, va, te)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert n_shared_coords(housing, te, np.union1d(tr, va)) == 0
    for got, frac in zip((tr.size, va.size, te.size), (0.6, 0.2, 0.2)):
        assert abs(got - frac * n) <= 15  # a cut moves at most half the largest group (15 rows)
    again = apply_split(housing, spec, seed)
    assert all(np.array_equal(x, y) for x, y in zip((tr, va, te), again))
    other = apply_split(housing, spec, seed + 10)
    assert not np.array_equal(te, other[2])


def test_records_count_shared_coordinates(tmp_path, housing):
    from geobench.evaluation.runner import run_grid

    res = run_grid(["california_housing"], ["direct"], ["constant"], ["random", "random:duplicates=grouped"], 1,
                   results_dir=tmp_path, tracking_uri="none", progress=False, n_boot=0)
    by_split = {r["split"]: r for r in res.records}
    default, grouped = by_split["random:train=0.6:val=0.2"], by_split["random:duplicates=grouped:train=0.6:val=0.2"]
    assert default["provenance"]["n_test_coords_in_train"] > 1000
    assert grouped["provenance"]["n_test_coords_in_train"] == 0
    assert default["key"] != grouped["key"]


def test_ntrain_nests_training_sets_over_one_fixed_test_set():
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"lon": rng.uniform(-180, 180, 2000), "lat": rng.uniform(-60, 70, 2000), "continent": "Africa"})
    parts = {n: apply_split(df, parse_split(f"random:train=0.8:val=0.1:ntrain={n}"), 3) for n in (100, 400, 1600)}
    full = apply_split(df, parse_split("random:train=0.8:val=0.1"), 3)
    assert [len(p[0]) for p in parts.values()] == [100, 400, 1600]
    assert set(parts[100][0]) < set(parts[400][0]) < set(parts[1600][0]) == set(full[0])
    assert all((p[2] == full[2]).all() and (p[1] == full[1]).all() for p in parts.values())
    with pytest.raises(InputError, match="ntrain=1601 is more than the 1600 rows"):
        apply_split(df, parse_split("random:train=0.8:val=0.1:ntrain=1601"), 3)


def test_the_learning_curve_fits_on_exactly_ntrain_points():
    """The paper profile's curve: each size's fit set (train + val, as the linear head fits) is
    exactly ``ntrain`` points, nested, over one fixed test set."""
    from geobench.evaluation.profiles import CURVE_NTRAIN, CURVE_TASKS, PROFILES

    (curve,) = [b for b in PROFILES["paper"].blocks if any("ntrain=" in s for s in b.splits)]
    splits = curve.task_splits(CURVE_TASKS[0], [])
    assert [parse_split(s).params["ntrain"] for s in splits] == list(CURVE_NTRAIN)
    rng = np.random.default_rng(1)
    n = 100_000  # the curve tasks' point count
    df = pd.DataFrame({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-60, 70, n), "continent": "Africa"})
    parts = [apply_split(df, parse_split(s), 0) for s in splits]
    assert [len(p[0]) + len(p[1]) for p in parts] == list(CURVE_NTRAIN)
    assert all(set(a[0]) < set(b[0]) for a, b in zip(parts, parts[1:]))
    assert all((p[2] == parts[0][2]).all() for p in parts) and len(parts[0][2]) == n // 10
