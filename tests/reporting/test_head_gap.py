"""The head gap (MLP minus linear, paired by seed) and the skill over LightGBM on raw coordinates,
from a records fixture whose values are known."""
from __future__ import annotations

import math

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
RECORDS = (_rows("sh", "linear", "elevation", LIN, [2.0, 2.0, 2.0])
           + _rows("sh", "mlp", "elevation", [0.60, 0.63, 0.57], [1.0, 1.0, 1.0])  # +0.10 on every seed
           + _rows("sh", "linear", "population", LIN, [1.0, 1.0, 1.0])
           + _rows("sh", "mlp", "population", [0.51, 0.50, 0.49], [1.0, 1.0, 1.0])  # +0.01, -0.02, +0.01
           + _rows("direct", "lightgbm", "elevation", [0.7, 0.7, 0.7], [4.0, 1.0, 2.0])
           + _rows("sh", "linear", "air_temperature", LIN[:1], [1.0]))  # one seed: no pair


def test_head_gap_is_paired_by_seed_and_tested():
    g = head_gap(seed_values(RECORDS), "mlp").set_index("task")
    assert set(g.index) == {"elevation", "population"}  # air temperature: one seed, no comparison
    assert math.isclose(g.at["elevation", "gap"], 0.10) and g.at["elevation", "verdict"] == "win"
    assert math.isclose(g.at["population", "gap"], 0.0, abs_tol=1e-12) and g.at["population", "verdict"] == "tie"
    assert g.at["elevation", "n"] == 3 and g.at["elevation", "ci_lo"] <= 0.10 <= g.at["elevation", "ci_hi"]


def test_skill_over_raw_coordinate_lightgbm():
    s = coordinate_skill(RECORDS)
    # per seed 1 - 2^2 / ref^2 with ref rmse 4, 1, 2 -> 0.75, -3, 0; mean -0.75
    assert list(s.columns) == ["elevation"] and math.isclose(s.at["sh", "elevation"], (0.75 - 3.0 + 0.0) / 3)
    assert "direct" not in s.index  # the reference runs under lightgbm, not the linear head
    assert math.isclose(coordinate_skill(RECORDS, head="mlp").at["sh", "elevation"], (1 - 1 / 16 + 0 + 1 - 1 / 4) / 3)


def test_lines_mark_significant_gaps_only():
    text = "\n".join(head_gap_lines(RECORDS))
    assert "| sh | +0.100* | +0.000 |" in text
    assert "| sh | -0.750 |" in text
