"""Africa error maps from a tiny results folder: per-point predictions written like the runner
writes them (Parquet with the record's key in its metadata), with known y and pred."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geobench.errors import InputError
from geobench.evaluation.records import upgrade
from geobench.evaluation.runner import write_predictions
from geobench.evaluation.splits import parse_split
from geobench.reporting.error_maps import (CORRECT, WRONG_AFRICAN, WRONG_NON_AFRICAN, class_error_data,
                                           class_error_summary, plot_africa_class_errors, plot_africa_residuals,
                                           residual_map_data, residual_summary, symmetric_limit, unit_label)

ZERO_SHOT = str(parse_split("continent:Africa"))  # continent:fewshot=0.0:name=Africa:val=0.2
# three African test points and one Asian one (left out of every map)
LON, LAT = [10.0, 20.0, 30.0, 100.0], [5.0, -10.0, 0.0, 30.0]
CONT = ["Africa", "Africa", "Africa", "Asia"]
ELEV_Y = [100.0, 200.0, 300.0, 50.0]
ELEV_PRED = {("satclip-bm", 0): [150.0, 170.0, 300.0, 9999.0],  # residuals +50, -30, 0 (Asia ignored)
             ("geoclip", 0): [90.0, 220.0, 340.0, 50.0],  # -10, +20, +40
             ("satclip-bm", 1): [100.0, 200.0, 310.0, 50.0]}  # 0, 0, +10
BIOME_Y = [1, 1, 2, 7]  # class 7 occurs only outside Africa
BIOME_PRED = {("satclip-bm", 0): [1, 2, 7, 7],  # correct; wrong, African (2); wrong, non-African (7)
              ("geoclip", 0): [5, 1, 1, 7]}  # wrong, non-African (5: nowhere); correct; wrong, African (1)


def _record(results, task, kind, enc, seed, y, pred, write=True):
    metric = "r2" if kind == "regression" else "accuracy"
    r = upgrade({"key": f"{task}|{enc}|linear|{ZERO_SHOT}|{seed}|", "task": task, "encoder": enc, "head": "linear",
                 "split": ZERO_SHOT, "seed": seed, "status": "ok", "kind": kind, "primary_metric": metric,
                 "metrics": {metric: 0.5}, "timestamp": 1.0,
                 "predictions": f"predictions/{task}/{enc}/linear__seed{seed}.parquet"})
    if write:
        df = pd.DataFrame({"row": np.arange(4), "lon": LON, "lat": LAT, "continent": CONT, "y": y, "pred": pred})
        df.attrs["key"] = r["key"]
        write_predictions(results / r["predictions"], df)
    return r


@pytest.fixture
def fixture(tmp_path):
    recs = [_record(tmp_path, "elevation", "regression", e, s, ELEV_Y, p) for (e, s), p in ELEV_PRED.items()]
    recs += [_record(tmp_path, "biome", "classification", e, s, BIOME_Y, p) for (e, s), p in BIOME_PRED.items()]
    # a row whose predictions file was never written: skipped with the reason
    recs += [_record(tmp_path, "elevation", "regression", "csp-bm", 0, ELEV_Y, ELEV_Y, write=False),
             _record(tmp_path, "biome", "classification", "csp-bm", 0, BIOME_Y, BIOME_Y, write=False)]
    return tmp_path, recs


def test_residuals_and_their_summary_in_metres(fixture, capsys):
    results, recs = fixture
    d = residual_map_data(results, recs, "elevation", encoders=("satclip-bm", "csp-bm", "geoclip"))
    assert "skipping csp-bm: its predictions file" in capsys.readouterr().out
    assert d["encoder"].tolist() == ["satclip-bm"] * 3 + ["geoclip"] * 3  # the Asian point left out
    assert d["residual"].tolist() == [50.0, -30.0, 0.0, -10.0, 20.0, 40.0]
    assert d["lon"].tolist() == LON[:3] * 2 and d["lat"].tolist() == LAT[:3] * 2
    s = residual_summary(d)
    assert s.loc["satclip-bm", "rmse"] == pytest.approx(math.sqrt((50**2 + 30**2 + 0**2) / 3))
    assert s.loc["satclip-bm", "mae"] == pytest.approx((50 + 30 + 0) / 3)
    assert s.loc["geoclip", "rmse"] == pytest.approx(math.sqrt((10**2 + 20**2 + 40**2) / 3))
    assert s.loc["geoclip", "mae"] == pytest.approx((10 + 20 + 40) / 3)
    assert s.loc["geoclip", "bias"] == pytest.approx(50 / 3) and s["n"].tolist() == [3, 3]
    # limits: the median (of two: the mean) of each encoder's 98th percentile of |residual|
    p98 = lambda a: np.percentile(np.abs(a), 98)  # noqa: E731
    assert symmetric_limit(d) == pytest.approx((p98([50, 30, 0]) + p98([10, 20, 40])) / 2)
    # the seed picks the row
    d1 = residual_map_data(results, recs, "elevation", encoders=("satclip-bm",), seed=1)
    assert d1["residual"].tolist() == [0.0, 0.0, 10.0]


def test_three_error_categories(fixture):
    results, recs = fixture
    d = class_error_data(results, recs, "biome", encoders=("satclip-bm", "geoclip"))
    assert d["encoder"].tolist() == ["satclip-bm"] * 3 + ["geoclip"] * 3
    assert d["category"].astype(str).tolist() == [CORRECT, WRONG_AFRICAN, WRONG_NON_AFRICAN,
                                                  WRONG_NON_AFRICAN, CORRECT, WRONG_AFRICAN]
    s = class_error_summary(d)
    assert s.loc["satclip-bm", [CORRECT, WRONG_AFRICAN, WRONG_NON_AFRICAN]].tolist() == [1, 1, 1]
    assert s.loc["geoclip", "n"] == 3 and s.loc["geoclip", f"share {WRONG_NON_AFRICAN}"] == pytest.approx(1 / 3)


def test_bad_task_kind_units_and_nothing_to_draw(fixture, tmp_path):
    results, recs = fixture
    with pytest.raises(InputError, match="regression task"):
        residual_map_data(results, recs, "biome")
    with pytest.raises(InputError, match="classification task"):
        class_error_data(results, recs, "elevation")
    assert unit_label("elevation") == "m" and unit_label("air_temperature") == "°C"
    assert plot_africa_residuals(results, recs, tmp_path / "out", encoders=("csp-bm",)) is None
    assert plot_africa_class_errors(results, recs, tmp_path / "out", encoders=("mosaiks",)) is None


def test_figures_are_written_under_the_budget(fixture, tmp_path):
    results, recs = fixture
    for p in (plot_africa_residuals(results, recs, tmp_path / "out"),
              plot_africa_class_errors(results, recs, tmp_path / "out")):
        assert p is not None and p.is_file() and p.suffix == ".png" and p.stat().st_size < 500_000
