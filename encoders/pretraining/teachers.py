"""Image side of the training pairs: frozen image-teacher features and crops.

Locations are (N, 2) (lon, lat) degrees. Two image sources:

* **Blue Marble** (default): ``imagery/bmng.jpg`` (5400 x 2700 RGB, ~7.4 km/px). Training
  locations are area-uniform land points (:func:`.pairs.training_locations`); each
  gets a crop centred on it (:func:`geobench.encoders.imagery.iter_crops`).
* **Sentinel-2** in the S2-100K layout (``--s2-root``): the index's locations and 12-band tiles
  (:class:`geobench.encoders.imagery.S2Dataset`).

Leakage rule. Image tensors are computed from imagery pixels only (Blue Marble or S2 tiles).
Label rasters (elevation, population) and land-cover products are never image channels.
The land mask used to *sample locations* (``countries/land-10m.json``, or the no-data mask of
``elevation/Altitude.h5`` as a fallback) decides only where points are drawn; its values
never enter an image. ``tests/encoders/test_pretraining.py`` checks this by recording every declared
file fetched during a tiny run.

Teachers (frozen, features cached as ``.npy`` under ``<GEOBENCH_CACHE>/pretrain/teacher``,
keyed by the imagery checksum, the locations and all options):

* ``rcf``: MOSAIKS random convolutional features (:class:`geobench.encoders.rcf.RCFeaturizer`,
  ``k`` filters of 3 x 3 -> ``2k`` features) of a ``crop``-px crop.
* ``rcf-multiscale``: RCF of 16, 32 and 64 px crops (64 px average-pooled to 32 px), one
  featurizer per scale, concatenated (``6k`` features).
* ``resnet18`` (S2 with ``--vision-weights``): the pooled 512-d output of a user-supplied
  ResNet-18 backbone (:mod:`geobench.encoders.satclip.vision`).

The end-to-end ``cnn`` teacher (trained jointly) needs the crops themselves:
:func:`bmng_crops_uint8`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from geobench.errors import InputError

log = logging.getLogger(__name__)

TEACHER_VERSION = 1
MULTISCALE = (16, 32, 64)
RCF_FIT_IMAGES = 10_000  # crops used to fit the RCF filters and whitening


def imagery_sha256() -> str:
    """Declared sha256 of the Blue Marble image (the teacher cache key)."""
    from geobench.data import checksums
    from geobench.encoders.imagery import BMNG_NAME

    return checksums([BMNG_NAME])[BMNG_NAME]


def code_sha256() -> str:
    """Hash of the source of the crop and RCF code: a change there invalidates cached features."""
    import inspect

    from geobench.encoders import imagery, rcf

    h = hashlib.sha256()
    for mod in (imagery, rcf):
        h.update(inspect.getsource(mod).encode())
    return h.hexdigest()[:16]


def _pool(x: np.ndarray, f: int) -> np.ndarray:
    """Average-pool (n, C, H, W) by an integer factor ``f``."""
    if f == 1:
        return x
    n, c, h, w = x.shape
    return x.reshape(n, c, h // f, f, w // f, f).mean(axis=(3, 5), dtype=np.float32)


def _rcf_scale(lonlat: np.ndarray, crop: int, k: int, seed: int, pool: int, jitter_px: int, flip: bool,
               aug_seed: int, fit_images: int, threads: int) -> np.ndarray:
    """RCF features of ``crop``-px crops (average-pooled by ``pool``); the filters are fitted on
    the first ``fit_images`` crops (locations are random already), so features of a prefix of
    the locations equal the prefix of the features (without augmentation)."""
    from tqdm.auto import tqdm

    from geobench.encoders.imagery import crops, iter_crops
    from geobench.encoders.rcf import RCFeaturizer

    n = lonlat.shape[0]
    fit_imgs = _pool(crops(lonlat[: min(n, fit_images)], crop), pool)
    rcf = RCFeaturizer(k, patch=3, seed=seed, threads=threads).fit(fit_imgs)
    del fit_imgs
    out = np.empty((n, rcf.dim), dtype=np.float32)
    s = 0
    rng = np.random.default_rng(aug_seed) if (jitter_px or flip) else None
    with tqdm(total=n, desc=f"teacher rcf {crop}px", unit="crop", leave=False, disable=n < 20_000) as bar:
        for part in iter_crops(lonlat, crop, chunk=4096, jitter_px=jitter_px, flip=flip, rng=rng):
            out[s : s + part.shape[0]] = rcf.transform(_pool(part, pool))
            s += part.shape[0]
            bar.update(part.shape[0])
    return out


def _cache_dir() -> Path:
    from geobench.cache import cache_dir

    return cache_dir("pretrain", "teacher")


def _cache_stem(kind: str, key: dict) -> str:
    """``<kind>-<20 hex of sha256(key as sorted JSON)>``: cached files add ``-n<N>.npy``."""
    return f"{kind}-{hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]}"


def _find_cached(kind: str, key: dict, lonlat: np.ndarray, allow_prefix: bool) -> np.ndarray | None:
    """Features cached for ``lonlat`` or, if ``allow_prefix``, for a longer list starting with it."""
    n = lonlat.shape[0]
    for f in sorted(_cache_dir().glob(f"{_cache_stem(kind, key)}-n*.npy")):
        if f.name.endswith(".lonlat.npy"):
            continue
        try:
            m = int(f.stem.rsplit("-n", 1)[1])
        except ValueError:
            continue
        if m < n or (m > n and not allow_prefix):
            continue
        ll = f.with_name(f.stem + ".lonlat.npy")
        try:
            cached_ll = np.load(ll, allow_pickle=False)
            if not np.array_equal(cached_ll[:n], lonlat):
                continue
            feats = np.load(f, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError):
            continue
        if feats.shape[0] == m:
            return np.ascontiguousarray(feats[:n])
    return None


def _store_cached(kind: str, key: dict, lonlat: np.ndarray, feats: np.ndarray) -> Path:
    from geobench.cache import atomic_save_npy

    path = _cache_dir() / f"{_cache_stem(kind, key)}-n{lonlat.shape[0]}.npy"
    atomic_save_npy(path.with_name(path.stem + ".lonlat.npy"), lonlat)
    atomic_save_npy(path, feats)
    return path


def bmng_teacher_features(lonlat: np.ndarray, *, teacher: str = "rcf", crop: int = 32, k: int = 256,
                          seed: int = 0, jitter_px: int = 0, flip: bool = False, aug_seed: int = 0,
                          fit_images: int = RCF_FIT_IMAGES, threads: int = 2,
                          use_cache: bool = True) -> tuple[np.ndarray, dict]:
    """Frozen teacher features (N, D) float32 of Blue Marble crops around ``lonlat``; cached.

    ``teacher``: ``rcf`` (``crop`` px, ``2k`` features) or ``rcf-multiscale`` (16/32/64 px,
    ``6k`` features). ``seed`` fixes the RCF filters; ``jitter_px``/``flip`` augment each crop
    once (``aug_seed``). The cache (``.npy`` keyed by the imagery sha256 and every option) also
    serves a prefix of previously featurised locations. Returns (features, meta).
    """
    if teacher not in ("rcf", "rcf-multiscale"):
        raise InputError(f"unknown frozen Blue Marble teacher {teacher!r}; use rcf or rcf-multiscale")
    lonlat = np.ascontiguousarray(lonlat, dtype=np.float64)
    augment = bool(jitter_px or flip)
    key = {"v": TEACHER_VERSION, "imagery": imagery_sha256(), "code": code_sha256(), "teacher": teacher,
           "crop": crop if teacher == "rcf" else list(MULTISCALE), "k": k, "seed": seed, "jitter": jitter_px,
           "flip": flip, "aug_seed": aug_seed if augment else None,
           "fit_images": min(lonlat.shape[0], fit_images)}
    meta: dict = {"key": key}
    if use_cache:
        got = _find_cached("bmng", key, lonlat, allow_prefix=not augment)
        if got is not None:
            meta["cached"] = True
            return got, meta
    t0 = time.perf_counter()
    if teacher == "rcf":
        feats = _rcf_scale(lonlat, crop, k, seed, 1, jitter_px, flip, aug_seed, fit_images, threads)
    else:
        parts = []
        for i, s in enumerate(MULTISCALE):
            pool = max(1, s // 32)
            parts.append(_rcf_scale(lonlat, s, k, seed + i, pool, jitter_px, flip, aug_seed + i, fit_images, threads))
        feats = np.concatenate(parts, axis=1)
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    meta["cached"] = False
    if use_cache:
        meta["cache_file"] = str(_store_cached("bmng", key, lonlat, feats))
    return feats, meta


def bmng_crops_uint8(lonlat: np.ndarray, crop: int = 32) -> np.ndarray:
    """Blue Marble crops (N, 3, crop, crop) uint8 (for an end-to-end image tower)."""
    from geobench.encoders.imagery import iter_crops

    out = np.empty((lonlat.shape[0], 3, crop, crop), dtype=np.uint8)
    s = 0
    for part in iter_crops(lonlat, crop):
        out[s : s + part.shape[0]] = np.rint(part * 255.0).astype(np.uint8)
        s += part.shape[0]
    return out


def s2_images(root: str | Path, crop: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All tiles of an S2-100K-layout folder: (lonlat (N, 2), images (N, 12, H, W) float32 DN/10000).

    ``crop > 0`` keeps the central ``crop`` x ``crop`` pixels of each tile.
    """
    from geobench.encoders.imagery import S2Dataset

    ds = S2Dataset(Path(root))
    imgs = []
    for i in range(len(ds)):
        img, _ = ds[i]
        if crop:
            h, w = img.shape[1:]
            if crop > min(h, w):
                raise InputError(f"--crop {crop} is larger than the S2 tile ({h} x {w} px)")
            r0, c0 = (h - crop) // 2, (w - crop) // 2
            img = img[:, r0 : r0 + crop, c0 : c0 + crop]
        imgs.append(img)
    shapes = {im.shape for im in imgs}
    if len(shapes) != 1:
        raise InputError(f"S2 tiles have different shapes {sorted(shapes)}; pass --crop to cut them to one size")
    return ds.lonlat.copy(), np.stack(imgs).astype(np.float32)


def s2_teacher_features(root: str | Path, *, teacher: str = "rcf", crop: int = 0, k: int = 256, seed: int = 0,
                        vision_weights: str | None = None, threads: int = 2) -> tuple[np.ndarray, np.ndarray, dict]:
    """(lonlat, frozen features, meta) for an S2-100K folder.

    ``teacher="rcf"``: RCF on the 12 bands (fitted on these tiles). ``teacher="resnet18"``:
    the pooled 512-d output of the ResNet-18 backbone in ``vision_weights`` (12-band tiles get
    a zero B10 band when the backbone expects 13 channels).
    """
    lonlat, imgs = s2_images(root, crop)
    meta: dict = {"source": "s2", "root": str(root), "n_tiles": int(lonlat.shape[0]), "tile_shape": list(imgs.shape[1:])}
    if teacher == "resnet18":
        if not vision_weights:
            raise InputError("teacher resnet18 needs --vision-weights PATH (a ResNet-18 state_dict)")
        from geobench.encoders.satclip.vision import load_resnet18

        net = load_resnet18(vision_weights)
        feats = net.features(imgs, threads=threads)
        meta.update({"teacher": "resnet18", "vision_weights": str(vision_weights), "in_channels": net.in_channels})
    elif teacher == "rcf":
        from geobench.encoders.rcf import RCFeaturizer

        rcf = RCFeaturizer(k, patch=3, seed=seed, threads=threads, n_whiten=min(20_000, 4096 * len(imgs)))
        feats = rcf.fit(imgs).transform(imgs)
        meta.update({"teacher": "rcf", "k": k})
    else:
        raise InputError(f"teacher {teacher!r} is not available for Sentinel-2 pairs; use rcf or resnet18")
    return lonlat, np.ascontiguousarray(feats, dtype=np.float32), meta


__all__ = ["bmng_teacher_features", "bmng_crops_uint8", "s2_images", "s2_teacher_features", "imagery_sha256",
           "MULTISCALE"]
