"""The head gap (MLP minus linear, paired by seed) and the skill over LightGBM on raw coordinates,
from a records fixture whose values are known."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from geobench.evaluation.grid import grid_plan
from geobench.evaluation.records import upgrade
from geobench.evaluation.splits import parse_split
from geobench.reporting.claims import seed_values
from geobench.reporting.head_gap import coordinate_skill, head_gap, head_gap_lines


def _split(task: str, kind: str) -> str:
    return next(str(parse_split(s)) for s in dict(grid_plan([task]))[task] if s.startswith(kind))


def _rows(enc: str, head: str, task: str, r2s, rmses, kind: str = "random") -> list[dict]:
    split = _split(task, kind)
    return [upgrade({"key": f"{task}|{enc}|{head}|{split}|{s}|", "task": task, "encoder": enc, "head": head,
                     "split": split, "seed": s, "status": "ok", "kind": "regression", "primary_metric": "r2",
                     "metrics": {"r2": a, "rmse": b}}) for s, (a, b) in enumerate(zip(r2s, rmses))]


LIN = [0.50, 0.52, 0.48]
ELEV_MLP = [0.60, 0.63, 0.57]  # +0.10, +0.11, +0.09
AIR_MLP = [0.52, 0.545, 0.495]  # +0.02, +0.025, +0.015: p = 0.019 alone, 0.038 after Holm over 2 cells
POP_MLP = [0.51, 0.50, 0.49]  # +0.01, -0.02, +0.01
RECORDS = (_rows("sh", "linear", "elevation", LIN, [2.0, 2.2, 1.8])
           + _rows("sh", "mlp", "elevation", ELEV_MLP, [1.0, 1.0, 1.0])
           + _rows("sh", "linear", "population", LIN, [1.0, 1.0, 1.0])
           + _rows("sh", "mlp", "population", POP_MLP, [1.0, 1.0, 1.0])
           + _rows("direct", "lightgbm", "elevation", [0.7, 0.7, 0.7], [4.0, 1.0, 2.0])
           + _rows("sh", "linear", "median_income", LIN[:1], [1.0]))  # one seed: no pair


def test_head_gap_is_paired_by_seed_and_tested():
    g = head_gap(seed_values(RECORDS), "mlp").set_index("task")
    assert set(g.index) == {"elevation", "population"}  # median income: one seed, no comparison
    d = np.subtract(ELEV_MLP, LIN)
    assert math.isclose(g.at["elevation", "gap"], d.mean()) and g.at["elevation", "verdict"] == "win"
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    assert math.isclose(g.at["elevation", "ci_lo"], d.mean() - half) and math.isclose(g.at["elevation", "ci_hi"],
                                                                                      d.mean() + half)
    assert math.isclose(g.at["population", "gap"], 0.0, abs_tol=1e-12) and g.at["population", "verdict"] == "tie"


def test_holm_runs_over_the_whole_table_not_one_encoder():
    """The same +0.02 gap for `sh` on air temperature is significant alone; with `wrap`'s cells in
    the table the family grows and it is not."""
    air = _rows("sh", "linear", "air_temperature", LIN, [1, 1, 1]) + _rows("sh", "mlp", "air_temperature", AIR_MLP,
                                                                          [1, 1, 1])
    alone = head_gap(seed_values(air), "mlp").set_index("task")
    assert alone.at["air_temperature", "verdict"] == "win" and alone.at["air_temperature", "p_holm"] < 0.05
    noise = [0.01, -0.02, 0.01]
    wraps = [r for t in ("elevation", "population", "air_temperature") for r in
             _rows("wrap", "linear", t, LIN, [1, 1, 1]) + _rows("wrap", "mlp", t, np.add(LIN, noise), [1, 1, 1])]
    both = head_gap(seed_values(air + wraps), "mlp").set_index(["encoder", "task"])
    p_raw = stats.ttest_rel(AIR_MLP, LIN).pvalue
    assert both.at[("sh", "air_temperature"), "verdict"] == "tie"
    assert math.isclose(both.at[("sh", "air_temperature"), "p_holm"], min(1.0, 4 * p_raw))  # smallest of 4 p's


def test_skill_over_raw_coordinate_lightgbm_is_paired_by_seed():
    s = coordinate_skill(RECORDS).set_index(["encoder", "task"])
    # per seed 1 - ours^2 / ref^2: ours 2.0, 2.2, 1.8 against ref 4, 1, 2 -> 0.75, -3.84, 0.19
    expect = np.mean([1 - 2.0 ** 2 / 16, 1 - 2.2 ** 2 / 1, 1 - 1.8 ** 2 / 4])
    assert list(s.index) == [("sh", "elevation")] and math.isclose(s.at[("sh", "elevation"), "skill"], expect)
    assert s.at[("sh", "elevation"), "verdict"] == "tie"  # three seeds this spread: no significant difference
    mlp = coordinate_skill(RECORDS, head="mlp").set_index(["encoder", "task"])
    assert math.isclose(mlp.at[("sh", "elevation"), "skill"], np.mean([1 - 1 / 16, 0.0, 1 - 1 / 4]))


def test_lines_mark_significant_gaps_only():
    text = "\n".join(head_gap_lines(RECORDS))
    assert "| sh | +0.100* | +0.000 |" in text
    assert f"| sh | {np.mean([1 - 2.0 ** 2 / 16, 1 - 2.2 ** 2 / 1, 1 - 1.8 ** 2 / 4]):+.3f} |" in text
