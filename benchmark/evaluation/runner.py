"""The two-phase benchmark grid.

1. **Plan** every (task, encoder, head, split, seed) cell (:mod:`.plan`) and drop those
   already in ``runs.jsonl`` (before any data is loaded).
2. **Embed** each unique (encoder, task) once into the embedding cache (driver process).
3. **Fit** each cell as a small job on an executor (serial / joblib / Dask; :mod:`.cell`).
   Only the driver writes ``runs.jsonl``, the predictions Parquet files and MLflow, one cell
   at a time as results arrive.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from geobench.errors import InputError
from geobench.evaluation import records as rec
from geobench.evaluation.cell import Job, fit_cell
from geobench.evaluation.plan import Cell, expand, offline_tasks, plan


@dataclass
class GridResult:
    """The records this call produced, the number of planned cells already done, the wall
    time, and the keys of every planned cell (done before or now)."""

    records: list[dict] = field(default_factory=list)
    skipped: int = 0
    wall_seconds: float = 0.0
    keys: list[str] = field(default_factory=list)


def run_grid(tasks: Iterable[str], encoders: Iterable[Any], heads: Iterable[str] = ("linear",),
             splits: Iterable[str] = ("random",), seeds: Iterable[int] | int = 3, *,
             results_dir: str | Path | None = None, force: bool = False, executor: str = "serial",
             n_jobs: int | None = None, scheduler: str | None = None, tune: bool = False,
             tracking_uri: str | None = None, task_options: dict | None = None,
             progress: bool = True, n_boot: int = 1000, command: str = "",
             plugins: Iterable[str] = (), ci: str = "block", device: str = "cpu",
             on_cell: Callable[[dict], None] | None = None) -> GridResult:
    """Run the grid; returns the records produced by this call (skipped cells are not re-run).
    ``ci``: the method of each cell's 95 % interval (``block``, the spatial block bootstrap with
    the task's blocks, the default; ``block:deg=D``; ``iid``), part of the cell's identity.
    ``device``: the torch device of the MLP head and the torch encoders (``cpu``; see
    :mod:`geobench.devices`). ``on_cell(record)`` is called after each record is written."""
    t_start = time.perf_counter()
    cells, todo = plan_todo(tasks, encoders, heads, splits, seeds, results_dir=results_dir, force=force,
                            tune=tune, task_options=task_options, n_boot=n_boot, ci=ci, device=device)
    return run_planned(cells, todo, results_dir=results_dir, force=force, executor=executor, n_jobs=n_jobs,
                       scheduler=scheduler, tracking_uri=tracking_uri, progress=progress, n_boot=n_boot,
                       command=command, plugins=plugins, on_cell=on_cell, t_start=t_start)


def run_planned(cells: list[Cell], todo: list[Cell], *, results_dir: str | Path | None = None, force: bool = False,
                executor: str = "serial", n_jobs: int | None = None, scheduler: str | None = None,
                tracking_uri: str | None = None, progress: bool = True, n_boot: int = 1000, command: str = "",
                plugins: Iterable[str] = (), on_cell: Callable[[dict], None] | None = None,
                t_start: float | None = None) -> GridResult:
    """Embed and fit ``todo``, cells planned by :func:`plan_todo` (``cells``: every planned cell, for
    the result's skip count and keys); arguments as for :func:`run_grid`, ``t_start`` the
    ``perf_counter`` its wall time counts from (default: now)."""
    from geobench.cache import cache_root, remove_stale_tmp
    from geobench.evaluation.executor import check_scheduler, default_cores, run_jobs, threads_per_worker
    from geobench.reporting.tracking import Tracker

    t_start = time.perf_counter() if t_start is None else t_start
    results_dir = Path(results_dir) if results_dir is not None else rec.default_results_dir()
    runs_path = results_dir / "runs.jsonl"
    result = GridResult(skipped=len(cells) - len(todo), keys=[c.key for c in cells])
    if not todo:
        result.wall_seconds = time.perf_counter() - t_start
        return result
    for folder in (results_dir, cache_root()):  # temp files left by killed runs
        remove_stale_tmp(folder, recursive=True)

    if executor == "dask" and scheduler:
        check_scheduler(scheduler)  # before hours of embedding, not after
    if executor != "serial" and not n_jobs:
        n_jobs = default_cores()  # resolved once, for both the pool size and the threads per worker
    n_threads = threads_per_worker(executor, n_jobs)
    jobs = [replace(j, plugins=tuple(plugins), command=command, driver_pid=os.getpid())
            for j in _embed_phase(todo, n_threads, n_boot, force)]
    tracker = Tracker(tracking_uri, results_dir, command=command)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc="fit", disable=not progress)
    try:
        for record, preds in run_jobs(fit_cell, jobs, executor=executor, n_jobs=n_jobs, scheduler=scheduler):
            pred_path = None if preds is None else write_predictions(results_dir / record["predictions"], preds)
            rec.append_records(runs_path, [record])
            tracker.log(record, pred_path)
            result.records.append(record)
            bar.update(1)
            if on_cell is not None:
                on_cell(record)
    finally:
        bar.close()
        tracker.close()
    result.wall_seconds = time.perf_counter() - t_start
    return result


def plan_todo(tasks: Iterable[str], encoders: Iterable[Any], heads: Iterable[str] = ("linear",),
              splits: Iterable[str] = ("random",), seeds: Iterable[int] | int = 3, *,
              results_dir: str | Path | None = None, force: bool = False, tune: bool = False,
              task_options: dict | None = None, n_boot: int = 1000, ci: str = "block",
              device: str = "cpu") -> tuple[list[Cell], list[Cell]]:
    """(every planned cell, those not yet in ``results_dir/runs.jsonl``) of a grid, without running
    anything (arguments as for :func:`run_grid`)."""
    from geobench.evaluation.plan import with_device

    results_dir = Path(results_dir) if results_dir is not None else rec.default_results_dir()
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(dict.fromkeys(int(s) for s in seeds))
    if not seeds:
        raise InputError("no seeds to run: --seeds must be at least 1 (seeds run 0..N-1)")
    heads, encoders = with_device(expand(heads, lambda: ["linear", "mlp", "lightgbm"]),
                                  expand(encoders, _all_encoders), device)
    cells = plan(expand(tasks, offline_tasks), encoders, heads, list(splits), seeds,
                 task_options=task_options, tune=tune, ci=ci if n_boot else "none")  # no interval: none in the identity
    done = set() if force else rec.done_keys(results_dir / "runs.jsonl")
    return cells, [c for c in cells if c.key not in done]


def _all_encoders() -> list[str]:
    from geobench.encoding.encoder import default_encoders

    return default_encoders()


def _embed_phase(todo: list[Cell], n_threads: int, n_boot: int, force: bool = False) -> list[Job]:
    """Embed each (task, encoder) of ``todo`` once (cached; ``force``: recomputed) and return the fit jobs."""
    from geobench.encoding.embed import embed
    from geobench.tasks.base import load_task

    jobs: list[Job] = []
    by_task: dict[tuple[str, str], list[Cell]] = {}
    for c in todo:
        by_task.setdefault((c.task, repr(sorted(c.task_options.items()))), []).append(c)
    for cells in by_task.values():
        points = load_task(cells[0].task, **cells[0].task_options)
        encs: dict[str, tuple[str, dict, float]] = {}
        for c in cells:
            if c.encoder not in encs:
                enc = c.encoder_obj
                path, side = embed(enc, points.lonlat, points.sha256, force=force)
                meta = {k: (list(v) if isinstance(v, tuple) else v) for k, v in enc.meta.items()
                        if isinstance(v, (str, int, float, bool, type(None)))
                        or (isinstance(v, tuple) and all(isinstance(x, str) for x in v))}
                encs[c.encoder] = (str(path), meta, side.get("embed_seconds", 0.0))
            path, meta, secs = encs[c.encoder]
            jobs.append(Job(replace(c, encoder_obj=None), meta, path, n_threads, secs, n_boot))
    return jobs


def write_predictions(p: Path, preds: pd.DataFrame) -> Path:
    """Write per-point test predictions to Parquet ``p`` atomically (see ``Cell.predictions_file``);
    a full disk raises a DataError naming the file (:func:`geobench.cache.atomic_path`)."""
    from geobench.cache import atomic_path

    with atomic_path(p) as tmp:
        preds.to_parquet(tmp, index=False)
    return p


def records_frame(records: list[dict]) -> pd.DataFrame:
    """Flatten records into one row per cell (metrics as columns)."""
    rows = []
    for r in records:
        row = {k: r.get(k) for k in ("task", "encoder", "head", "split", "seed", "status", "n_train", "n_test")}
        row.update({f"{k}": v for k, v in (r.get("metrics") or {}).items()})
        row["reason"] = r.get("reason")
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["GridResult", "run_grid", "plan_todo", "write_predictions", "records_frame"]
