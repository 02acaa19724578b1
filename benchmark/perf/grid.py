"""Section ``grid``: wall time of the linear-probe grid in a child process, cold (empty
cache) then warm (embeddings cached, every cell re-run)."""
from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

from geobench.perf.children import CHILD_GRID, child_env, child_failed, run_child, wall_times
from geobench.perf.config import TARGETS, Config
from geobench.perf.encoders import encoder_list
from geobench.perf.timing import log, pass_miss, row


def section_grid(cfg: Config, tmp: Path) -> tuple[list[dict], dict]:
    """Wall time of the linear-probe grid, cold (empty cache) then warm (embeddings cached, force=True)."""
    from geobench.encoding import get_encoder
    from geobench.evaluation.plan import offline_tasks

    tasks = cfg.grid_tasks or offline_tasks()
    excluded = {}
    encoders = []
    for spec in (cfg.grid_encoders or encoder_list(cfg)):
        try:
            get_encoder(spec)
            encoders.append(spec)
        except Exception as e:  # weights not obtainable: the grid would stop at this encoder
            excluded[spec] = f"{type(e).__name__}: {e}"
    n_cells = len(tasks) * len(encoders) * cfg.grid_seeds
    raw: dict[str, Any] = {"tasks": tasks, "encoders": encoders, "excluded_encoders": excluded,
                           "seeds": cfg.grid_seeds, "executor": cfg.grid_executor, "jobs": cfg.grid_jobs,
                           "n_cells": n_cells, "n_boot": cfg.grid_bootstrap, "cold": [], "warm": []}

    def job(force: bool, results: Path) -> str:
        return json.dumps({"tasks": tasks, "encoders": encoders, "seeds": cfg.grid_seeds, "results": str(results),
                           "force": force, "executor": cfg.grid_executor, "jobs": cfg.grid_jobs,
                           "n_boot": cfg.grid_bootstrap})

    for i in range(max(1, cfg.grid_repeats)):
        cache = tmp / f"grid-cache-{i}"
        # cold: empty cache; warm: the same cache, every cell re-run (force)
        for phase, force, folder in (("cold", False, f"grid-results-{i}"), ("warm", True, f"grid-results-warm-{i}")):
            log(f"grid {phase} ({n_cells} cells) ...")
            r = run_child(CHILD_GRID, [job(force, tmp / folder)], child_env(cache), timeout=6 * 3600)
            raw[phase].append(r)
            if r["rc"] != 0:
                return [child_failed("grid", f"linear grid, {phase}", r)], raw
        shutil.rmtree(cache, ignore_errors=True)
    cold = statistics.median(r["wall_s"] for r in raw["cold"])
    warm = statistics.median(r["wall_s"] for r in raw["warm"])
    what = (f"{len(tasks)} task(s) x {len(encoders)} encoder(s) x {cfg.grid_seeds} seed(s) = {n_cells} cells, "
            f"executor {cfg.grid_executor}" + (f" x{cfg.grid_jobs}" if cfg.grid_jobs else ""))
    note = f"{len(raw['cold'])} repeat(s); wall time of the child process"
    if excluded:
        note += f"; excluded (not obtainable): {', '.join(excluded)}"
    return [
        row("grid", f"linear grid cold (empty cache): {what}", cold, "s", times=wall_times(raw["cold"]), note=note),
        row("grid", f"linear grid warm (embeddings cached, force): {what}", warm, "s", times=wall_times(raw["warm"]),
           ref_name="cold run", ref_value=cold, ref_unit="s", ratio=warm / cold,
           ratio_meaning="warm / cold (same run)", target=f"<= {TARGETS['grid_warm_s'] / 60:g} min",
           status=pass_miss(warm <= TARGETS["grid_warm_s"]), note=note),
    ], raw
