"""The per-continent bar figure from a records fixture with known per-continent scores: means and
standard deviations over seeds, NaN spread for one seed, continents under the point threshold and
rows outside the grid left out, a single-region (US) task shown by its Global score only."""
from __future__ import annotations

import math
import statistics

import pytest

from geobench.errors import InputError
from geobench.evaluation.grid import grid_plan
from geobench.evaluation.records import upgrade
from geobench.evaluation.splits import parse_split
from geobench.reporting.continent_bars import continent_bar_data, plot_continent_bars
from geobench.reporting.png import MAX_FIGURE_BYTES

ENCODERS = ("satclip-bm", "wrap", "constant")
METRIC = {"elevation": "r2", "countries": "accuracy", "median_income": "r2"}
# test points per region; Oceania (40) is under the 50-point threshold, Europe sits on it
N = {"Global": 1000, "Africa": 60, "Europe": 50, "Oceania": 40}
# task -> encoder -> per-seed {region: score}; constant has one seed (no spread)
SCORES = {
    "elevation": {
        "satclip-bm": [{"Global": 0.70, "Africa": 0.50, "Europe": 0.40, "Oceania": 0.1},
                       {"Global": 0.72, "Africa": 0.54, "Europe": 0.44, "Oceania": 0.2},
                       {"Global": 0.74, "Africa": 0.55, "Europe": 0.39, "Oceania": 0.3}],
        "wrap": [{"Global": 0.05, "Africa": -0.20, "Europe": -2.0, "Oceania": -5.0},
                 {"Global": 0.07, "Africa": -0.30, "Europe": -3.0, "Oceania": -6.0}],
        "constant": [{"Global": 0.0, "Africa": -0.01, "Europe": -0.6, "Oceania": -1.0}],
    },
    "countries": {
        "satclip-bm": [{"Global": 0.90, "Africa": 0.85, "Europe": 0.92, "Oceania": 0.99},
                       {"Global": 0.91, "Africa": 0.86, "Europe": 0.90, "Oceania": 0.98}],
        "wrap": [{"Global": 0.40, "Africa": 0.30, "Europe": 0.50, "Oceania": 0.1},
                 {"Global": 0.44, "Africa": 0.33, "Europe": 0.52, "Oceania": 0.2},
                 {"Global": 0.42, "Africa": 0.31, "Europe": 0.49, "Oceania": 0.3}],
        "constant": [{"Global": 0.12, "Africa": 0.0, "Europe": 0.7, "Oceania": 0.0}],
    },
}
US = {"satclip-bm": [0.20, 0.24], "constant": [-0.01]}  # median_income: one region, the whole test set


def _split(task: str, kind: str) -> str:
    return next(str(parse_split(s)) for s in dict(grid_plan([task]))[task] if s.startswith(kind))


def _row(task, enc, seed, glob, per, split=None, head="linear"):
    split = split or _split(task, "random")
    m = METRIC[task]
    return upgrade({"key": f"{task}|{enc}|{head}|{split}|{seed}|", "task": task, "encoder": enc, "head": head,
                    "split": split, "seed": seed, "status": "ok", "primary_metric": m,
                    "kind": "regression" if m == "r2" else "classification",
                    "metrics": {m: glob, "n": N["Global"]},
                    "per_continent": {c: {m: v, "n": N.get(c, N["Global"])} for c, v in per.items()}})


def _records() -> list[dict]:
    recs = []
    for task, by_enc in SCORES.items():
        for enc, seeds in by_enc.items():
            for s, sc in enumerate(seeds):
                recs.append(_row(task, enc, s, sc["Global"], {c: v for c, v in sc.items() if c != "Global"}))
    for enc, vals in US.items():
        for s, v in enumerate(vals):
            recs.append(_row("median_income", enc, s, v, {"North America": v}))  # n: the whole test set
    # outside the figure: a split not in the grid, another head, an encoder not asked for
    recs.append(_row("elevation", "satclip-bm", 0, -9.0, {"Africa": -9.0}, split="random:train=0.5:val=0.2"))
    recs.append(_row("elevation", "satclip-bm", 0, -9.0, {"Africa": -9.0}, head="mlp"))
    recs.append(_row("elevation", "rff", 0, -9.0, {"Africa": -9.0}))
    # another split kind of the grid: not part of the random figure
    recs.append(_row("elevation", "satclip-bm", 0, -9.0, {"Africa": -9.0}, split=_split("elevation", "spatial_block")))
    return recs


def test_means_stds_and_regions():
    df = continent_bar_data(_records(), encoders=ENCODERS)
    assert list(df.columns[:7]) == ["task", "region", "encoder", "mean", "std", "n_seeds", "n_points"]
    # tasks in report order (global tasks first), Oceania (n=40 < 50) dropped, US task Global only
    assert list(dict.fromkeys(df["task"])) == ["elevation", "countries", "median_income"]
    for task in SCORES:
        assert list(dict.fromkeys(df[df["task"] == task]["region"])) == ["Global", "Africa", "Europe"]
    assert set(df[df["task"] == "median_income"]["region"]) == {"Global"}
    assert len(df) == 2 * 3 * 3 + 2
    got = df.set_index(["task", "region", "encoder"])
    for task, by_enc in SCORES.items():
        for enc, seeds in by_enc.items():
            for region in ("Global", "Africa", "Europe"):
                vals = [sc[region] for sc in seeds]
                row = got.loc[(task, region, enc)]
                assert row["mean"] == pytest.approx(statistics.mean(vals))
                assert row["n_seeds"] == len(vals)
                assert row["n_points"] == N[region]
                assert row["metric"] == METRIC[task] and row["split"] == "random:train=0.6:val=0.2"
                if len(vals) > 1:
                    assert row["std"] == pytest.approx(statistics.stdev(vals))
                else:
                    assert math.isnan(row["std"])  # one seed: spread unknown, never 0
    us = got.loc[("median_income", "Global", "satclip-bm")]
    assert us["mean"] == pytest.approx(0.22) and us["std"] == pytest.approx(statistics.stdev(US["satclip-bm"]))


def test_threshold_encoder_choice_and_bad_kind():
    df = continent_bar_data(_records(), encoders=("wrap",), min_n=55)
    assert set(df["encoder"]) == {"wrap"} and set(df["region"]) == {"Global", "Africa"}  # Europe (50) now out
    blk = continent_bar_data(_records(), kind="spatial_block", encoders=ENCODERS)
    assert blk[["task", "region", "encoder", "mean", "n_seeds"]].values.tolist() == [
        ["elevation", "Global", "satclip-bm", -9.0, 1], ["elevation", "Africa", "satclip-bm", -9.0, 1]]
    assert continent_bar_data(_records(), head="lightgbm").empty
    with pytest.raises(InputError, match="split kind 'africa'.*random, spatial_block, continent"):
        continent_bar_data(_records(), kind="africa")


def test_figure_is_written_small(tmp_path):
    p = plot_continent_bars(_records(), tmp_path)
    assert p == tmp_path / "continent_bars__linear__random.png"
    assert p.is_file() and 0 < p.stat().st_size < MAX_FIGURE_BYTES
    assert plot_continent_bars(_records(), tmp_path, head="lightgbm") is None
