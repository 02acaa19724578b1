"""The extrapolation figures' data from a records fixture with known distance bins and block-size
rows: means over seeds, a shared bin / size axis, gaps as NaN (never 0)."""
from __future__ import annotations

import math

import pytest

from geobench.evaluation.records import upgrade
from geobench.reporting.extrapolation_figures import (block_size_table, distance_table, plot_block_size_curves,
                                                      plot_distance_curves)
from geobench.reporting.png import MAX_FIGURE_BYTES


def blk(deg: float) -> str:
    return f"spatial_block:deg={deg:.1f}:train=0.6:val=0.2"


def _row(task, enc, seed, *, split=blk(10), head="linear", value=0.5, bins=None):
    cls = task == "countries"
    metric = "accuracy" if cls else "r2"
    geo = None
    if bins is not None:
        key = "accuracy" if cls else "skill"
        edges = [(0.0, 10.0), (10.0, 500.0), (500.0, None)]
        geo = {"distance": {"median_km": 50.0, "bins": [
            {"lo_km": lo, "hi_km": hi, "n": 40, key: v} for (lo, hi), v in zip(edges, bins)]}}
    return upgrade({"key": f"{task}|{enc}|{head}|{split}|{seed}|", "task": task, "encoder": enc, "head": head,
                    "split": split, "seed": seed, "status": "ok", "kind": "classification" if cls else "regression",
                    "metrics": {metric: value}, "primary_metric": metric, "geo": geo})


# (0-10, 10-500, >= 500 km) per seed; None: a bin with too few points
DIST = [_row("elevation", "wrap", 0, bins=(None, 0.8, 0.2)), _row("elevation", "wrap", 1, bins=(None, 0.6, 0.0)),
        _row("elevation", "sh", 0, bins=(None, 0.9, 0.7)), _row("elevation", "sh", 1, bins=(None, 0.9, 0.5)),
        _row("countries", "wrap", 0, bins=(0.5, 0.4, None)), _row("countries", "wrap", 1, bins=(0.7, 0.4, None)),
        _row("countries", "sh", 0, bins=(0.9, 0.6, 0.3)), _row("countries", "sh", 1, bins=(0.8, 0.7, 0.5)),
        _row("elevation", "sh", 0, head="mlp", bins=(0.0, 0.0, 0.0)),  # another head
        _row("elevation", "sh", 0, split="random:train=0.6:val=0.2", bins=(0.0, 0.0, 0.0))]  # another split


def test_distance_table_means_and_gaps():
    df = distance_table(DIST)
    got = {(r.task, r.encoder, r.bin): r.score for r in df.itertuples()}
    nan = math.nan
    expected = {("elevation", "sh", "0-10 km"): nan, ("elevation", "sh", "10-500 km"): 0.9,
                ("elevation", "sh", ">= 500 km"): 0.6,
                ("elevation", "wrap", "0-10 km"): nan, ("elevation", "wrap", "10-500 km"): 0.7,
                ("elevation", "wrap", ">= 500 km"): 0.1,
                ("countries", "sh", "0-10 km"): 0.85, ("countries", "sh", "10-500 km"): 0.65,
                ("countries", "sh", ">= 500 km"): 0.4,
                ("countries", "wrap", "0-10 km"): 0.6, ("countries", "wrap", "10-500 km"): 0.4,
                ("countries", "wrap", ">= 500 km"): nan}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert (math.isnan(got[k]) if math.isnan(v) else got[k] == pytest.approx(v)), k
    assert list(dict.fromkeys(df["task"])) == ["elevation", "countries"]  # GLOBAL_TASKS order
    assert df.drop_duplicates("bin").set_index("bin")["x"].to_dict() == {"0-10 km": 0, "10-500 km": 1, ">= 500 km": 2}
    assert df.groupby("task")["metric"].first().to_dict() == {"elevation": "skill", "countries": "accuracy"}
    assert distance_table(DIST, head="lightgbm").empty


# primary metric per (task, encoder, block side): two seeds each, value +- 0.02
BLOCKS = {("air_temperature", "sh"): {2: 0.9, 5: 0.85, 10: 0.8, 20: 0.6},
          ("air_temperature", "wrap"): {2: 0.7, 10: 0.5, 20: 0.45},  # no 5-degree row: a gap
          ("countries", "sh"): {10: 0.7, 20: 0.55},
          ("elevation", "sh"): {10: 0.6}}  # one size: no curve, no panel


def _blocks() -> list[dict]:
    return [_row(t, e, s, split=blk(d), value=v + dv) for (t, e), c in BLOCKS.items() for d, v in c.items()
            for s, dv in enumerate((-0.02, 0.02))]


def test_block_size_table_means_and_gaps():
    df = block_size_table(_blocks())
    got = {(r.task, r.encoder, r.deg): r.score for r in df.itertuples()}
    nan = math.nan
    expected = {("air_temperature", "sh", 2.0): 0.9, ("air_temperature", "sh", 5.0): 0.85,
                ("air_temperature", "sh", 10.0): 0.8, ("air_temperature", "sh", 20.0): 0.6,
                ("air_temperature", "wrap", 2.0): 0.7, ("air_temperature", "wrap", 5.0): nan,
                ("air_temperature", "wrap", 10.0): 0.5, ("air_temperature", "wrap", 20.0): 0.45,
                ("countries", "sh", 2.0): nan, ("countries", "sh", 5.0): nan,
                ("countries", "sh", 10.0): 0.7, ("countries", "sh", 20.0): 0.55}
    assert got.keys() == expected.keys()  # elevation has one size only: left out
    for k, v in expected.items():
        assert (math.isnan(got[k]) if math.isnan(v) else got[k] == pytest.approx(v)), k
    assert df.groupby("task")["metric"].first().to_dict() == {"air_temperature": "r2", "countries": "accuracy"}


def test_figures_write_small_pngs_or_nothing(tmp_path):
    a = plot_distance_curves(DIST, tmp_path)
    b = plot_block_size_curves(_blocks(), tmp_path)
    assert a == tmp_path / "extrapolation_distance__linear.png"
    assert b == tmp_path / "extrapolation_block_size__linear.png"
    assert all(0 < p.stat().st_size < MAX_FIGURE_BYTES for p in (a, b))
    empty = tmp_path / "empty"
    assert plot_distance_curves(_blocks(), empty) is None  # no geo blocks
    assert plot_block_size_curves(DIST, empty) is None  # 10-degree rows only
    assert plot_distance_curves([], empty) is None and plot_block_size_curves([], empty) is None
    assert not empty.exists()
