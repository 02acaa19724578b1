"""Probe sets of ``geobench pretrain``: the points whose linear-probe scores choose variants and epochs.

Rule of the project: tuning and selection never touch points that are test points anywhere in
the benchmark. Every point of a benchmark task is a test point for some split or seed, so the
default probe set is drawn off the benchmark:

``selection`` (default)
    ``elevation`` and ``population`` built by the benchmark's own task builders
    (:func:`geobench.tasks.terrain.build_elevation` / ``build_population``) with sampling seed
    :data:`SELECTION_SEED` = 2 (the benchmark draws its points with seed 0, the pretraining
    pairs with seed 1) and :data:`SELECTION_N` = 20,000 points each. Before anything is probed
    the set is checked disjoint, by exact (lon, lat) coordinates, from the default point set of
    every benchmark task (:func:`benchmark_point_sets`); a coinciding point raises
    :class:`SelectionOverlapError`. Probes fit the linear head on the train part and score the
    validation part of a ``random`` split (60/20/20, split seed 0) of each task; the test part
    is never used. ``air_temperature`` has no off-benchmark points (its 3,076 stations are all
    benchmark points), so it is not part of the set.
``benchmark-val`` (superseded; only to reproduce the runs made before the selection set)
    The validation part of the ``random`` split (seed 0) of the benchmark's own points of
    ``air_temperature``, ``elevation`` and ``population``: points that are test points for other
    seeds and splits.

:func:`describe_probe_set` returns the JSON description written as ``tuned_on`` into a run's
record (tasks, builder seed, size, split, the sha256 of every task's points and of their
coordinates, and the disjointness check). Coordinates are (lon, lat) float64 degrees.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

import numpy as np

from geobench.coords import coinciding, coordinate_keys  # noqa: F401  (re-exported)
from geobench.errors import DataError, InputError

PROBE_SETS = ("selection", "benchmark-val")
SELECTION_TASKS = ("elevation", "population")
SELECTION_SEED = 2  # benchmark points: seed 0; pretraining pairs: data seed 1
SELECTION_N = 20_000
BENCHMARK_VAL_TASKS = ("air_temperature", "elevation", "population")
PROBE_SPLIT, PROBE_SPLIT_SEED = "random", 0


class SelectionOverlapError(DataError):
    """A probe set shares points with the benchmark."""


def probe_tasks(probe_set: str) -> tuple[str, ...]:
    """The tasks of ``probe_set``."""
    check_probe_set(probe_set)
    return SELECTION_TASKS if probe_set == "selection" else BENCHMARK_VAL_TASKS


def check_probe_set(probe_set: str) -> None:
    if probe_set not in PROBE_SETS:
        raise InputError(f"unknown probe set {probe_set!r}; use one of {', '.join(PROBE_SETS)}")


def selection_options(n: int | None = None, seed: int | None = None) -> dict[str, int]:
    """Task-builder options of the selection set (defaults: :data:`SELECTION_N`, :data:`SELECTION_SEED`)."""
    return {"n_points": int(SELECTION_N if n is None else n), "seed": int(SELECTION_SEED if seed is None else seed)}


def lonlat_sha256(lonlat: np.ndarray) -> str:
    """sha256 of the float64 (lon, lat) rows in order."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(lonlat, dtype=np.float64)).tobytes()).hexdigest()


def benchmark_point_sets() -> tuple[dict[str, Any], list[str]]:
    """(``{task: Points}`` of every benchmark task at its default options, the tasks that could not
    be checked). Tasks needing external data are included when their folder is set, else listed
    as not checked."""
    from geobench.tasks.base import TASKS, load_task

    sets, unchecked = {}, []
    for name, entry in TASKS.items():
        ext = entry.spec.needs_external
        if ext and not os.environ.get(ext):
            unchecked.append(f"{name} (external data; {ext} not set)")
            continue
        sets[name] = load_task(name)
    return sets, unchecked


def check_disjoint(candidate: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict[str, int]:
    """Raise :class:`SelectionOverlapError` if any row of a ``candidate`` point set has exactly the
    coordinates of a row of a ``reference`` point set; returns ``{reference task: rows compared}``."""
    bad = []
    for cname, c in candidate.items():
        for rname, r in reference.items():
            hit = coinciding(c, r)
            if hit.any():
                i = int(np.flatnonzero(hit)[0])
                bad.append(f"{int(hit.sum())} of {len(hit)} {cname} points are {rname} benchmark points "
                           f"(first: lon={c[i, 0]!r}, lat={c[i, 1]!r})")
    if bad:
        raise SelectionOverlapError("the probe set shares points with the benchmark, whose points are all test "
                                    "points for some split or seed: " + "; ".join(bad) + ". Draw it with another "
                                    "sampling seed (the benchmark uses 0)")
    return {r: int(len(v)) for r, v in reference.items()}


def selection_points(task: str, n: int | None = None, seed: int | None = None):
    """The selection-set points (:class:`geobench.tasks.base.Points`) of ``task`` (cached on disk)."""
    from geobench.tasks.base import load_task

    return load_task(task, **selection_options(n, seed))


def describe_selection_set(tasks: tuple[str, ...] = SELECTION_TASKS, n: int | None = None,
                           seed: int | None = None) -> dict[str, Any]:
    """Build the selection set, check it disjoint from every benchmark point set (raises
    :class:`SelectionOverlapError`), and return its JSON description."""
    opts = selection_options(n, seed)
    pts = {t: selection_points(t, opts["n_points"], opts["seed"]) for t in tasks}
    bench, unchecked = benchmark_point_sets()
    compared = check_disjoint({t: p.lonlat for t, p in pts.items()}, {b: p.lonlat for b, p in bench.items()})
    all_ll = np.concatenate([p.lonlat for p in pts.values()])
    from geobench.tasks.base import POINTS_SCHEMA

    return {
        "probe_set": "selection",
        "points_schema": POINTS_SCHEMA,  # absent: 1, before geobench.portable (other last bits, other sha256)
        "tasks": list(tasks),
        "builder_options": opts,
        "split": PROBE_SPLIT, "split_seed": PROBE_SPLIT_SEED, "fit_on": "train", "scored_on": "val",
        "points_sha256": {t: p.sha256 for t, p in pts.items()},
        "lonlat_sha256": lonlat_sha256(all_ll),
        "n_points": {t: len(p) for t, p in pts.items()},
        "disjoint_from_benchmark": {
            "by": "exact (lon, lat) float64 coordinates",
            "benchmark_points_sha256": {b: p.sha256 for b, p in bench.items()},
            "benchmark_points_compared": compared,
            "coinciding_points": 0,
            "not_checked": unchecked,
        },
    }


def describe_benchmark_val() -> dict[str, Any]:
    """Description of the superseded ``benchmark-val`` probe set (the benchmark's own points)."""
    from geobench.tasks.base import load_task

    return {
        "probe_set": "benchmark-val",
        "tasks": list(BENCHMARK_VAL_TASKS),
        "builder_options": "task defaults (the benchmark's own points)",
        "split": PROBE_SPLIT, "split_seed": PROBE_SPLIT_SEED, "fit_on": "train", "scored_on": "val",
        "points_sha256": {t: load_task(t).sha256 for t in BENCHMARK_VAL_TASKS},
        "disjoint_from_benchmark": False,
        "note": "benchmark points: test points for other seeds and splits (superseded by the selection set)",
    }


def probe_lonlat_all(probe_set: str) -> np.ndarray:
    """The (lon, lat) degrees of every point of ``probe_set`` (all its tasks, all split parts)."""
    from geobench.tasks.base import load_task

    check_probe_set(probe_set)
    if probe_set == "selection":
        o = selection_options()
        return np.concatenate([selection_points(t, o["n_points"], o["seed"]).lonlat for t in SELECTION_TASKS])
    return np.concatenate([load_task(t).lonlat for t in BENCHMARK_VAL_TASKS])


@lru_cache(maxsize=4)
def _describe(probe_set: str, n: int, seed: int) -> str:
    import json

    d = describe_selection_set(SELECTION_TASKS, n, seed) if probe_set == "selection" else describe_benchmark_val()
    return json.dumps(d)


def describe_probe_set(probe_set: str) -> dict[str, Any]:
    """The ``tuned_on`` description of ``probe_set`` (the selection set is built and checked
    disjoint from the benchmark first; cached per process)."""
    import json

    check_probe_set(probe_set)
    opts = selection_options()
    return json.loads(_describe(probe_set, opts["n_points"], opts["seed"]))


__all__ = ["PROBE_SETS", "SELECTION_TASKS", "SELECTION_SEED", "SELECTION_N", "BENCHMARK_VAL_TASKS",
           "SelectionOverlapError", "probe_tasks", "check_probe_set", "selection_options", "coordinate_keys",
           "coinciding", "lonlat_sha256", "benchmark_point_sets", "check_disjoint", "selection_points",
           "describe_selection_set", "describe_benchmark_val", "describe_probe_set", "probe_lonlat_all"]
