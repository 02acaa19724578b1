"""The grid's progress line: counts, and an ETA that weighs each remaining cell by its (head,
task) group's measured time and scales by the run's measured wall time per cell second."""
from __future__ import annotations

import io
import time

from geobench.evaluation.progress import GridProgress, hms


def _rec(head, task, secs):
    return {"head": head, "task": task, "timings": {"cell_s": secs}}


def test_eta_weighs_groups_and_the_parallel_speed_up(monkeypatch):
    clock = [1000.0]  # a fixed clock: a loaded machine can pause the test between two readings
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    out = io.StringIO()
    p = GridProgress({("mlp", "elevation"): 3, ("linear", "elevation"): 5}, done_before=10, every_s=0.0, out=out)
    assert p.total == 18 and p.eta_seconds() is None
    p.cell_done(_rec("mlp:tol=0.01", "elevation", 100.0))  # options do not split the group
    p.cell_done(_rec("linear", "elevation", 2.0))
    p.t0 = clock[0] - 51.0  # two workers: 51 s of wall for 102 s of cell time
    eta = p.eta_seconds()
    assert abs(eta - (2 * 100.0 + 4 * 2.0) * 0.5) < 1.0  # 2 MLP and 4 linear cells to go, at half their time
    assert p.remaining == 6 and "12/18 cells done (2 in this run), 6 to go" in p.line()
    assert out.getvalue().count("progress:") == 2
    p.cell_done(_rec("lightgbm", "biome", 10.0))  # a group with nothing pending: counted, ETA unchanged in kind
    assert p.n_done == 3 and p.remaining == 6


def test_quiet_between_lines_and_always_at_the_end():
    out = io.StringIO()
    p = GridProgress({("linear", "biome"): 3}, every_s=3600.0, out=out)
    for _ in range(3):
        p.cell_done(_rec("linear", "biome", 1.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("progress: 3/3 cells done") and "0 to go" in lines[-1]
    assert "measured: 3 cell(s)" in p.summary() and hms(3725) == "1:02:05"


def test_eta_uses_earlier_runs_for_groups_not_yet_measured():
    p = GridProgress({("mlp", "elevation"): 2, ("linear", "air"): 1}, every_s=3600.0, out=io.StringIO(),
                     prior={("mlp", "elevation"): 50.0})
    p.cell_done(_rec("linear", "air", 1.0))
    p.t0 = time.perf_counter() - 1.0  # one worker: wall = cell time
    assert abs(p.eta_seconds() - 2 * 50.0) < 1.0  # not 2 x 1 s, the only time measured in this run
    q = GridProgress({("mlp", "countries"): 2, ("linear", "air"): 1}, every_s=3600.0, out=io.StringIO(),
                     prior={("mlp", "elevation"): 40.0, ("mlp", "biome"): 60.0, ("lightgbm", "biome"): 900.0})
    q.cell_done(_rec("linear", "air", 1.0))
    q.t0 = time.perf_counter() - 1.0
    assert abs(q.eta_seconds() - 2 * 60.0) < 1.0  # the median of the MLP's other tasks, not LightGBM's


def test_prior_uses_current_head_identity_rows_and_not_applicable_ones():
    """Earlier records give the ETA's prior: the mean of a group's rows at the current head
    identity (not an older version's), 0 s for a group recorded not applicable (at any version);
    failed rows and groups not pending are left out. The head-median fallback ignores 0-s groups."""
    from geobench.evaluation.identity import head_identity
    from geobench.evaluation.progress import prior_cell_seconds

    mlp_now, mlp_v1 = head_identity("mlp", False), {**head_identity("mlp", False), "version": 1}
    lgbm_v1 = {**head_identity("lightgbm", False), "version": 1}

    def row(task, secs, ident, status="ok", head="mlp"):
        return {"head": head, "task": task, "status": status, "identity": {"head": ident},
                "timings": {} if secs is None else {"cell_s": secs}}

    records = [row("elevation", 30.0, mlp_now), row("elevation", 50.0, mlp_now), row("elevation", 200.0, mlp_v1),
               row("ecoregions", 180.0, mlp_v1), row("countries", None, lgbm_v1, "not_applicable", "lightgbm"),
               row("biome", 999.0, mlp_now, "error"), row("population", 10.0, mlp_now),
               row("elevation", None, mlp_now, "not_applicable")]  # one split not applicable: the ok mean stands
    groups = [("mlp", "elevation"), ("mlp", "ecoregions"), ("lightgbm", "countries"), ("mlp", "biome")]
    prior = prior_cell_seconds(records, groups)
    assert prior == {("mlp", "elevation"): 40.0, ("lightgbm", "countries"): 0.0}
    p = GridProgress({("lightgbm", "countries"): 90, ("lightgbm", "elevation"): 2}, every_s=3600.0,
                     out=io.StringIO(), prior={**prior, ("lightgbm", "biome"): 100.0})
    p.cell_done(_rec("lightgbm", "biome", 100.0))
    p.t0 = time.perf_counter() - 100.0  # one worker
    assert abs(p.eta_seconds() - 2 * 100.0) < 2.0  # 90 not-applicable cells cost nothing, and do not pull the median
