"""Bad-input catalogue: coordinates and names (see ``catalogue.py``)."""
from __future__ import annotations

import numpy as np
import pytest

from catalogue import N_EXTRA_DUPES, RUN, Case, Ctx, _build_dupes, _run_task, _stations, run_case
from catalogue import module_cache, synthetic_tasks  # noqa: F401  (fixtures, found by name)
from geobench.coords import validate_lonlat
from geobench.encoding import get_encoder
from geobench.errors import InputError, NotApplicableError, UnknownNameError
from geobench.evaluation.runner import run_grid
from geobench.evaluation.splits import apply_split, parse_split
from geobench.tasks.base import load_task


# --- coordinates ---------------------------------------------------------------------

def _check_dupes(c: Ctx, res) -> None:
    df = _build_dupes()
    n_dupes = len(df) - len(np.unique(df[["lon", "lat"]].to_numpy(), axis=0))
    base = _stations()
    n_base = len(base) - len(np.unique(base[["lon", "lat"]].to_numpy(), axis=0))
    assert n_dupes == n_base + N_EXTRA_DUPES
    assert load_task("_bad_dupes").meta["n_duplicate_points"] == n_dupes
    (r,) = res.records
    assert r["status"] == "ok" and r["provenance"]["n_duplicate_points"] == n_dupes
    assert r["n_train"] + r["n_val"] + r["n_test"] == len(df)  # duplicates are kept, not dropped


def _single_point_encodes(c: Ctx):
    e = get_encoder("wrap").encode(np.array([[13.4, 52.5]]))
    lon, lat = np.deg2rad(13.4), np.deg2rad(52.5) * 2
    np.testing.assert_allclose(e, [[np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)]])
    return e


COORDS = [
    Case("lon-out-of-range", lambda c: validate_lonlat([[10, 20], [181.5, 0], [120, 5]]), InputError,
         ("longitude outside [-180, 180]", "rows 1", "((lon + 180) % 360) - 180")),
    Case("lat-out-of-range", lambda c: validate_lonlat([[120, 20], [10, -91]]), InputError,
         ("latitude outside [-90, 90]", "rows 1", "degrees in [-90, 90]")),
    Case("lat-far-out-is-not-called-swapped", lambda c: validate_lonlat([[10, 500]]), InputError,
         ("latitude outside [-90, 90]", "degrees in [-90, 90]")),
    Case("nan", lambda c: validate_lonlat([[0, 0], [np.nan, 1]]), InputError, ("NaN or inf", "rows 1", "drop")),
    Case("inf", lambda c: validate_lonlat([[0, np.inf]]), InputError, ("NaN or inf", "rows 0")),
    Case("wrong-shape", lambda c: validate_lonlat(np.zeros((4, 3))), InputError, ("(N, 2)", "(4, 3)", "(lon, lat)")),
    Case("not-numbers", lambda c: validate_lonlat([["a", "b"]]), InputError, ("cannot convert", "(lon, lat)")),
    Case("empty", lambda c: validate_lonlat(np.zeros((0, 2))), InputError, ("empty", "at least one")),
    Case("encoder-input-nan", lambda c: get_encoder("wrap").encode(np.array([[1.0, np.nan]])), InputError,
         ("encoder 'wrap' input", "NaN")),
    Case("task-swapped-lat-lon", lambda c: load_task("_bad_swapped"), InputError,
         ("task '_bad_swapped' points", "look swapped", "(lon, lat)", "lonlat[:, ::-1]")),
    Case("task-empty", lambda c: load_task("_bad_empty"), InputError, ("task '_bad_empty' points", "empty")),
    Case("task-nan-row", lambda c: load_task("_bad_nan"), InputError, ("task '_bad_nan' points", "rows 17")),
    Case("single-point-encodes", _single_point_encodes, None,
         check=lambda c, e: None),
    Case("single-point-task-cannot-split", _run_task("_bad_single"), InputError,
         ("1 point(s)", "at least 3 points")),
    Case("duplicate-points-counted", _run_task("_bad_dupes"), None, check=_check_dupes),
]


# --- names ---------------------------------------------------------------------------

def _cli(argv: list[str]):
    def go(c: Ctx):
        from geobench.cli import main

        rc = main(argv + ["--results", str(c.results), "--tracking-uri", "none"])
        err = c.capsys.readouterr().err
        assert rc == 2, err
        raise InputError(err)  # re-raised so the table checks the printed message
    return go


NAMES = [
    Case("unknown-task", lambda c: load_task("air_temp"), UnknownNameError,
         ("unknown task 'air_temp'", "did you mean 'air_temperature'", "valid tasks:")),
    Case("unknown-encoder", lambda c: get_encoder("sattclip"), UnknownNameError,
         ("unknown encoder 'sattclip'", "did you mean 'satclip'")),
    Case("unknown-head", lambda c: run_grid(["air_temperature"], ["direct"], ["linaer"], **RUN,
                                            results_dir=c.results), UnknownNameError,
         ("unknown head 'linaer'", "did you mean 'linear'", "lightgbm, linear, mlp")),
    Case("unknown-split", lambda c: parse_split("spatial"), UnknownNameError,
         ("unknown split 'spatial'", "did you mean 'spatial_block'")),
    Case("unknown-continent", lambda c: parse_split("continent:Atlantis"), UnknownNameError,
         ("unknown continent 'Atlantis'", "Africa", "South America")),
    Case("continent-with-no-points", lambda c: apply_split(load_task("air_temperature").df,
                                                           parse_split("continent:Antarctica"), 0),
         NotApplicableError, ("'Antarctica' has no points", "continents present")),  # recorded, the grid goes on
    Case("malformed-option-no-equals", lambda c: get_encoder("sh:L"), InputError,
         ("malformed option 'L'", "name:key=value")),
    Case("malformed-option-empty-key", lambda c: get_encoder("sh:=4"), InputError, ("malformed option '=4'",)),
    Case("empty-name", lambda c: get_encoder(":L=4"), InputError, ("empty name", "sh:L=40")),
    Case("unknown-option", lambda c: get_encoder("sh:degree=4"), InputError,
         ("no option 'degree'", "accepted options:", "L")),
    Case("option-wrong-type", lambda c: get_encoder("sh:L=ten"), InputError, ("L='ten'", "not a valid int")),
    Case("split-option-not-number", lambda c: parse_split("random:train=most"), InputError,
         ("train='most'", "must be a number")),
    Case("split-leaves-no-test", lambda c: parse_split("random:train=0.9:val=0.2"), InputError,
         ("leaves no test set", "train+val < 1")),
    Case("unknown-task-option", lambda c: load_task("countries", resolution=3), InputError,
         ("no option(s) ['resolution']", "accepted", "n_points")),
    Case("task-option-wrong-type", lambda c: load_task("countries", n_points="many"), InputError,
         ("n_points='many'", "not a valid int")),
    Case("cli-unknown-task", _cli(["run", "--task", "air_temp", "--encoder", "direct"]), InputError,
         ("geobench: error: unknown task 'air_temp'", "did you mean 'air_temperature'")),
    Case("cli-malformed-encoder", _cli(["run", "--task", "air_temperature", "--encoder", "sh:L"]), InputError,
         ("geobench: error: malformed option 'L'", "name:key=value")),
]


CASES = COORDS + NAMES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch, capsys, module_cache):
    run_case(case, tmp_path, monkeypatch, capsys, module_cache)
