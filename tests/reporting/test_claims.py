"""Claims from a records fixture: a difference that wins on every task's mean but is significant on
one only must read "tied", and rankings never rank a missing cell or an R² far below the constant."""
from __future__ import annotations

import pytest

from geobench.evaluation.grid import grid_plan
from geobench.evaluation.records import upgrade
from geobench.evaluation.splits import parse_split
from geobench.reporting.claims import best_encoders, claim_line, paired, ranking, seed_values

TASKS = ("air_temperature", "elevation", "population")


def _split(task: str, kind: str) -> str:
    return next(str(parse_split(s)) for s in dict(grid_plan([task]))[task] if s.startswith(kind))


def _rows(enc: str, task: str, values, kind: str = "spatial_block", head: str = "linear") -> list[dict]:
    split = _split(task, kind)
    return [upgrade({"key": f"{task}|{enc}|{head}|{split}|{s}|", "task": task, "encoder": enc, "head": head,
                     "split": split, "seed": s, "status": "ok", "metrics": {"r2": v}, "primary_metric": "r2"})
            for s, v in enumerate(values)]


# satclip-bm is ahead of its untrained twin on the mean of all three tasks (a "3 of 3" by means);
# paired over 5 seeds only elevation survives Holm's correction.
BASE = [0.50, 0.52, 0.48, 0.51, 0.49]
SHIFT = {"elevation": [0.05, 0.06, 0.04, 0.05, 0.055],  # clear
         "air_temperature": [0.01, 0.02, 0.0, 0.015, 0.005],  # p = 0.047 alone, 0.094 after Holm
         "population": [0.01, -0.01, 0.005, 0.0, 0.002]}  # noise
RECORDS = [r for t in TASKS for r in _rows("sh_siren_random", t, BASE)
           + _rows("satclip-bm", t, [b + d for b, d in zip(BASE, SHIFT[t])])]


def test_a_win_by_means_is_a_tie_without_significance():
    sv = seed_values(RECORDS)
    res = {r.task: r for r in paired(sv, "satclip-bm", "sh_siren_random", "linear", "spatial_block")}
    assert all(r.mean_diff > 0 for r in res.values())
    assert {t: r.verdict for t, r in res.items()} == {"elevation": "win", "air_temperature": "tie", "population": "tie"}
    assert res["air_temperature"].p < 0.05 < res["air_temperature"].p_holm
    line = claim_line(sv, "satclip-bm", "sh_siren_random", "linear", "spatial_block", "pretraining")
    assert "significantly better than `sh_siren_random` on 1 of 3 tasks, worse on 0, tied on 2" in line
    assert "air_temperature +0.010 [" in line and "(tie)" in line


def test_rankings_skip_missing_cells_and_floor_at_the_constant():
    recs = RECORDS + [r for t in TASKS for r in _rows("constant", t, [0.0] * 5)]
    recs += [r for t in TASKS for r in _rows("sphereC", t, [-300.0] * 5)]  # far below the constant
    recs += [r for t in TASKS for r in _rows("wrap", t, [-0.5] * 5)]  # below the constant too
    recs += _rows("rff", "elevation", [0.9] * 5)  # one task of three: dropped, never ranked on missing cells
    r = ranking(seed_values(recs), "linear", "spatial_block")
    assert r.dropped == ("rff",) and r.n == 3 and r.k == 5
    assert r.mean_rank["sphereC"] == r.mean_rank["wrap"] == r.mean_rank["constant"]  # all at the floor
    assert r.mean_rank["satclip-bm"] == pytest.approx(1.0)


def test_a_best_needs_rivals_and_the_constant_beaten():
    recs = RECORDS + [r for t in TASKS for r in _rows("constant", t, [0.50, 0.52, 0.48, 0.51, 0.495])]
    best = best_encoders(seed_values(recs), "linear", "spatial_block")
    assert best["elevation"][0] == "satclip-bm"  # beats the constant, a paired test against the runner-up
    assert "does not beat `constant`" in best["population"]
    lone = _rows("wrap", "elevation", [0.7, 0.71], kind="random")
    assert "fewer than 2 encoders" in best_encoders(seed_values(lone), "linear", "random")["elevation"]
