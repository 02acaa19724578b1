"""Run records: one JSON line per finished (task, encoder, head, split, seed) in ``runs.jsonl``.

``runs.jsonl`` is the source of truth. Writers append whole lines under an exclusive file
lock (``runs.jsonl.lock``, via ``filelock``) with a single ``write`` and an ``fsync``, so
concurrent ``geobench run`` processes never interleave or lose rows and a killed process
never leaves a half line. Readers skip (and report) a torn trailing line from a crash of
an older writer or a foreign tool.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable

from filelock import FileLock

from .errors import DataError


def record_key(task: str, encoder: str, head: str, split: str, seed: int, task_options: dict | None = None) -> str:
    """The identity of a result row. Task options other than the defaults are part of it."""
    opts = "" if not task_options else json.dumps(task_options, sort_keys=True)
    return "|".join([task, encoder, head, split, str(seed), opts])


def append_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Append records atomically (one locked write of whole lines, then fsync)."""
    lines = "".join(json.dumps(r, sort_keys=True, default=_json_default) + "\n" for r in records)
    if not lines:
        return
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot write {path}: folder {path.parent} cannot be created ({e.strerror}); "
                        "pass --results a writable folder") from e
    with FileLock(str(path) + ".lock"):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # A previous crash could have left a line without its newline: start on a fresh line.
            if os.fstat(fd).st_size > 0:
                with open(path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        lines = "\n" + lines
            os.write(fd, lines.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def read_records(path: Path, *, warn: bool = True) -> list[dict[str, Any]]:
    """All complete records in file order. Torn or invalid lines (not JSON, or not an object
    with a string ``key``) are skipped with a warning."""
    path = Path(path)
    if not path.exists():
        return []
    out, bad = [], 0
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                bad += 1
                continue
            try:
                r = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                bad += 1
                continue
            if isinstance(r, dict) and isinstance(r.get("key"), str):
                out.append(r)
            else:  # valid JSON but not a result row (a foreign tool, a hand edit)
                bad += 1
    if bad and warn:
        warnings.warn(f"{path}: skipped {bad} incomplete or invalid line(s)", stacklevel=2)
    return out


def done_keys(path: Path) -> set[str]:
    """Keys of finished records (``ok`` or ``not_applicable``)."""
    return {r["key"] for r in read_records(path, warn=False) if r.get("status") in ("ok", "not_applicable")}


def latest_by_key(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Keep the newest record per key (file order = time order). Returns (records, n_dropped)."""
    last: dict[str, dict] = {}
    for r in records:
        last[r["key"]] = r
    return list(last.values()), len(records) - len(last)
