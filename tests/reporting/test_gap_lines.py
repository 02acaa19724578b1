"""The random -> spatial block -> Africa figure from a records fixture with known scores: means and
standard deviations over seeds per split kind, NaN spread for one seed, and rows outside the grid
(other block sizes, the other Africa protocol, US-only tasks, other heads and encoders) left out."""
from __future__ import annotations

import math
import statistics

import pytest

from geobench.evaluation.grid import grid_plan
from geobench.evaluation.records import upgrade
from geobench.evaluation.splits import parse_split
from geobench.reporting.gap_lines import gap_data, plot_gap_lines
from geobench.reporting.png import MAX_FIGURE_BYTES

ENCODERS = ("satclip-bm", "wrap", "constant")
KINDS = ("random", "spatial_block", "continent")
METRIC = {"elevation": "r2", "countries": "accuracy", "median_income": "r2"}
# task -> encoder -> kind -> per-seed scores (constant: one seed)
SCORES = {
    "elevation": {
        "satclip-bm": {"random": [0.70, 0.72, 0.74], "spatial_block": [0.50, 0.58, 0.55],
                       "continent": [-5.0, -5.0, -5.0]},
        "wrap": {"random": [0.05, 0.07], "spatial_block": [0.0, -0.02], "continent": [-0.4, -0.5]},
        "constant": {"random": [0.0], "spatial_block": [-0.01], "continent": [-0.02]},
    },
    "countries": {
        "satclip-bm": {"random": [0.90, 0.91], "spatial_block": [0.78, 0.80], "continent": [0.15, 0.16]},
        "wrap": {"random": [0.40, 0.44, 0.42], "spatial_block": [0.39, 0.40, 0.38], "continent": [0.0, 0.01, 0.0]},
        "constant": {"random": [0.12], "spatial_block": [0.11], "continent": [0.0]},
    },
}


def _split(task: str, kind: str) -> str:
    return next(str(parse_split(s)) for s in dict(grid_plan([task]))[task] if s.startswith(kind))


def _row(task, enc, seed, value, split, head="linear"):
    m = METRIC[task]
    return upgrade({"key": f"{task}|{enc}|{head}|{split}|{seed}|", "task": task, "encoder": enc, "head": head,
                    "split": split, "seed": seed, "status": "ok", "primary_metric": m,
                    "kind": "regression" if m == "r2" else "classification", "metrics": {m: value, "n": 500}})


def _records() -> list[dict]:
    recs = [_row(t, e, s, v, _split(t, k)) for t, by_enc in SCORES.items() for e, by_kind in by_enc.items()
            for k, vals in by_kind.items() for s, v in enumerate(vals)]
    # outside the figure: another block size and the few-shot hold-out (not elevation's grid splits),
    # a US-only task (no Africa hold-out), another head, an encoder not asked for
    recs += [_row("elevation", "satclip-bm", 0, 9.0, str(parse_split("spatial_block:deg=2"))),
             _row("elevation", "satclip-bm", 0, 9.0, str(parse_split("continent:Africa:fewshot=0.01"))),
             _row("median_income", "satclip-bm", 0, 9.0, _split("median_income", "random")),
             _row("elevation", "satclip-bm", 0, 9.0, _split("elevation", "random"), head="mlp"),
             _row("elevation", "rff", 0, 9.0, _split("elevation", "random"))]
    return recs


def test_gap_data_means_and_stds():
    df = gap_data(_records(), encoders=ENCODERS)
    assert list(df.columns[:6]) == ["task", "encoder", "kind", "mean", "std", "n_seeds"]
    expected = [(t, e, k) for t in SCORES for e in ENCODERS for k in KINDS]  # report order
    assert list(zip(df["task"], df["encoder"], df["kind"])) == expected
    got = df.set_index(["task", "encoder", "kind"])
    for t, by_enc in SCORES.items():
        for e, by_kind in by_enc.items():
            for k, vals in by_kind.items():
                row = got.loc[(t, e, k)]
                assert row["mean"] == pytest.approx(statistics.mean(vals)) and row["n_seeds"] == len(vals)
                assert row["split"] == _split(t, k) and row["metric"] == METRIC[t]
                if len(vals) > 1:
                    assert row["std"] == pytest.approx(statistics.stdev(vals))
                else:
                    assert math.isnan(row["std"])  # one seed: spread unknown, never 0
    assert got.loc[("elevation", "satclip-bm", "continent"), "std"] == 0.0  # 3 equal seeds: a real 0
    assert got.loc[("countries", "wrap", "continent"), "split"] == "continent:fewshot=0.01:name=Africa:val=0.2"


def test_gap_data_default_encoders_and_empty():
    df = gap_data(_records())  # KEY_ENCODERS: rff is one of them
    assert df[df["encoder"] == "rff"][["task", "kind", "mean", "n_seeds"]].values.tolist() == [
        ["elevation", "random", 9.0, 1]]
    assert gap_data(_records(), head="lightgbm").empty
    assert gap_data([]).empty


def test_figure_is_written_small(tmp_path):
    p = plot_gap_lines(_records(), tmp_path)
    assert p == tmp_path / "gap_lines__linear.png"
    assert p.is_file() and 0 < p.stat().st_size < MAX_FIGURE_BYTES
    assert plot_gap_lines(_records(), tmp_path, head="lightgbm") is None
