"""The reproduction grid's declaration: which (task, splits) cells `geobench reproduce` runs.

Read by the ``reproduce`` verb, the results page (findings keep only grid cells) and the
perf projection. Names and splits are geobench specs; nothing here runs a cell.
"""
from __future__ import annotations

import functools

import os

GLOBAL_TASKS = ("air_temperature", "elevation", "population", "countries", "biome", "ecoregions")
FEWSHOT_TASKS = ("countries", "ecoregions")  # the paper's few-shot (1 %) hold-out tasks
AFRICA_FEWSHOT = "continent:Africa:fewshot=0.01"
# The block size of each task, in degrees: of its spatial_block split in the grid and of the
# block bootstrap behind every CI (geobench.evaluation.intervals). Global tasks use 10-degree
# blocks; the two US-only tasks span a few of those at most, so theirs fit their extent.
GLOBAL_BLOCK_DEG = 10
REGIONAL_BLOCK_DEG = {"median_income": 2, "california_housing": 1}
SPLIT_KINDS = ("random", "spatial_block", "continent")


def holdout_split(task: str) -> str | None:
    """The paper's Africa hold-out for a task: few-shot for countries/ecoregions, zero-shot otherwise.
    US-only tasks (median income, California housing) have no Africa hold-out."""
    if task not in GLOBAL_TASKS:
        return None
    return AFRICA_FEWSHOT if task in FEWSHOT_TASKS else "continent:Africa"


def block_deg(task: str) -> float:
    """The task's block size in degrees (``REGIONAL_BLOCK_DEG``, else ``GLOBAL_BLOCK_DEG``)."""
    return float(REGIONAL_BLOCK_DEG.get(task, GLOBAL_BLOCK_DEG))


def reproduce_tasks() -> list[str]:
    """The offline tasks, plus each external-data task whose data folder is configured
    (iNaturalist 2018 when ``$GEOBENCH_INAT_DIR`` is set)."""
    from geobench.evaluation.plan import offline_tasks
    from geobench.tasks.base import TASKS

    ext = [n for n, e in TASKS.items() if e.spec.needs_external and os.environ.get(e.spec.needs_external)]
    return offline_tasks() + ext


def grid_plan(tasks: list[str]) -> list[tuple[str, list[str]]]:
    """(task, splits) pairs of the reproduction grid (external-data tasks: random split only)."""
    from geobench.tasks.base import get_spec

    out = []
    for t in tasks:
        if get_spec(t).needs_external:
            out.append((t, ["random"]))
            continue
        splits = ["random", f"spatial_block:deg={block_deg(t):g}"]
        h = holdout_split(t)
        if h:
            splits.append(h)
        out.append((t, splits))
    return out


def in_plan(task: str, split: str) -> bool:
    """Whether (task, split) is one of the reproduction grid's cells (older exploratory runs,
    e.g. 10-degree blocks on California housing, stay in the leaderboard but not in findings)."""
    return split in _plan_splits(task)


@functools.lru_cache(maxsize=None)
def _plan_splits(task: str) -> frozenset[str]:
    """The canonical split strings of ``task`` in the reproduction grid (empty for a task not in
    it); cached: the report asks once per record (1.3 ms a call uncached, measured)."""
    from geobench.errors import GeobenchError
    from geobench.evaluation.splits import parse_split

    try:
        plan = grid_plan([task])
    except GeobenchError:  # a plugin task, or one removed since it ran: not in the grid
        return frozenset()
    return frozenset(str(parse_split(s)) for _, splits in plan for s in splits)
