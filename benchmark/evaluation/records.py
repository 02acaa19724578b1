"""Run records: one JSON line per finished (task, encoder, head, split, seed) in ``runs.jsonl``.

A record is built in one place, :class:`RunRecord`; ``schema_version`` numbers its layout
(``docs/records.md`` lists every field). Rows of an older layout are upgraded when read
(:func:`upgrade`), so every reader sees the current one.

``runs.jsonl`` is the source of truth. Writers append whole lines under an exclusive file
lock (``runs.jsonl.lock``, via ``filelock``) with a single ``write`` and an ``fsync``, so
concurrent ``geobench run`` processes never interleave or lose rows and a killed process
never leaves a half line; a write that stops short (a full disk) is cut back to the last
whole line and raises a :class:`DataError`. Readers skip (and report) a torn trailing line from a crash of
an older writer or a foreign tool.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from filelock import FileLock, Timeout

from geobench.errors import DataError


SCHEMA_VERSION = 4
DEFAULT_RESULTS = "geobench-results"

OK, NOT_APPLICABLE = "ok", "not_applicable"


@dataclass
class RunRecord:
    """One result row. Metrics are in the task's units (R² unitless, RMSE/MAE in the target's
    unit, accuracies as fractions); ``per_continent`` maps a continent to its metrics plus ``n``;
    ``ci95`` maps the primary metric to a bootstrap ``[low, high]`` (None where undefined), made
    by ``ci_method`` (``block:deg=D``, the spatial block bootstrap over ``ci_blocks`` occupied
    test blocks, or ``iid``); ``timings`` are seconds.
    Optional fields that are None are left out of the JSON line."""

    key: str
    identity: dict
    setting: str
    task: str
    task_version: int
    task_options: dict
    kind: str
    encoder: str
    encoder_meta: dict
    head: str
    split: str
    seed: int
    n_train: int
    n_val: int
    n_test: int
    primary_metric: str
    provenance: dict
    status: str = OK
    metrics: dict = field(default_factory=dict)
    per_continent: dict = field(default_factory=dict)
    head_params: dict = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)
    schema_version: int = SCHEMA_VERSION
    reason: str | None = None
    ci95: dict | None = None
    warnings: list | None = None
    timings: dict | None = None
    predictions: str | None = None
    split_seed: int | None = None  # the split's seed (its ``seed=`` option, else ``seed``); ``seed`` drives the head
    ci_method: str | None = None  # how ci95 was made: ``block:deg=D`` or ``iid`` (rows before schema 3)
    ci_blocks: int | None = None  # occupied test blocks the block bootstrap resampled
    geo: dict | None = None  # where the errors lie: Moran's I, continent spread, score by distance (schema 4)

    def not_applicable(self, reason: str) -> "RunRecord":
        """Mark the cell as not applicable (recorded as done, never retried)."""
        self.status, self.reason = NOT_APPLICABLE, reason
        self.metrics, self.per_continent, self.head_params = {}, {}, {}
        return self

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def default_results_dir() -> Path:
    """Where ``geobench run`` and ``geobench.evaluate`` write by default: ``$GEOBENCH_RESULTS``,
    else ``geobench-results`` in the working directory. The committed reference grid in the
    repository's ``results/`` is written by ``geobench reproduce`` only."""
    return Path(os.environ.get("GEOBENCH_RESULTS") or DEFAULT_RESULTS)


# Version 1 named the checkpoints trained here like the released models; they are -bm now.
V1_RENAMES = {"satclip": "satclip-bm", "csp": "csp-bm"}


def renamed_v1(spec: str) -> str:
    """A version-1 encoder spec under its current name: ``satclip``/``csp`` without ``ckpt=``
    (the shipped checkpoints, trained here on Blue Marble) became ``satclip-bm``/``csp-bm``."""
    base, sep, opts = spec.partition(":")
    if base in V1_RENAMES and "ckpt=" not in opts:
        return V1_RENAMES[base] + sep + opts
    return spec


def upgrade(r: dict[str, Any]) -> dict[str, Any]:
    """A record in the current layout; ``upgraded_from`` says which layout it was read from.

    Version 1 (no ``schema_version``) had a key of the names only; its identity is rebuilt from
    the stored fields, with the head's options unknown (``params``/``tune``/``version`` None, as
    version 1 did not record them), so an upgraded row never stands in for a cell run now. The
    checkpoints trained here get their current names (:func:`renamed_v1`); ``legacy_key`` keeps
    its key. Versions 1 and 2 resampled test points i.i.d. for ``ci95``: a row with a CI gets
    ``ci_method`` ``iid``. Its identity has no ``ci`` part, so it never stands in for a cell of
    the block bootstrap (the default since version 3) either."""
    version = r.get("schema_version", 1)
    if version >= SCHEMA_VERSION:
        return r
    if version < 2:
        r = _upgrade_v1(r)
    if any(v is not None for v in (r.get("ci95") or {}).values()):
        r = {"ci_method": "iid", **r}
    return {**r, "schema_version": SCHEMA_VERSION, "upgraded_from": version}


def _upgrade_v1(r: dict[str, Any]) -> dict[str, Any]:
    """A version-1 row in the layout of version 2 (identity, setting, key; see :func:`upgrade`)."""
    from geobench.evaluation.identity import cell_key, setting_of

    r = {**r, "encoder": renamed_v1(r["encoder"])}
    prov = r.get("provenance") or {}
    weights = prov.get("weights_sha256") or (r.get("encoder_meta") or {}).get("weights_sha256")
    identity = {"task": {"name": r["task"], "version": r.get("task_version"), "options": r.get("task_options") or {},
                         "points_sha256": prov.get("points_sha256")},
                "encoder": {"spec": r["encoder"], "weights_sha256": weights},
                "head": {"name": r["head"], "params": None, "tune": None, "version": None},
                "split": r["split"], "seed": r["seed"]}
    return {**r, "legacy_key": r["key"], "identity": identity, "setting": setting_of(identity),
            "key": cell_key(identity, r["task"], r["encoder"], r["head"], r["split"], r["seed"])}


def append_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Append records atomically (one locked write of whole lines, then fsync). If the write
    stops short (a full disk) or the fsync fails, the file is cut back to where it ended, so no
    torn row is left, and a :class:`DataError` names the folder and the fix."""
    from geobench.cache import write_error

    lines = "".join(json.dumps(r, sort_keys=True, default=_json_default) + "\n" for r in records)
    if not lines:
        return
    path = Path(path)
    _not_a_folder(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(path, e) from e
    with runs_lock(path):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise write_error(path, e) from e
        try:
            start = os.fstat(fd).st_size
            # A previous crash could have left a line without its newline: start on a fresh line.
            if start > 0:
                with open(path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        lines = "\n" + lines
            try:
                _write_all(fd, lines.encode())
                os.fsync(fd)
            except OSError as e:
                raise write_error(path, e, _cut_back(fd, start)) from e
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until all of ``data`` is written; a write that makes no progress is a full disk."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[n:]


def _cut_back(fd: int, size: int) -> str:
    """Truncate the file back to ``size`` bytes (its last whole line); what to tell the user."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
        return "the row was not saved and the file was cut back to its last whole line (earlier rows are kept)"
    except OSError as e:
        return f"a partial row may be left at its end (readers skip it; cutting it off failed: {e.strerror})"


def _not_a_folder(path: Path) -> None:
    if path.is_dir():
        raise DataError(f"{path} is a folder, but the results file runs.jsonl must be a file: move that folder "
                        "away, or pass --results another results folder")


@contextlib.contextmanager
def runs_lock(path: Path) -> Iterator[FileLock]:
    """Hold the lock ``<path>.lock``, acquired within ``$GEOBENCH_LOCK_TIMEOUT``
    seconds (default 60); a lock held longer (a hung writer) raises a DataError naming the file."""
    lock = FileLock(str(path) + ".lock", timeout=float(os.environ.get("GEOBENCH_LOCK_TIMEOUT", "60")))
    try:
        lock.acquire()
    except Timeout:
        raise DataError(f"waited {lock.timeout:.0f}s for the lock {lock.lock_file}: another geobench process is "
                        "writing this results folder, or hung. Wait for it or stop it; if none is running, delete "
                        "the lock file. GEOBENCH_LOCK_TIMEOUT sets the wait in seconds") from None
    try:
        yield lock
    finally:
        lock.release()


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def read_records(path: Path, *, warn: bool = True) -> list[dict[str, Any]]:
    """All complete records in file order, in the current layout (see :func:`upgrade`). Torn
    or invalid lines (not JSON, or not an object with a string ``key``) are skipped with a warning."""
    path = Path(path)
    if not path.exists():
        return []
    _not_a_folder(path)
    out, bad = [], 0
    with open(path, "rb") as f:
        for line in f:
            rec = parse_line(line)
            if rec is None:
                bad += 1
            else:
                out.append(rec)
    if bad and warn:
        warnings.warn(f"{path}: skipped {bad} incomplete or invalid line(s)", stacklevel=2)
    return out


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One ``runs.jsonl`` line as a record in the current layout, or None: torn (no final
    newline), not JSON, or valid JSON but not a result row (a foreign tool, a hand edit)."""
    if not line.endswith(b"\n"):
        return None
    try:
        return _as_record(json.loads(line))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


REQUIRED = ("key", "task", "encoder", "head", "split", "seed")  # every layout; version 2 adds identity, setting


def _as_record(r: Any) -> dict[str, Any] | None:
    """``r`` upgraded to the current layout, or None if it is not a result row."""
    if not (isinstance(r, dict) and isinstance(r.get("key"), str) and all(k in r for k in REQUIRED)):
        return None
    r = upgrade(r)
    return r if isinstance(r.get("identity"), dict) and isinstance(r.get("setting"), str) else None


def done_keys(path: Path) -> set[str]:
    """Keys of finished records (``ok`` or ``not_applicable``)."""
    return {r["key"] for r in read_records(path, warn=False) if r.get("status") in ("ok", "not_applicable")}


def latest_by_key(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Keep the newest record per key (file order = time order). Returns (records, n_dropped)."""
    last: dict[str, dict] = {}
    for r in records:
        last[r["key"]] = r
    return list(last.values()), len(records) - len(last)
