"""Embed a point set once and cache it.

Cache layout: ``$GEOBENCH_CACHE/emb/<encoder-id>/<points-sha256[:16]>.npy`` (float32, row
order = the task's points) plus a ``.json`` sidecar with the encoder spec, the points'
sha256, the shape and the embedding time. The encoder id includes its options and weights
checksum, so a changed encoder never reuses a stale file. A user-supplied encoder (a callable
or an object, ``meta["kind"] == "user"``) is keyed, like a cell's identity, by the fingerprint
of its code and its ``version``: editing the function recomputes, and re-running an unchanged
(even non-deterministic) one overwrites its one entry instead of adding another.

A cached file is checked before use: one holding NaN/inf (damaged on disk, or edited) is
refused with a message naming the file, never blamed on the encoder.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import numpy as np

from geobench.cache import atomic_save_npy, atomic_write_json, cache_dir, status
from geobench.encoding.encoder import Encoder, check_embedding, encoder_id, spec_of
from geobench.errors import DataError, InputError

EMBED_NOTICE_S = 3.0  # an embedding still running after this many seconds is announced, then every 30 s


@contextlib.contextmanager
def embedding_notice(what: str):
    """Status lines (:func:`geobench.cache.status`) while a slow embedding runs: one after
    ``EMBED_NOTICE_S`` seconds, then every 30 s, and a closing ``done`` line; silent when fast."""
    t0, stop, shown = time.perf_counter(), threading.Event(), []

    def beat() -> None:
        wait = EMBED_NOTICE_S
        while not stop.wait(wait):
            status(f"{what}: still running after {time.perf_counter() - t0:.0f}s" if shown else f"{what} ...")
            shown.append(1)
            wait = 30.0

    th = threading.Thread(target=beat, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
        if shown:
            status(f"{what}: done in {time.perf_counter() - t0:.1f}s")


def embedding_path(enc: Encoder, points_sha: str) -> Path:
    return cache_dir("emb", encoder_id(enc)) / f"{points_sha[:16]}.npy"


def cached_embedding(enc: Encoder, points_sha: str) -> tuple[Path, dict] | None:
    """(path, sidecar) of a valid cached embedding, or None. Raises DataError, naming the file,
    if it holds NaN/inf."""
    p = embedding_path(enc, points_sha)
    side = p.with_suffix(".json")
    if not (p.exists() and side.exists()):
        return None
    try:  # anything unreadable (zero bytes after a power loss, truncated, garbled) is a miss
        meta = json.loads(side.read_text())
        arr = np.load(p, mmap_mode="r", allow_pickle=False)
        ok = (isinstance(meta, dict) and meta.get("points_sha256") == points_sha
              and list(arr.shape) == meta.get("shape") and arr.dtype == np.float32)
    except Exception:
        return None
    if not ok:
        return None
    _check_finite(arr, p, spec_of(enc))
    return p, meta


def _check_finite(arr: np.ndarray, p: Path, spec: str, chunk: int = 1 << 16) -> None:
    """Refuse a cached embedding with NaN/inf (checked in row chunks: the file is memory-mapped)."""
    for s in range(0, arr.shape[0], chunk):
        block = np.asarray(arr[s : s + chunk])
        if not np.isfinite(block).all():
            row = s + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            raise DataError(f"the cached embedding {p} (encoder {spec!r}) holds NaN/inf (first at row {row}); "
                            "the file was damaged or edited after it was written. Delete it, or re-run with "
                            "--force, to compute it again")


def embed(enc: Encoder, lonlat: np.ndarray, points_sha: str, *, force: bool = False) -> tuple[Path, dict]:
    """Embed ``lonlat`` ((N, 2) lon/lat degrees) with ``enc`` unless cached (``force``: always
    recompute and overwrite the cache); return (path, sidecar).

    Embeddings are validated (shape, finite, also after the cast to float32) and stored as float32.
    """
    if not force:
        hit = cached_embedding(enc, points_sha)
        if hit is not None:
            if getattr(enc, "dim", 0) is None:  # a user callable not called yet: its dim is the cached one
                enc.dim = int(hit[1]["shape"][1])
            return hit
    t0 = time.perf_counter()
    with embedding_notice(f"embedding {lonlat.shape[0]} points with {spec_of(enc)}"):
        out = enc.encode(lonlat)
    emb = check_embedding(enc, out, lonlat.shape[0])
    seconds = time.perf_counter() - t0
    with np.errstate(over="ignore"):  # reported below, naming the encoder
        emb = np.ascontiguousarray(emb, dtype=np.float32)
    if not np.isfinite(emb).all():
        spec = spec_of(enc)
        raise InputError(f"encoder {spec!r} returned values beyond the float32 range (|x| > 3.4e38); "
                         "rescale its output")
    p = embedding_path(enc, points_sha)
    meta = {"encoder": spec_of(enc), "encoder_id": p.parent.name,
            "points_sha256": points_sha, "shape": list(emb.shape), "embed_seconds": round(seconds, 4),
            "weights_sha256": enc.meta.get("weights_sha256")}
    atomic_save_npy(p, emb)
    atomic_write_json(p.with_suffix(".json"), meta)
    return p, meta
