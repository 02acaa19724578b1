"""Embed a point set once and cache it.

Cache layout: ``$GEOBENCH_CACHE/emb/<encoder-id>/<points-sha256[:16]>.npy`` (float32, row
order = the task's points) plus a ``.json`` sidecar with the encoder spec, the points'
sha256, the shape and the embedding time. The encoder id includes its options and weights
checksum, so a changed encoder never reuses a stale file.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .cache import atomic_save_npy, atomic_write_json, cache_dir
from .encoding import Encoder, check_embedding, encoder_id


def embedding_path(enc: Encoder, points_sha: str) -> Path:
    return cache_dir("emb", encoder_id(enc)) / f"{points_sha[:16]}.npy"


def cached_embedding(enc: Encoder, points_sha: str) -> tuple[Path, dict] | None:
    """(path, sidecar) of a valid cached embedding, or None."""
    p = embedding_path(enc, points_sha)
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

    Embeddings are validated (shape, finite) and stored as float32.
    """
    if not force:
        hit = cached_embedding(enc, points_sha)
        if hit is not None:
            return hit
    t0 = time.perf_counter()
    emb = check_embedding(enc, enc.encode(lonlat), lonlat.shape[0])
    seconds = time.perf_counter() - t0
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    p = embedding_path(enc, points_sha)
    meta = {"encoder": enc.meta.get("spec", enc.name), "encoder_id": encoder_id(enc),
            "points_sha256": points_sha, "shape": list(emb.shape), "embed_seconds": round(seconds, 4),
            "weights_sha256": enc.meta.get("weights_sha256")}
    atomic_save_npy(p, emb)
    atomic_write_json(p.with_suffix(".json"), meta)
    return p, meta
