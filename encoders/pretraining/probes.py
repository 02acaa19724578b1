"""Linear probes used to choose pretraining variants and epochs.

The probe is geobench's ``linear`` head (MinMaxScaler + RidgeCV, alphas 0.1, 1, 10) on a
task's ``random`` split (60/20/20, split seed 0). Variants are compared on the VALIDATION
part (``on="val"``); ``on="test"`` is used only for the final acceptance numbers.
Regression scores are R^2, classification scores accuracy.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable

import numpy as np

VAL_TASKS = ("air_temperature", "elevation", "population")


@lru_cache(maxsize=8)
def task_split(task: str, split: str = "random", seed: int = 0) -> tuple:
    """(lonlat (n, 2) lon/lat degrees, y, kind, n_classes, train_idx, val_idx, test_idx) of a
    task's split (cached)."""
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.tasks.base import load_task

    pts = load_task(task)
    tr, va, te = apply_split(pts.df, parse_split(split), seed)
    kind = pts.spec.kind
    n_classes = len(pts.classes) if pts.classes else (int(pts.y.max()) + 1 if kind == "classification" else None)
    return pts.lonlat, pts.y, kind, n_classes, tr, va, te


def probe_embeddings(task: str, emb: np.ndarray, *, on: str = "val", split: str = "random", seed: int = 0,
                     head_seed: int = 0, threads: int = 2) -> float:
    """Score of the linear head fitted on the train part of ``emb`` (rows = task points)."""
    from sklearn.metrics import r2_score

    from geobench.heads import make_head

    _, y, kind, n_classes, tr, va, te = task_split(task, split, seed)
    ev = va if on == "val" else te
    head = make_head("linear", kind, seed=head_seed, n_threads=threads, n_classes=n_classes)
    head.fit(emb[tr], y[tr])
    pred = head.predict(emb[ev])
    if kind == "regression":
        return float(r2_score(y[ev], pred))
    return float(np.mean(pred == y[ev]))


def linear_probe(embed: Callable[[np.ndarray], np.ndarray], tasks: Iterable[str] = VAL_TASKS, *, on: str = "val",
                 split: str = "random", seed: int = 0, threads: int = 2) -> dict[str, float]:
    """``{task: score}`` for ``embed((n, 2) lon/lat degrees) -> (n, d)`` on each task."""
    out = {}
    for t in tasks:
        lonlat = task_split(t, split, seed)[0]
        out[t] = probe_embeddings(t, np.asarray(embed(lonlat), dtype=np.float64), on=on, split=split, seed=seed,
                                  threads=threads)
    return out


__all__ = ["linear_probe", "probe_embeddings", "task_split", "VAL_TASKS"]
