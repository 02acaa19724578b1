"""The plan: every (task, encoder, head, split, seed) cell of a grid, validated and identified
by its content (:mod:`.identity`) before any embedding or fitting.

Planning loads each task's points (from the cache after the first build) and builds each
encoder once, because a cell's identity holds the points' sha256 and the encoder's weights
sha256 / code fingerprint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from geobench.errors import InputError
from geobench.evaluation.identity import (SCORES_VERSION, cell_key, digest, encoder_identity, head_identity,
                                         setting_of, task_identity)


@dataclass(frozen=True)
class Cell:
    """One result cell. ``encoder`` and ``head`` are canonical specs, ``split`` the canonical
    split string, ``task_options`` only the options given for this task. ``identity`` is the
    cell's content (see :mod:`geobench.evaluation.identity`); ``encoder_obj`` the built
    encoder (never sent to workers, not part of equality)."""

    task: str
    encoder: str
    head: str
    split: str
    seed: int
    task_options: dict = field(default_factory=dict)
    tune: bool = False
    identity: dict = field(default_factory=dict)
    encoder_obj: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """Readable prefix plus the digest of the identity: ``task|encoder|head|split|seed#<16 hex>``."""
        return cell_key(self.identity, self.task, self.encoder, self.head, self.split, self.seed)

    @property
    def setting(self) -> str:
        """Digest of the identity without the seed: the rows one leaderboard cell averages."""
        return setting_of(self.identity)

    @property
    def predictions_file(self) -> str:
        """Where this cell's per-point test predictions go, relative to the results folder:
        ``predictions/<task>/<encoder>/<head>__<split>__seed<k>__<digest>.parquet`` (the digest
        keeps cells that differ only in content, or in characters a file name cannot hold, apart)."""
        from geobench.cache import safe_name

        return (f"predictions/{self.task}/{safe_name(self.encoder)}/{safe_name(self.head)}__"
                f"{safe_name(self.split)}__seed{self.seed}__{digest(self.identity, 12)}.parquet")


def expand(values: Iterable[Any], all_names: Callable[[], list[str]]) -> list[Any]:
    """Split comma lists, expand ``all`` with ``all_names()``, drop blanks and duplicates
    (strings by value, encoder objects by identity), keeping the first-seen order."""
    out: list[Any] = []
    for v in values:
        for part in (v.split(",") if isinstance(v, str) else [v]):
            if isinstance(part, str):
                part = part.strip()
                if not part:
                    continue
                if part == "all":
                    out.extend(all_names())
                    continue
            out.append(part)
    return _unique(out)


def _unique(items: Iterable[Any]) -> list[Any]:
    """``items`` without repeats, first-seen order (strings by value, objects by identity)."""
    seen, out = set(), []
    for o in items:
        k = o if isinstance(o, str) else id(o)
        if k not in seen:
            seen.add(k)
            out.append(o)
    return out


def offline_tasks() -> list[str]:
    """Registered tasks whose data is declared (not needing external data)."""
    from geobench.tasks.base import TASKS

    return [n for n, e in TASKS.items() if not e.spec.needs_external]


def options_for(task: str, task_options: dict | None) -> dict:
    """The subset of ``task_options`` that ``task`` accepts (e.g. ``n_points`` only for sampled tasks;
    ``exclude``, the continents to drop, for every task)."""
    from geobench.tasks.base import get_spec

    defaults = get_spec(task).defaults
    return {k: v for k, v in (task_options or {}).items() if k in defaults or k == "exclude"}


def with_device(heads: list[str], encoders: list[Any], device: str) -> tuple[list[str], list[Any]]:
    """Head and encoder specs that run on torch ``device``: ``device=...`` added to every spec
    whose head class or encoder factory takes a ``device`` option (the MLP head; SatCLIP, CSP,
    GeoCLIP and the SIREN control). ``cpu``, the default, changes nothing; another device is part
    of the spec, so of the cell's identity (GPU numbers are not bit-identical to CPU ones)."""
    import inspect

    from geobench.devices import check_device
    from geobench.encoding.encoder import ENCODERS, EncoderEntry
    from geobench.heads.base import HEADS
    from geobench.registry import parse_spec

    if check_device(device) == "cpu":
        return heads, encoders

    def takes_device(fn: Any) -> bool:
        return "device" in inspect.signature(fn).parameters

    def add(spec: str, fn: Any) -> str:
        if not takes_device(fn):
            return spec
        given = parse_spec(spec)[1].get("device")
        if given is not None and given != device:
            raise InputError(f"{spec!r} names device={given} but --device is {device}; drop one of them")
        return spec if given else f"{spec}:device={device}"

    new_heads = [add(h, HEADS.get(parse_spec(h)[0]).__init__) for h in heads]
    new_encs = []
    for e in encoders:
        if isinstance(e, str):
            entry = ENCODERS.get(parse_spec(e)[0])
            e = add(e, entry.factory if isinstance(entry, EncoderEntry) else entry)
        new_encs.append(e)
    return new_heads, new_encs


def plan(tasks: list[str], encoders: list[Any], heads: list[str], splits: list[str], seeds: list[int],
         *, task_options: dict | None = None, tune: bool = False, ci: str = "block") -> list[Cell]:
    """Validate every name and return the cells in (task, encoder, head, split, seed) order.

    ``encoders`` holds registered spec strings or user encoder objects/callables; ``heads``
    holds head specs (``linear``, ``mlp:max_epochs=50``); ``ci`` the CI method (``block``, the
    task's block size; ``block:deg=D``; ``iid``; see :mod:`geobench.evaluation.intervals`),
    resolved per task and split into the identity's ``ci``; ``none`` when no interval is computed
    (``--bootstrap 0``). Names and options are checked before any task is loaded.
    """
    from geobench.encoding import get_encoder, resolve_spec
    from geobench.evaluation.intervals import ci_method, parse_ci
    from geobench.evaluation.splits import parse_split
    from geobench.heads.base import canonical_head_spec
    from geobench.tasks.base import TASKS, load_task

    for t in tasks:
        TASKS.get(t)
    # canonical specs (defaults dropped or filled in), each once: equivalent spellings are one cell
    head_specs = _unique(canonical_head_spec(h) for h in heads)
    split_strs = _unique(str(parse_split(s)) for s in splits)
    if ci != "none":
        parse_ci(ci)
    # names and options checked before anything is built
    encoders = _unique(resolve_spec(e) if isinstance(e, str) else e for e in encoders)
    built = [get_encoder(e) for e in encoders]
    heads_id = {h: head_identity(h, tune) for h in head_specs}
    cells = []
    for t in tasks:
        opts = options_for(t, task_options)
        task_id = task_identity(load_task(t, **opts))
        for enc in built:
            enc_id = encoder_identity(enc)
            for h in head_specs:
                for s in split_strs:
                    ci_s = "none" if ci == "none" else ci_method(ci, t, s)
                    for seed in seeds:
                        identity = {"task": task_id, "encoder": enc_id, "head": heads_id[h], "split": s,
                                    "ci": ci_s, "scores": SCORES_VERSION, "seed": int(seed)}
                        cells.append(Cell(t, enc.meta["spec"], h, s, int(seed), opts, tune, identity, enc))
    by_key: dict[str, Cell] = {}
    for c in cells:  # one cell per identity (two user encoders with the same name and code), first kept
        by_key.setdefault(c.key, c)
    return list(by_key.values())
