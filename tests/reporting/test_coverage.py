"""The coverage table counts, per declared (head, task, encoder, split kind), the seeds the records
hold at the current setting; rows of an older head version or another CI method do not count."""
from __future__ import annotations

from geobench.evaluation.grid import grid_plan
from geobench.evaluation.identity import SCORES_VERSION, head_identity
from geobench.evaluation.intervals import ci_method
from geobench.evaluation.profiles import Block, Profile, declared_cells
from geobench.evaluation.splits import parse_split
from geobench.reporting.coverage import coverage, coverage_lines

PROFILE = Profile("test", "two blocks", (Block(("linear",), ("wrap", "sh"), 2),
                                         Block(("lightgbm",), ("wrap",), 1, ("random",))))
TASKS = ["air_temperature", "median_income", "ecoregions"]


def _rec(head, task, enc, kind, seed, status="ok", **ident):
    split = next(str(parse_split(s)) for s in dict(grid_plan([task]))[task] if s.startswith(kind))
    identity = {"head": head_identity(head, False), "ci": ci_method("block", task, split), "scores": SCORES_VERSION,
                **ident}
    return {"key": f"{task}|{enc}|{head}|{split}|{seed}|{sorted(ident)}", "head": head, "task": task, "encoder": enc,
            "split": split, "seed": seed, "status": status, "identity": identity,
            "reason": "too many classes" if status == "not_applicable" else None}


def test_declared_cells_follow_each_tasks_splits():
    cells = declared_cells(PROFILE, TASKS)
    # median income has no Africa hold-out; the LightGBM block declares the random split only
    assert ("linear", "median_income", "wrap", "continent", 2) not in cells
    assert ("linear", "air_temperature", "sh", "continent", 2) in cells
    assert len(cells) == 2 * (3 + 2 + 3) + 3
    assert not any(c[0] == "lightgbm" and c[3] != "random" for c in cells)


def test_coverage_counts_current_rows_only():
    recs = [_rec("linear", "air_temperature", e, k, s) for e in ("wrap", "sh")
            for k in ("random", "spatial_block", "continent") for s in (0, 1)]
    old = _rec("linear", "median_income", "wrap", "random", 0)
    old["identity"]["head"] = {**old["identity"]["head"], "version": 1}  # the superseded head
    iid = _rec("linear", "median_income", "wrap", "random", 1)
    iid["identity"]["ci"] = "iid"  # another CI method: another setting
    unscored = _rec("linear", "air_temperature", "wrap", "random", 0)
    del unscored["identity"]["scores"]  # a row of before the geo block: re-run, not counted
    unscored["key"] += "old"
    recs.insert(0, unscored)
    recs += [old, iid, _rec("lightgbm", "ecoregions", "wrap", "random", 0, status="not_applicable"),
             _rec("lightgbm", "air_temperature", "wrap", "random", 0), _rec("linear", "ecoregions", "rff", "random", 0),
             _rec("linear", "median_income", "sh", "random", 7)]  # a seed beyond the declared two: not counted
    cov = coverage(recs, PROFILE, TASKS)
    assert cov[("linear", "air_temperature", "sh", "continent")]["ok"] == {0, 1}
    assert cov[("linear", "median_income", "wrap", "random")]["ok"] == set()  # neither row counts
    assert cov[("linear", "median_income", "sh", "random")]["ok"] == set()
    assert cov[("lightgbm", "ecoregions", "wrap", "random")]["na"] == {0}
    lines = coverage_lines(recs, PROFILE, TASKS)
    text = "\n".join(lines)
    assert "**8 of 19** declared" in text  # 6 linear (air temperature) + 2 LightGBM (one ok, one n/a)
    assert f"{12 + 1 + 1:,} of {2 * 16 + 3:,} declared cells" in text
    row = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in lines if line.startswith("| ")}
    assert "2/2 encoders x 2 seeds" in row[("linear", "air_temperature")]
    assert "0/2 encoders x 2 seeds; missing: `wrap`, `sh`" in row[("linear", "median_income")]
    assert row[("linear", "median_income")].endswith("| – |")  # no Africa hold-out declared
    assert "not applicable (1 encoders)" in row[("lightgbm", "ecoregions")]
    assert "Not applicable: too many classes." in lines


def test_explicit_splits_are_declared_and_counted_beside_the_grid():
    prof = Profile("x", "block sizes", (Block(("linear",), ("wrap",), 2),
                                        Block(("linear",), ("wrap",), 1, ("spatial_block",),
                                              splits=("spatial_block:deg=2", "spatial_block:deg=20"),
                                              tasks=("air_temperature",))))
    two, twenty = (str(parse_split(f"spatial_block:deg={d}")) for d in (2, 20))
    cells = declared_cells(prof, TASKS)
    assert ("linear", "air_temperature", "wrap", two, 1) in cells
    assert not any(c[1] == "ecoregions" and c[3] == two for c in cells)  # only on the named task
    rec = _rec("linear", "air_temperature", "wrap", "random", 0)
    rec.update(split=two, key="k2")
    rec["identity"]["ci"] = ci_method("block", "air_temperature", two)
    cov = coverage([rec], prof, TASKS)
    assert cov[("linear", "air_temperature", "wrap", two)]["ok"] == {0}
    assert cov[("linear", "air_temperature", "wrap", "spatial_block")]["ok"] == set()  # not the grid's 10 degrees
    text = "\n".join(coverage_lines([rec], prof, TASKS))
    assert f"| linear | air_temperature | `{two}` | 1/1 encoders x 1 seeds |" in text
    assert f"| linear | air_temperature | `{twenty}` | 0/1 encoders x 1 seeds" in text
