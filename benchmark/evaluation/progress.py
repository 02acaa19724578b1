"""Progress of a long grid: cells done, cells to go, an ETA, and the measured total at the end.

The ETA weighs each remaining cell by the mean cell time measured so far in this run for its
(head, task) (MLP cells on 100k points take minutes, linear ones on 3k points a second), else by
that group's mean in the records of earlier runs (``prior``, see :func:`prior_cell_seconds`),
else by the median of the head's group means (this run's and earlier runs', not-applicable ones
left out), else by the mean of all cells of this run, and scales that compute time by this run's measured wall time per second
of cell time (the parallel speed-up of the workers).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, TextIO


def hms(seconds: float) -> str:
    """``h:mm:ss`` of a duration in seconds."""
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def prior_cell_seconds(records: list[dict], groups: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Mean ``timings.cell_s`` per (head name, task) of ``groups`` in earlier ``records``, from the
    ``ok`` rows at the head's current identity (an older version's times would mislead), else 0 s
    for a group with ``not_applicable`` rows at any identity (nothing is fitted; whether a head
    applies to a task, such as LightGBM on more than 20 classes, does not depend on its version)."""
    from geobench.evaluation.identity import current_head_identity

    groups = set(groups)
    cache: dict[tuple[str, bool], dict | None] = {}
    sums: dict[tuple[str, str], list[float]] = {}
    never: set[tuple[str, str]] = set()
    for r in records:
        key = (str(r.get("head", "")).split(":")[0], r.get("task"))
        secs = (r.get("timings") or {}).get("cell_s")
        if key not in groups:
            continue
        if r.get("status") == "not_applicable":
            never.add(key)
            continue
        if r.get("status") != "ok" or secs is None:
            continue
        now = current_head_identity(r["head"], False, cache)  # None: a head no longer registered
        if now is not None and (r.get("identity") or {}).get("head") == now:
            sums.setdefault(key, []).append(float(secs))
    return {**{k: 0.0 for k in never}, **{k: sum(v) / len(v) for k, v in sums.items()}}


@dataclass
class GridProgress:
    """Counts and times of a grid run. ``pending`` maps (head, task) to the number of cells to
    run in that group; ``done_before`` counts the declared cells already in the records.
    ``every_s``: at most one progress line per this many seconds (the last cell always prints)."""

    pending: dict[tuple[str, str], int]
    done_before: int = 0
    every_s: float = 60.0
    out: TextIO | None = None
    on_line: Callable[["GridProgress"], None] | None = None  # called with each progress line (a checkpoint)
    prior: dict[tuple[str, str], float] = field(default_factory=dict)  # (head, task) -> mean cell_s of earlier runs
    t0: float = field(default_factory=time.perf_counter)
    n_done: int = 0
    cell_seconds: float = 0.0
    _by_group: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _last_print: float | None = None  # None: no line yet, so the first cell prints one
    total: int = 0  # declared cells: done before + to run (set from ``pending`` at start)

    def __post_init__(self) -> None:
        self.pending = dict(self.pending)
        self.total = self.done_before + sum(self.pending.values())

    def cell_done(self, record: dict) -> None:
        """Count one finished cell (its record's head, task and ``timings.cell_s``); maybe print."""
        key = (str(record.get("head", "")).split(":")[0], str(record.get("task", "")))
        secs = float((record.get("timings") or {}).get("cell_s") or 0.0)
        self.n_done += 1
        self.cell_seconds += secs
        self._by_group.setdefault(key, [0, 0.0])
        self._by_group[key][0] += 1
        self._by_group[key][1] += secs
        if key in self.pending:
            self.pending[key] = max(0, self.pending[key] - 1)
        now = time.perf_counter()
        if self._last_print is None or now - self._last_print >= self.every_s or not self.remaining:
            self._last_print = now
            print(self.line(), file=self.out or sys.stdout, flush=True)
            if self.on_line is not None:
                self.on_line(self)

    def drop_task(self, task: str) -> None:
        """A task that failed: its cells still pending leave the count (and the ETA)."""
        for key in self.pending:
            if key[1] == task:
                self.total -= self.pending[key]
                self.pending[key] = 0

    @property
    def remaining(self) -> int:
        return sum(self.pending.values())

    def eta_seconds(self) -> float | None:
        """Estimated wall seconds to finish, None before the first cell with a time."""
        if not self.n_done or self.cell_seconds <= 0:
            return None
        mean_all = self.cell_seconds / self.n_done

        means = {**self.prior, **{g: s / n for g, (n, s) in self._by_group.items()}}
        by_head: dict[str, list[float]] = {}
        for (head, _), m in means.items():
            if m > 0:  # a not-applicable group (0 s) says nothing of the head's other tasks
                by_head.setdefault(head, []).append(m)

        def mean(g: tuple[str, str]) -> float:
            if g in means:
                return means[g]
            same_head = sorted(by_head.get(g[0], []))
            return same_head[len(same_head) // 2] if same_head else mean_all

        todo = sum(n * mean(g) for g, n in self.pending.items())
        wall_per_cell_second = (time.perf_counter() - self.t0) / self.cell_seconds
        return todo * wall_per_cell_second

    def line(self) -> str:
        eta = self.eta_seconds()
        done = self.done_before + self.n_done
        return (f"progress: {done}/{self.total} cells done ({self.n_done} in this run), {self.remaining} to go; "
                f"elapsed {hms(time.perf_counter() - self.t0)}, ETA {'?' if eta is None else hms(eta)}")

    def wall_seconds(self) -> float:
        return time.perf_counter() - self.t0

    def summary(self) -> str:
        """The closing line: cells run and the measured wall and cell time of this run."""
        return (f"measured: {self.n_done} cell(s) in {hms(time.perf_counter() - self.t0)} wall "
                f"({time.perf_counter() - self.t0:.0f} s; {self.cell_seconds:.0f} s of cell time)")
