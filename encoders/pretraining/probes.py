"""Linear probes used to choose pretraining variants and epochs.

The probe is geobench's ``linear`` head on a task's ``random`` split (60/20/20, split seed 0):
fitted on the train part, scored on the VALIDATION part (``on="val"``). Which points: the
probe set (:mod:`.selection`). The default ``selection`` set is drawn off the benchmark
(elevation and population, builder seed 2, 20,000 points each, checked disjoint from every
benchmark point); its test part is never used. ``benchmark-val`` (the benchmark's own points of
air temperature, elevation and population) only reproduces runs made before the selection set;
``on="test"`` exists for it only, for the final acceptance numbers.
Regression scores are R^2, classification scores accuracy.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable

import numpy as np

from geobench.errors import InputError

from .selection import BENCHMARK_VAL_TASKS, check_probe_set, probe_tasks, selection_options

VAL_TASKS = BENCHMARK_VAL_TASKS  # the superseded benchmark-val probe tasks (older records list them)


@lru_cache(maxsize=8)
def task_split(task: str, split: str = "random", seed: int = 0, probe_set: str = "selection",
               n_points: int | None = None, task_seed: int | None = None) -> tuple:
    """(lonlat (n, 2) lon/lat degrees, y, kind, n_classes, train_idx, val_idx, test_idx) of a
    task's split (cached): the benchmark's own points (``benchmark-val``) or the selection set's."""
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.tasks.base import load_task

    check_probe_set(probe_set)
    pts = load_task(task) if probe_set == "benchmark-val" else load_task(task, **selection_options(n_points, task_seed))
    tr, va, te = apply_split(pts.df, parse_split(split), seed)
    kind = pts.spec.kind
    n_classes = len(pts.classes) if pts.classes else (int(pts.y.max()) + 1 if kind == "classification" else None)
    return pts.lonlat, pts.y, kind, n_classes, tr, va, te


def _split(task: str, probe_set: str, split: str, seed: int) -> tuple:
    if probe_set == "selection":
        o = selection_options()  # read at call time (tests shrink the set)
        return task_split(task, split, seed, probe_set, o["n_points"], o["seed"])
    return task_split(task, split, seed, probe_set)


def probe_embeddings(task: str, emb: np.ndarray, *, on: str = "val", split: str = "random", seed: int = 0,
                     head_seed: int = 0, threads: int = 2, probe_set: str = "selection") -> float:
    """Score of the linear head fitted on the train part of ``emb`` (rows = the probe set's points of ``task``)."""
    from sklearn.metrics import r2_score

    from geobench.heads import make_head

    if on not in ("val", "test") or (on == "test" and probe_set != "benchmark-val"):
        raise InputError(f"probe: on must be 'val' (or 'test' on benchmark-val), got on={on!r} with {probe_set}")
    _, y, kind, n_classes, tr, va, te = _split(task, probe_set, split, seed)
    ev = va if on == "val" else te
    head = make_head("linear", kind, seed=head_seed, n_threads=threads, n_classes=n_classes)
    head.fit(emb[tr], y[tr])
    pred = head.predict(emb[ev])
    if kind == "regression":
        return float(r2_score(y[ev], pred))
    return float(np.mean(pred == y[ev]))


def probe_lonlat(task: str, probe_set: str, split: str = "random", seed: int = 0) -> np.ndarray:
    """The (n, 2) lon/lat degrees of the probe set's points of ``task`` (rows of the embeddings to probe)."""
    return _split(task, probe_set, split, seed)[0]


def linear_probe(embed: Callable[[np.ndarray], np.ndarray], tasks: Iterable[str] | None = None, *,
                 probe_set: str = "selection", on: str = "val", split: str = "random", seed: int = 0,
                 threads: int = 2) -> dict[str, float]:
    """``{task: score}`` for ``embed((n, 2) lon/lat degrees) -> (n, d)`` on each task of ``probe_set``."""
    check_probe_set(probe_set)
    out = {}
    for t in (probe_tasks(probe_set) if tasks is None else tasks):
        lonlat = probe_lonlat(t, probe_set, split, seed)
        out[t] = probe_embeddings(t, np.asarray(embed(lonlat), dtype=np.float64), on=on, split=split, seed=seed,
                                  threads=threads, probe_set=probe_set)
    return out


__all__ = ["linear_probe", "probe_embeddings", "probe_lonlat", "task_split", "VAL_TASKS"]
