"""Files on disk: cache locations, atomic writes, file hashes and file-safe names.

The cache root is ``$GEOBENCH_CACHE`` (default ``~/.cache/geobench``). Nothing is
created at import time; directories are made on first write.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from geobench.errors import DataError


def cache_root() -> Path:
    """The cache root directory (not created here)."""
    return Path(os.environ.get("GEOBENCH_CACHE", Path.home() / ".cache" / "geobench")).expanduser()


def cache_dir(*parts: str) -> Path:
    """``cache_root()/parts...``, created if missing, with a clear error if not writable."""
    p = cache_root().joinpath(*parts)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"cache directory {p} cannot be created ({e.strerror}); set GEOBENCH_CACHE to a writable folder"
        ) from e
    if not os.access(p, os.W_OK):
        raise DataError(f"cache directory {p} is not writable; set GEOBENCH_CACHE to a writable folder")
    return p


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temp path next to ``dest``; on success rename it onto ``dest``.

    On any exception the temp file is removed, so no half-written file is ever visible.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as e:
        raise DataError(
            f"cannot write {dest}: folder {dest.parent} cannot be created or written ({e.strerror}); "
            "choose a writable folder (--results, GEOBENCH_CACHE)"
        ) from e
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _umask_mode())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(dest: Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def atomic_write_json(dest: Path, obj: Any) -> None:
    atomic_write_bytes(dest, json.dumps(obj, indent=1, sort_keys=True, default=str).encode())


def atomic_save_npy(dest: Path, arr: np.ndarray) -> None:
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, arr, allow_pickle=False)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in ``chunk``-byte blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def safe_name(s: str, keep: str = "-_=.", limit: int | None = None) -> str:
    """``s`` with every character that is not alphanumeric or in ``keep`` replaced by ``_``
    (a file or metric name; lossy, so never use it alone as an identity)."""
    out = "".join(c if c.isalnum() or c in keep else "_" for c in s)
    return out[:limit] if limit else out


def status(msg: str) -> None:
    """A one-line progress message on stderr for slow first-time work (downloads, task builds),
    so a first run is never silent; ``GEOBENCH_QUIET=1`` turns it off."""
    import sys

    if os.environ.get("GEOBENCH_QUIET", "0") != "1":
        print(f"geobench: {msg}", file=sys.stderr, flush=True)
