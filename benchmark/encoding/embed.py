"""Embed a point set once and cache it.

Cache layout: ``$GEOBENCH_CACHE/emb/<encoder-id>/<points-sha256[:16]>.npy`` (float32, row
order = the task's points) plus a ``.json`` sidecar with the encoder spec, the points'
sha256, the shape and the embedding time. The encoder id includes its options and weights
checksum, so a changed encoder never reuses a stale file. User-supplied encoders (a callable
or an object, ``meta["kind"] == "user"``) have no options or weights to key on: their id also
holds a fingerprint of their output on 64 of the task's points, so editing the function and
running again under the same name recomputes instead of reusing the old embedding.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from pathlib import Path

import numpy as np

from geobench.cache import atomic_save_npy, atomic_write_json, cache_dir, status
from geobench.encoding.encoder import Encoder, check_embedding, encoder_id
from geobench.errors import InputError

N_FINGERPRINT = 64
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


def output_fingerprint(enc: Encoder, lonlat: np.ndarray) -> str | None:
    """For user encoders, a short hash of ``enc.encode`` on 64 evenly spaced rows of ``lonlat``
    ((N, 2) lon/lat degrees); None for registered encoders (identified by spec and weights)."""
    if enc.meta.get("kind") != "user":
        return None
    n = lonlat.shape[0]
    idx = np.unique(np.linspace(0, n - 1, min(n, N_FINGERPRINT)).astype(np.int64))
    out = np.ascontiguousarray(np.asarray(enc.encode(lonlat[idx]), dtype=np.float64))
    return hashlib.sha256(repr(out.shape).encode() + out.tobytes()).hexdigest()[:12]


def embedding_path(enc: Encoder, points_sha: str, fingerprint: str | None = None) -> Path:
    eid = encoder_id(enc) + (f"-u{fingerprint}" if fingerprint else "")
    return cache_dir("emb", eid) / f"{points_sha[:16]}.npy"


def cached_embedding(enc: Encoder, points_sha: str, fingerprint: str | None = None) -> tuple[Path, dict] | None:
    """(path, sidecar) of a valid cached embedding, or None."""
    p = embedding_path(enc, points_sha, fingerprint)
    side = p.with_suffix(".json")
    if not (p.exists() and side.exists()):
        return None
    try:
        meta = json.loads(side.read_text())
        arr = np.load(p, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if meta.get("points_sha256") != points_sha or list(arr.shape) != meta.get("shape"):
        return None
    return p, meta


def embed(enc: Encoder, lonlat: np.ndarray, points_sha: str, *, force: bool = False) -> tuple[Path, dict]:
    """Embed ``lonlat`` ((N, 2) lon/lat degrees) with ``enc`` unless cached; return (path, sidecar).

    Embeddings are validated (shape, finite, also after the cast to float32) and stored as float32.
    """
    fp = output_fingerprint(enc, lonlat)
    if not force:
        hit = cached_embedding(enc, points_sha, fp)
        if hit is not None:
            return hit
    t0 = time.perf_counter()
    with embedding_notice(f"embedding {lonlat.shape[0]} points with {enc.meta.get('spec', enc.name)}"):
        out = enc.encode(lonlat)
    emb = check_embedding(enc, out, lonlat.shape[0])
    seconds = time.perf_counter() - t0
    with np.errstate(over="ignore"):  # reported below, naming the encoder
        emb = np.ascontiguousarray(emb, dtype=np.float32)
    if not np.isfinite(emb).all():
        spec = enc.meta.get("spec", enc.name)
        raise InputError(f"encoder {spec!r} returned values beyond the float32 range (|x| > 3.4e38); "
                         "rescale its output")
    p = embedding_path(enc, points_sha, fp)
    meta = {"encoder": enc.meta.get("spec", enc.name), "encoder_id": p.parent.name,
            "points_sha256": points_sha, "shape": list(emb.shape), "embed_seconds": round(seconds, 4),
            "weights_sha256": enc.meta.get("weights_sha256")}
    atomic_save_npy(p, emb)
    atomic_write_json(p.with_suffix(".json"), meta)
    return p, meta
