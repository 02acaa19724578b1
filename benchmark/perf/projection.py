"""Section ``projection``: the full three-head grid, projected from the per-cell times
that ``runs.jsonl`` records."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from geobench.perf.config import TARGETS, Config
from geobench.perf.timing import pass_miss, row


def section_projection(cfg: Config) -> tuple[list[dict], dict]:
    """The full three-head grid (offline tasks x registered encoders x 3 heads x the grid's
    splits x ``grid_seeds``), projected from the per-cell wall times (``timings.cell_s``) that
    ``runs.jsonl`` records: median per (head, task) over all encoders and splits run so far,
    times the number of cells, divided by ``projection_workers`` (the joblib default here).
    A (head, task) recorded as not applicable (LightGBM on more than 20 classes) costs nothing."""
    from geobench.encoding.encoder import default_encoders
    from geobench.evaluation.records import latest_by_key, read_records
    from geobench.evaluation.grid import grid_plan
    from geobench.evaluation.plan import offline_tasks

    path = Path(cfg.runs)
    if not path.exists():
        return [row("projection", "full 3-head grid (projected)", None, "s", status="ERROR",
                    note=f"{path} not found; run the grid first (geobench reproduce)")], {}
    recs, _ = latest_by_key(read_records(path))
    per: dict[tuple[str, str], list[float]] = {}
    not_applicable = set()
    for r in recs:
        if r.get("status") == "not_applicable":
            not_applicable.add((r["head"], r["task"]))
        elif r.get("status") == "ok" and (r.get("timings") or {}).get("cell_s") is not None:
            per.setdefault((r["head"], r["task"]), []).append(float(r["timings"]["cell_s"]))
    n_enc = len(default_encoders())
    raw: dict[str, Any] = {"runs": str(path), "encoders": n_enc, "seeds": cfg.grid_seeds,
                           "workers": cfg.projection_workers, "cells": {}}
    total, missing = 0.0, []
    for head in ("linear", "mlp", "lightgbm"):
        for task, splits in grid_plan(offline_tasks()):
            cells = n_enc * len(splits) * cfg.grid_seeds
            times = per.get((head, task), [])
            if (head, task) in not_applicable:
                med = 0.0
            elif times:
                med = statistics.median(times)
            else:
                med = None
                missing.append(f"{head}/{task}")
            raw["cells"][f"{head}/{task}"] = {"cells": cells, "median_cell_s": med, "measured_cells": len(times)}
            total += cells * (med or 0.0)
    wall = total / max(1, cfg.projection_workers)
    note = (f"median measured cell time per (head, task) x cells ({n_enc} encoders, {cfg.grid_seeds} seeds, "
            f"the grid's splits) / {cfg.projection_workers} workers; from {sum(map(len, per.values()))} timed records")
    if missing:
        note += f"; NOT MEASURED (counted as 0, so a lower bound): {', '.join(missing)}"
    status = pass_miss(wall <= TARGETS["grid_3head_s"])
    if missing and status == "PASS":
        status = "INCOMPLETE"  # a lower bound under the target proves nothing
    raw.update(projected_s=wall, missing=missing)
    return [row("projection", "full 3-head grid, 5 seeds (projected from measured cell times)", wall, "s",
                target=f"<= {TARGETS['grid_3head_s'] / 3600:g} h", status=status, note=note)], raw
