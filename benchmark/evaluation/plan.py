"""The plan: every (task, encoder, head, split, seed) cell of a grid, validated and keyed
before any data is loaded."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from geobench.evaluation.records import record_key


@dataclass(frozen=True)
class Cell:
    """One result cell. ``encoder`` is the canonical spec; ``split`` the canonical split string;
    ``task_options`` only the options this task accepts. ``encoder_obj`` is a user encoder
    object (None for registered specs); it is not part of the cell's identity."""

    task: str
    encoder: str
    head: str
    split: str
    seed: int
    task_options: dict = field(default_factory=dict)
    encoder_obj: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return record_key(self.task, self.encoder, self.head, self.split, self.seed, self.task_options)

    @property
    def predictions_file(self) -> str:
        """Where this cell's per-point test predictions go, relative to the results folder:
        ``predictions/<task>/<encoder>/<head>__<split>__seed<k>.parquet``."""
        from geobench.cache import safe_name

        return (f"predictions/{self.task}/{safe_name(self.encoder)}/"
                f"{self.head}__{safe_name(self.split)}__seed{self.seed}.parquet")


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
    seen, uniq = set(), []
    for o in out:
        k = o if isinstance(o, str) else id(o)
        if k not in seen:
            seen.add(k)
            uniq.append(o)
    return uniq


def offline_tasks() -> list[str]:
    """Registered tasks whose data is declared (not needing external data)."""
    from geobench.tasks.base import TASKS

    return [n for n, e in TASKS.items() if not e.spec.needs_external]


def options_for(task: str, task_options: dict | None) -> dict:
    """The subset of ``task_options`` that ``task`` accepts (e.g. ``n_points`` only for sampled tasks)."""
    from geobench.tasks.base import get_spec

    defaults = get_spec(task).defaults
    return {k: v for k, v in (task_options or {}).items() if k in defaults}


def plan(tasks: list[str], encoders: list[Any], heads: list[str], splits: list[str], seeds: list[int],
         *, task_options: dict | None = None) -> list[Cell]:
    """Validate every name and return the cells in (task, encoder, head, split, seed) order.

    ``encoders`` holds registered spec strings or user encoder objects/callables.
    """
    from geobench.encoding import get_encoder, resolve_spec
    from geobench.evaluation.splits import parse_split
    from geobench.heads import HEADS
    from geobench.tasks.base import TASKS

    for t in tasks:
        TASKS.get(t)
    for h in heads:
        HEADS.get(h)
    split_strs = [str(parse_split(s)) for s in splits]
    enc_specs: list[tuple[str, Any]] = []
    for e in encoders:
        if isinstance(e, str):
            enc_specs.append((resolve_spec(e), None))
        else:
            obj = get_encoder(e)
            enc_specs.append((obj.meta["spec"], obj))
    return [Cell(t, spec, h, s, int(seed), options_for(t, task_options), obj)
            for t in tasks for spec, obj in enc_specs for h in heads for s in split_strs for seed in seeds]
