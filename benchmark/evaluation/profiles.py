"""Declared reproduction grids (``geobench reproduce --profile NAME``): which heads run on which
encoders, split kinds and seeds. The tasks and each task's splits come from :mod:`.grid`.

A profile is a list of blocks; a block is a rectangle (heads x encoders x split kinds x seeds)
over every grid task, or, for the analyses beside the headline tables (block size, learning
curve), heads x encoders x explicit split strings x seeds over named tasks. The coverage table
of the results page prints the declared profile and counts, per (head, task, encoder, split
kind or explicit split), the seeds the records hold against the seeds declared. Nothing here
runs a cell.
"""
from __future__ import annotations

from dataclasses import dataclass

from geobench.errors import InputError
from geobench.evaluation.grid import SPLIT_KINDS

# Option variants of registered encoders that the linear probe runs on too (``--encoder all`` has
# each registered encoder once, with its default options).
VARIANTS = ("sh:L=40", "satclip-bm:L=40")
# The MLP and LightGBM heads run on these: the learned encoders (SatCLIP L=10 and L=40 and CSP,
# trained here on Blue Marble; GeoCLIP with its released weights), SatCLIP's untrained twin,
# the parameter-free references and the label-only baseline.
KEY_ENCODERS = ("satclip-bm", "satclip-bm:L=40", "csp-bm", "geoclip", "sh_siren_random", "sh", "sh:L=40",
                "rff", "wrap", "constant")
# Extrapolation: the linear probe under spatial blocks of other sizes than the grid's 10 degrees,
# on the global tasks (the US-only tasks span too few large blocks).
BLOCK_SIZES_DEG = (2, 5, 20)
EXTRAPOLATION_TASKS = ("air_temperature", "elevation", "population", "countries", "biome", "ecoregions")
# Learning curve: training sets of growing size (nested per seed) under one fixed test set (the last
# 10 % of each seed's permutation). No validation part: the linear head fits on train + val, so a
# validation part would add its points to every size of the curve.
CURVE_SPLIT = "random:train=0.9:val=0.0"
CURVE_NTRAIN = (1000, 2000, 5000, 10000, 20000, 40000, 80000)
CURVE_ENCODERS = ("satclip-bm", "geoclip", "sh:L=40", "wrap")
CURVE_TASKS = ("ecoregions", "elevation")


@dataclass(frozen=True)
class Block:
    """``heads`` x ``encoders`` (None: every encoder of ``--encoder all``, plus ``extra``, e.g.
    option variants like ``sh:L=40``) x ``split_kinds`` x seeds ``0..seeds-1``, on every task of
    the grid (each with its own splits, see :func:`geobench.evaluation.grid.grid_plan`). With
    ``splits``, the block runs exactly those split strings instead, on ``tasks`` (None: every
    grid task); such cells stay out of the headline tables."""

    heads: tuple[str, ...]
    encoders: tuple[str, ...] | None
    seeds: int
    split_kinds: tuple[str, ...] = SPLIT_KINDS
    extra: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    tasks: tuple[str, ...] | None = None

    def task_splits(self, task: str, grid_splits: list[str]) -> list[str]:
        """The splits this block runs on ``task`` (``grid_splits``: the task's grid splits)."""
        if self.tasks is not None and task not in self.tasks:
            return []
        if self.splits:
            return list(self.splits)
        return [s for s in grid_splits if s.split(":")[0] in self.split_kinds]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    blocks: tuple[Block, ...]


PROFILES = {
    "paper": Profile(
        "paper", "the reference grid: the linear probe on every encoder with 5 seeds; the MLP and LightGBM "
        "probes on the key encoders with 3 seeds, and LightGBM on raw coordinates (`direct`); every task and "
        "split kind. Beside it: the linear probe on the key encoders under other block sizes, and a "
        "learning curve on ecoregions and elevation",
        (Block(("linear",), None, 5, extra=VARIANTS), Block(("mlp", "lightgbm"), KEY_ENCODERS, 3),
         Block(("lightgbm",), ("direct",), 3),
         Block(("linear",), KEY_ENCODERS, 3, ("spatial_block",),
               splits=tuple(f"spatial_block:deg={d}" for d in BLOCK_SIZES_DEG), tasks=EXTRAPOLATION_TASKS),
         Block(("linear",), CURVE_ENCODERS, 3, ("random",),
               splits=tuple(f"{CURVE_SPLIT}:ntrain={n}" for n in CURVE_NTRAIN), tasks=CURVE_TASKS))),
}


def get_profile(name: str) -> Profile:
    """The profile ``name`` (UnknownNameError listing the declared ones)."""
    from geobench.errors import UnknownNameError
    from geobench.registry import unknown_name_message

    if name not in PROFILES:
        raise UnknownNameError(unknown_name_message("reproduce profile", name, list(PROFILES)))
    return PROFILES[name]


def block_encoders(block: Block) -> list[str]:
    """The block's encoders as canonical specs (``--encoder all`` and ``extra`` for None)."""
    from geobench.encoding import resolve_spec
    from geobench.encoding.encoder import default_encoders

    names = [*default_encoders(), *block.extra] if block.encoders is None else list(block.encoders)
    return list(dict.fromkeys(resolve_spec(e) for e in names))


def restrict(profile: Profile, heads: list[str] | None = None, encoders: list[str] | None = None,
             seeds: int | None = None) -> list[Block]:
    """The profile's blocks narrowed to the given heads, encoders (canonical specs) and seed
    count (at most the block's); blocks left empty are dropped. InputError when nothing is left."""
    out = []
    for b in profile.blocks:
        hs = tuple(h for h in b.heads if heads is None or h in heads)
        encs = block_encoders(b)
        es = tuple(e for e in encs if encoders is None or e in encoders)
        n = b.seeds if seeds is None else min(seeds, b.seeds)
        if hs and es and n > 0:
            out.append(Block(hs, es, n, b.split_kinds, splits=b.splits, tasks=b.tasks))  # extra is folded in
    if not out:
        raise InputError(f"nothing of profile {profile.name!r} matches --head {heads} --encoder {encoders} "
                         f"--seeds {seeds}; its blocks are: {describe(profile)} "
                         "(use `geobench run` for cells outside a profile)")
    return out


def describe(profile: Profile) -> str:
    """One line per block: heads x encoders x split kinds x seeds."""
    parts = []
    for b in profile.blocks:
        encs = ("every encoder" + "".join(f", {e}" for e in b.extra)) if b.encoders is None else ", ".join(b.encoders)
        where = "/".join(b.splits) if b.splits else "/".join(b.split_kinds)
        on = f" on {', '.join(b.tasks)}" if b.tasks is not None else ""
        parts.append(f"{'/'.join(b.heads)} x [{encs}] x {where} x {b.seeds} seeds{on}")
    return "; ".join(parts)


def declared_cells(profile: Profile, tasks: list[str]) -> list[tuple[str, str, str, str, int]]:
    """(head, task, encoder, split label, declared seeds) for every declared combination on
    ``tasks``; the label is the split kind for the grid's splits (a kind a task has no split of,
    like Africa for US-only tasks, is not declared there) and the canonical split string for a
    block's explicit splits."""
    from geobench.evaluation.grid import grid_plan
    from geobench.evaluation.splits import parse_split

    grid = dict(grid_plan(tasks))
    out = []
    for b in profile.blocks:
        encs = block_encoders(b)
        for h in b.heads:
            for t in tasks:
                for s in b.task_splits(t, grid.get(t, [])):
                    label = str(parse_split(s)) if b.splits else s.split(":")[0]
                    out.extend((h, t, e, label, b.seeds) for e in encs)
    return list(dict.fromkeys(out))


def split_label(task: str, split: str, explicit: set[str]) -> str | None:
    """The coverage label of a record's split: its kind when it is the task's grid split, the split
    itself when it is one of the profile's ``explicit`` splits, else None (outside the profile)."""
    from geobench.evaluation.grid import in_plan

    if in_plan(task, split):
        return split.split(":")[0]
    return split if split in explicit else None


def explicit_splits(profile: Profile) -> set[str]:
    """The canonical strings of the profile's explicit splits."""
    from geobench.evaluation.splits import parse_split

    return {str(parse_split(s)) for b in profile.blocks for s in b.splits}


def is_current(record: dict, head_ids: dict[str, dict], explicit: set[str] = frozenset()) -> bool:
    """Whether a record is of the declared setting: the current head identity (``head_ids``: spec ->
    identity), a split of the grid (or one of the profile's ``explicit`` splits, see
    :func:`explicit_splits`), the current scores and the default CI. The task's points and the encoder's weights
    are not checked here: rows of stale weights leave ``runs.jsonl`` by ``leaderboard
    --archive-superseded``. Rows run with ``--device cuda`` are another setting (the specs carry
    the device) and do not count."""
    from geobench.evaluation.grid import in_plan
    from geobench.evaluation.identity import SCORES_VERSION
    from geobench.evaluation.intervals import ci_method

    ident = record.get("identity") or {}
    if ident.get("head") != head_ids.get(record["head"]):
        return False
    if not in_plan(record["task"], record["split"]) and record["split"] not in explicit:
        return False
    if ident.get("scores", 1) != SCORES_VERSION:  # a row without the current scores (the geo block)
        return False
    return ident.get("ci") == ci_method("block", record["task"], record["split"])
