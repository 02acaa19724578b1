"""Section ``projection``: the declared grid's measured wall time, and the full every-encoder
grid projected from the cell times ``runs.jsonl`` records.

Only records of the current setting count (the head's current identity, the default CI, a grid
split): rows of superseded head versions would mix old cell times in.

- **Declared grid, measured.** The records of the declared profile (``reproduce --profile
  paper``), each the span [start, start + cell time] of its cell, grouped into runs: a cell
  starting more than ``GAP_S`` after all earlier cells ended begins a new run (an
  interruption). A run's wall time is its last end minus its first start; the sum over runs is
  the grid's measured wall time, interruptions excluded (see :func:`measured_wall`).
  ``reproduce_log.jsonl`` (each reproduce run's own wall time) is reported beside it.
- **Every encoder, projected.** Every encoder of ``--encoder all`` plus the declared variants,
  on all three heads, every task and split, 5 seeds: the median measured cell time per (head,
  task) times the number of cells, over ``projection_workers`` workers.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from geobench.perf.config import TARGETS, Config
from geobench.perf.timing import pass_miss, row

GAP_S = 600.0  # records further apart than this belong to different runs (an interruption)
DECLARED_TARGET_S = TARGETS["declared_grid_s"]
HEADS = ("linear", "mlp", "lightgbm")


def current_records(records: list[dict]) -> list[dict]:
    """The newest record per key, of the current head identity and scores, default CI and a split
    of the declared profile (the grid's, or one of its explicit splits)."""
    from geobench.evaluation.identity import head_identity
    from geobench.evaluation.profiles import PROFILES, explicit_splits, is_current
    from geobench.evaluation.records import latest_by_key

    latest, _ = latest_by_key(records)
    ids = {h: head_identity(h, False) for h in HEADS}
    explicit = explicit_splits(PROFILES["paper"])
    return [r for r in latest if r.get("head") in ids and is_current(r, ids, explicit)]


def measured_wall(records: list[dict], gap_s: float = GAP_S) -> tuple[float, int]:
    """(wall seconds, number of runs) of ``records``. A record's ``timestamp`` is taken as its cell
    starts fitting, so the cell spans [timestamp, timestamp + cell_s]. Cells belong to one run
    until a cell starts more than ``gap_s`` after every earlier cell has ended (an interruption);
    a run's wall time is its last end minus its first start (each run's first planning and
    embedding, before any cell, is not in the records: ``reproduce_log.jsonl`` has it)."""
    spans = sorted((float(r["timestamp"]), float(r["timestamp"]) + float((r.get("timings") or {}).get("cell_s") or 0.0))
                   for r in records if r.get("timestamp") is not None)
    if not spans:
        return 0.0, 0
    total, runs = 0.0, 1
    start, end = spans[0]
    for s0, s1 in spans[1:]:
        if s0 - end > gap_s:
            total += end - start
            runs, start, end = runs + 1, s0, s1
        else:
            end = max(end, s1)
    return total + end - start, runs


def wall_by_machine(logged: list[dict]) -> dict[str, tuple[int, float]]:
    """``{machine: (runs, wall seconds)}`` of reproduce_log rows; a row from before the log named
    its machine (2026-12-02) is under "machine not recorded"."""
    out: dict[str, tuple[int, float]] = {}
    for r in logged:
        m = r.get("machine") or {}
        name = (f"{m.get('cpu_model') or 'unknown CPU'}, {m.get('usable_cores') or m.get('logical_cores')} cores, "
                f"{m.get('memory_gb')} GB") if m else "machine not recorded"
        n, w = out.get(name, (0, 0.0))
        out[name] = (n + 1, w + float(r.get("wall_s") or 0.0))
    return out


def section_projection(cfg: Config) -> tuple[list[dict], dict]:
    from geobench.evaluation.grid import grid_plan, reproduce_tasks
    from geobench.evaluation.profiles import VARIANTS, Block, block_encoders, get_profile
    from geobench.evaluation.records import read_records
    from geobench.reporting.coverage import coverage

    path = Path(cfg.runs)
    if not path.exists():
        return [row("projection", "declared grid (measured)", None, "s", status="ERROR",
                    note=f"{path} not found; run the grid first (geobench reproduce)")], {}
    recs = current_records(read_records(path))
    tasks = reproduce_tasks()
    profile = get_profile("paper")
    cov = coverage(recs, profile, tasks)
    declared = {(h, t, e, k) for h, t, e, k in cov}
    in_grid = [r for r in recs if (r["head"], r["task"], r["encoder"], r["split"].split(":")[0]) in declared
               and r["seed"] < cov[(r["head"], r["task"], r["encoder"], r["split"].split(":")[0])]["declared"]]
    wall, n_runs = measured_wall(in_grid)
    n_declared = sum(s["declared"] for s in cov.values())
    n_have = sum(min(len(s["ok"] | s["na"]), s["declared"]) for s in cov.values())
    log_path = path.with_name("reproduce_log.jsonl")
    logged = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()] if log_path.exists() else []
    logged = [r for r in logged if r.get("profile") == profile.name]
    by_head = {h: sum(float((r.get("timings") or {}).get("cell_s") or 0.0) for r in in_grid if r["head"] == h)
               for h in HEADS}  # cell seconds: the heads' cells interleave in one run, their spans overlap
    raw: dict[str, Any] = {"runs": str(path), "declared": {"profile": profile.name, "cells": n_declared,
                                                           "in_records": n_have, "wall_s": wall, "n_runs": n_runs,
                                                           "cell_s_by_head": by_head, "gap_s": GAP_S,
                                                           "reproduce_log": logged}}
    complete = n_have == n_declared
    status = pass_miss(wall <= DECLARED_TARGET_S) if complete else "INCOMPLETE"
    rows = [row("projection", f"declared grid `reproduce --profile {profile.name}`, measured wall time", wall, "s",
                target=f"<= {DECLARED_TARGET_S / 3600:g} h", status=status,
                note=f"{n_have:,} of {n_declared:,} declared cells in the records, over {n_runs} run(s) (records "
                     f"starting within {GAP_S:g} s of the previous end); cell time by head (on parallel workers): "
                     + ", ".join(f"{h} {by_head[h]:.0f} s" for h in HEADS)
                     + (f"; reproduce_log.jsonl: {len(logged)} run(s), {sum(r['wall_s'] for r in logged):.0f} s ("
                        + "; ".join(f"{m}: {n} run(s), {w:.0f} s" for m, (n, w) in wall_by_machine(logged).items())
                        + ")" if logged else ""))]
    # every encoder, every head, 5 seeds
    per: dict[tuple[str, str], list[float]] = {}
    not_applicable = set()
    for r in recs:
        if r.get("status") == "not_applicable":
            not_applicable.add((r["head"], r["task"]))
        elif r.get("status") == "ok" and (r.get("timings") or {}).get("cell_s") is not None:
            per.setdefault((r["head"], r["task"]), []).append(float(r["timings"]["cell_s"]))
    n_enc = len(block_encoders(Block(HEADS, None, 5, extra=VARIANTS)))
    raw["every_encoder"] = {"encoders": n_enc, "seeds": 5, "workers": cfg.projection_workers, "cells": {}}
    total, missing = 0.0, []
    for head in HEADS:
        for task, splits in grid_plan(tasks):
            cells = n_enc * len(splits) * 5
            times = per.get((head, task), [])
            med = 0.0 if (head, task) in not_applicable else (statistics.median(times) if times else None)
            if med is None:
                missing.append(f"{head}/{task}")
            raw["every_encoder"]["cells"][f"{head}/{task}"] = {"cells": cells, "median_cell_s": med,
                                                              "measured_cells": len(times)}
            total += cells * (med or 0.0)
    proj = total / max(1, cfg.projection_workers)
    raw["every_encoder"].update(projected_s=proj, missing=missing)
    note = (f"median measured cell time per (head, task) of the current heads x cells ({n_enc} encoders, 5 seeds, "
            f"the grid's splits) / {cfg.projection_workers} workers; from {sum(map(len, per.values()))} timed records")
    if missing:
        note += f"; NOT MEASURED (counted as 0, so a lower bound): {', '.join(missing)}"
    rows.append(row("projection", "every encoder x 3 heads x 5 seeds (projected from measured cell times)", proj, "s",
                    note=note))
    return rows, raw
