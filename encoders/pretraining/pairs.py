"""Training pairs for contrastive pretraining: locations, image side, train/validation split.

Locations are (N, 2) float64 (lon, lat) degrees. Default source: ``n_pairs`` area-uniform
land points (:func:`training_locations`, seeded by ``data_seed``) with frozen teacher features
of Blue Marble crops around them (:mod:`.teachers`); ``s2_root`` takes the locations and tiles
of an S2-100K folder instead. The split is a seeded (``seed``) permutation: ``val_frac`` of the
pairs validate, the rest train. Teacher features are z-scored (or PCA-whitened) with
statistics of the training part only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from geobench.errors import InputError

from .config import PretrainConfig


@dataclass
class PreparedPairs:
    lonlat: np.ndarray  # (N, 2) lon, lat degrees
    feats: np.ndarray | None  # (N, D) processed frozen teacher features (z-scored / PCA-whitened)
    images: np.ndarray | None  # (N, C, s, s) uint8 for the end-to-end CNN
    train_idx: np.ndarray
    val_idx: np.ndarray
    meta: dict


def training_locations(n: int, seed: int = 1, mask: str = "auto") -> np.ndarray:
    """``n`` area-uniform land points (lon, lat) degrees. The land mask only selects locations."""
    from geobench.tasks.sampling import sample_land

    return sample_land(int(n), seed=int(seed), mask=mask)


def prepare_pairs(cfg: PretrainConfig) -> PreparedPairs:
    """Locations, teacher features (cached) and the seeded 90/10 split."""
    from .teachers import bmng_crops_uint8, bmng_teacher_features, imagery_sha256, s2_teacher_features

    t0 = time.perf_counter()
    images = None
    if cfg.s2_root:
        teacher = "resnet18" if cfg.vision_weights else "rcf"
        lonlat, raw, meta = s2_teacher_features(cfg.s2_root, teacher=teacher, k=cfg.rcf_k, seed=cfg.teacher_seed,
                                                vision_weights=cfg.vision_weights or None, threads=cfg.threads)
        if cfg.n_pairs < lonlat.shape[0]:
            lonlat, raw = lonlat[: cfg.n_pairs], raw[: cfg.n_pairs]
    else:
        lonlat = training_locations(cfg.n_pairs, seed=cfg.data_seed, mask=cfg.land_mask)
        meta = {"source": "bmng", "imagery_sha256": imagery_sha256(), "land_mask": cfg.land_mask}
        rcf_teacher = "rcf" if cfg.teacher == "cnn" else cfg.teacher
        raw = None
        if cfg.teacher != "cnn" or cfg.soft_targets:
            raw, tmeta = bmng_teacher_features(lonlat, teacher=rcf_teacher, crop=cfg.crop, k=cfg.rcf_k,
                                               seed=cfg.teacher_seed, jitter_px=cfg.jitter, flip=cfg.flip,
                                               aug_seed=cfg.data_seed, threads=cfg.threads)
            meta["teacher"] = tmeta
        if cfg.teacher == "cnn":
            images = bmng_crops_uint8(lonlat, cfg.crop)
    n = lonlat.shape[0]
    if n < 3:
        raise InputError(f"only {n} pairs; contrastive pretraining needs at least 3 (2 train, 1 validation)")
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(n)
    n_val = min(n - 2, max(1, int(round(cfg.val_frac * n))))
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    feats = None
    if raw is not None:
        feats, nmeta = process_features(raw, train_idx, cfg.pca)
        meta["features"] = nmeta
    meta["teacher_seconds"] = round(time.perf_counter() - t0, 1)
    meta["n_pairs"], meta["n_train"], meta["n_val"] = int(n), int(train_idx.size), int(val_idx.size)
    return PreparedPairs(lonlat, feats, images, train_idx, val_idx, meta)


def process_features(raw: np.ndarray, train_idx: np.ndarray, pca: int = 0) -> tuple[np.ndarray, dict]:
    """Z-score teacher features with train statistics; ``pca > 0`` keeps that many
    PCA-whitened components (unit variance on train)."""
    x = np.asarray(raw, dtype=np.float64)
    mu = x[train_idx].mean(axis=0)
    sd = x[train_idx].std(axis=0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    z = (x - mu) / sd
    meta: dict[str, Any] = {"raw_dim": int(x.shape[1])}
    if pca:
        k = min(int(pca), z.shape[1])
        zt = z[train_idx]
        lam, vec = np.linalg.eigh(zt.T @ zt / zt.shape[0])
        order = np.argsort(lam)[::-1][:k]
        lam, vec = lam[order], vec[:, order]
        z = (z @ vec) / np.sqrt(np.maximum(lam, 1e-8))
        meta.update(pca=k, explained=float(lam.sum() / max(1e-12, np.trace(zt.T @ zt / zt.shape[0]))))
    meta["dim"] = int(z.shape[1])
    return np.ascontiguousarray(z, dtype=np.float32), meta


__all__ = ["PreparedPairs", "prepare_pairs", "process_features", "training_locations"]
