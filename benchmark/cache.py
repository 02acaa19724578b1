"""Files on disk: cache locations, atomic writes, file hashes and file-safe names.

The cache root is ``$GEOBENCH_CACHE`` (default ``~/.cache/geobench``). Nothing is
created at import time; directories are made on first write, so a complete read-only cache
can be read. Writes are atomic and durable (temp file, fsync, rename, fsync of the folder).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from geobench.errors import DataError


def cache_root() -> Path:
    """The cache root directory (not created here)."""
    return Path(os.environ.get("GEOBENCH_CACHE", Path.home() / ".cache" / "geobench")).expanduser()


def cache_dir(*parts: str) -> Path:
    """``cache_root()/parts...``, neither created nor checked here: :func:`atomic_path` makes
    the folder (with a clear error if it cannot) when a file is written into it, so a complete
    read-only cache (a shared one, say) can be read."""
    return cache_root().joinpath(*parts)


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def is_no_space(e: BaseException) -> bool:
    """True if ``e`` says the disk (or the user's quota) is full."""
    return isinstance(e, OSError) and (e.errno in NO_SPACE or "No space left on device" in str(e))


def _under(p: Path, root: Path) -> bool:
    try:
        Path(p).resolve().relative_to(root.resolve())
        return True
    except (OSError, ValueError):
        return False


def write_error(dest: Path, e: OSError, note: str = "") -> DataError:
    """A :class:`DataError` for a failed write of ``dest``, naming the file, the cause and the
    fix (free space, or write elsewhere: ``GEOBENCH_CACHE`` for the cache, ``--results`` else)."""
    dest = Path(dest)
    where = "set GEOBENCH_CACHE to" if _under(dest, cache_root()) else "pass --results"
    note = f"; {note}" if note else ""
    if is_no_space(e):
        return DataError(f"cannot write {dest}: no space left on the disk holding {dest.parent}{note}. "
                         f"Free space there, or {where} a folder on another disk, and run again")
    why = e.strerror or str(e)
    return DataError(f"cannot write {dest}: folder {dest.parent} cannot be created or written ({why}){note}; "
                     f"{where} a writable folder")


# Temporary files of atomic writes are named ``.<dest name>.<random>.<host>-<pid>.tmp``, so that
# a later writer can tell those of dead processes (killed mid-write) from those still being written.
_HOST = "".join(c if c.isalnum() or c == "-" else "_" for c in socket.gethostname()) or "host"
_TAGGED = re.compile(r"^\..+\.(?P<host>[\w-]+)-(?P<pid>\d+)\.tmp$")
_UNTAGGED = re.compile(r"^\..+\.\w{8}\.tmp$")  # written before the tag; removed when a day old
UNTAGGED_MAX_AGE = 86400.0
_swept: set[str] = set()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # (os.kill would terminate on Windows: never guess there)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def _is_stale(p: Path) -> bool:
    m = _TAGGED.match(p.name)
    if m:
        return m["host"] == _HOST and not _pid_alive(int(m["pid"]))
    if _UNTAGGED.match(p.name):
        try:
            return time.time() - p.stat().st_mtime > UNTAGGED_MAX_AGE
        except OSError:
            return False
    return False


def remove_stale_tmp(folder: Path, *, recursive: bool = False) -> int:
    """Remove the temporary files that killed writers left in ``folder`` (and below, if
    ``recursive``): those named for a process of this host that is no longer alive, and
    untagged ones (older versions) untouched for a day. A live process's file is never removed;
    files that cannot be removed (a read-only folder) are left. Returns how many were removed."""
    n = 0
    for p in (Path(folder).rglob(".*.tmp") if recursive else Path(folder).glob(".*.tmp")):
        if _is_stale(p):
            try:
                p.unlink()
                n += 1
            except OSError:
                pass
    return n


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temp path next to ``dest``; on success fsync it, rename it onto ``dest`` and
    fsync the folder, so that after a power loss ``dest`` is either the old or the whole new file.

    On any exception the temp file is removed, so no half-written file is ever visible. A full
    disk (in the caller's writes too) or an unwritable folder raise :func:`write_error`. The
    first write into a folder removes stale temp files of dead writers (:func:`remove_stale_tmp`).
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if str(dest.parent) not in _swept:
            _swept.add(str(dest.parent))
            remove_stale_tmp(dest.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f".{_HOST}-{os.getpid()}.tmp", dir=dest.parent)
    except OSError as e:
        raise write_error(dest, e) from e
    os.close(fd)
    try:
        try:
            yield Path(tmp)
        except OSError as e:
            if is_no_space(e):
                raise write_error(dest, e) from e
            raise
        try:
            _fsync(tmp, os.O_RDWR)
            os.chmod(tmp, _umask_mode())  # mkstemp makes 0600 files; give the usual permissions
            os.replace(tmp, dest)
        except OSError as e:
            raise write_error(dest, e) from e
        try:
            _fsync(dest.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:  # best effort: some file systems cannot fsync a folder
            pass
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fsync(path: str | Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
