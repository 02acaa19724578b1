"""Declared reproduction grids (``geobench reproduce --profile NAME``): which heads run on which
encoders, split kinds and seeds. The tasks and each task's splits come from :mod:`.grid`.

A profile is a list of blocks; a block is a rectangle (heads x encoders x split kinds x seeds)
over every grid task. The coverage table of the results page prints the declared profile and
counts, per (head, task, encoder, split kind), the seeds the records hold against the seeds
declared. Nothing here runs a cell.
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


@dataclass(frozen=True)
class Block:
    """``heads`` x ``encoders`` (None: every encoder of ``--encoder all``, plus ``extra``, e.g.
    option variants like ``sh:L=40``) x ``split_kinds`` x seeds ``0..seeds-1``, on every task of
    the grid (each with its own splits, see :func:`geobench.evaluation.grid.grid_plan`)."""

    heads: tuple[str, ...]
    encoders: tuple[str, ...] | None
    seeds: int
    split_kinds: tuple[str, ...] = SPLIT_KINDS
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    blocks: tuple[Block, ...]


PROFILES = {
    "paper": Profile(
        "paper", "the reference grid: the linear probe on every encoder with 5 seeds; the MLP and LightGBM "
        "probes on the key encoders with 3 seeds; every task and split kind",
        (Block(("linear",), None, 5, extra=VARIANTS), Block(("mlp", "lightgbm"), KEY_ENCODERS, 3))),
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
            out.append(Block(hs, es, n, b.split_kinds))  # explicit encoders: extra is folded in
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
        parts.append(f"{'/'.join(b.heads)} x [{encs}] x {'/'.join(b.split_kinds)} x {b.seeds} seeds")
    return "; ".join(parts)


def declared_cells(profile: Profile, tasks: list[str]) -> list[tuple[str, str, str, str, int]]:
    """(head, task, encoder, split kind, declared seeds) for every declared combination on ``tasks``
    (a split kind a task has no split of, like Africa for US-only tasks, is not declared there)."""
    from geobench.evaluation.grid import grid_plan

    kinds = {t: {s.split(":")[0] for s in splits} for t, splits in grid_plan(tasks)}
    out = []
    for b in profile.blocks:
        encs = block_encoders(b)
        for h in b.heads:
            for t in tasks:
                for e in encs:
                    for k in b.split_kinds:
                        if k in kinds.get(t, ()):
                            out.append((h, t, e, k, b.seeds))
    return out


def is_current(record: dict, head_ids: dict[str, dict]) -> bool:
    """Whether a record is of the declared setting: the current head identity (``head_ids``: spec ->
    identity), a split of the grid and the default CI. The task's points and the encoder's weights
    are not checked here: rows of stale weights leave ``runs.jsonl`` by ``leaderboard
    --archive-superseded``. Rows run with ``--device cuda`` are another setting (the specs carry
    the device) and do not count."""
    from geobench.evaluation.grid import in_plan
    from geobench.evaluation.identity import SCORES_VERSION
    from geobench.evaluation.intervals import ci_method

    ident = record.get("identity") or {}
    if ident.get("head") != head_ids.get(record["head"]):
        return False
    if not in_plan(record["task"], record["split"]):
        return False
    if ident.get("scores", 1) != SCORES_VERSION:  # a row without the current scores (the geo block)
        return False
    return ident.get("ci") == ci_method("block", record["task"], record["split"])
