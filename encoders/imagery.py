"""Imagery sources for image-based encoders: Blue Marble crops and S2-100K-layout tiles.

Used by SatCLIP/CSP pretraining and by the MOSAIKS baseline. Leakage rule: functions
here read only imagery (``imagery/bmng.jpg`` or Sentinel-2 tiles), never label rasters.

Blue Marble (``imagery/bmng.jpg``): RGB, 5400 x 2700 plate carree, 4 arc-min/px (about
7.4 km at the equator), row 0 at 90N, column 0 at 180W. A point (lon, lat) falls in
pixel ``col = floor((lon + 180) * 15) mod 5400``, ``row = min(floor((90 - lat) * 15), 2699)``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from geobench.coords import validate_lonlat
from geobench.errors import DataError, InputError

BMNG_NAME = "imagery/bmng.jpg"
BMNG_SHAPE = (2700, 5400, 3)
PX_PER_DEG = 15  # 4 arc-minutes per pixel


def bmng_path() -> Path:
    """Local verified path of the Blue Marble JPEG (through :func:`geobench.data.fetch`)."""
    from geobench import data

    return Path(data.fetch(BMNG_NAME))


@lru_cache(maxsize=2)
def _decode(path: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except OSError as e:
        raise DataError(f"Blue Marble image {path} cannot be decoded ({e}); delete it and fetch "
                        f"{BMNG_NAME!r} again") from e
    if arr.shape != BMNG_SHAPE:
        raise DataError(f"Blue Marble image {path} has shape {arr.shape}, expected {BMNG_SHAPE} "
                        "(H, W, RGB); fetch the declared file again")
    arr.setflags(write=False)
    return arr


def load_bmng(path: str | Path | None = None) -> np.ndarray:
    """The Blue Marble image as a read-only uint8 (2700, 5400, 3) array, decoded once per process."""
    return _decode(str(path if path is not None else bmng_path()))


def pixel_index(lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) int64 of the Blue Marble pixel containing each (lon, lat) degree point."""
    x = validate_lonlat(lonlat, what="pixel_index input")
    H, W = BMNG_SHAPE[:2]
    col = np.floor((x[:, 0] + 180.0) * PX_PER_DEG).astype(np.int64) % W
    row = np.clip(np.floor((90.0 - x[:, 1]) * PX_PER_DEG).astype(np.int64), 0, H - 1)
    return row, col


def _wrap(rows: np.ndarray, cols: np.ndarray, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """Map (possibly out-of-range) pixel grids onto the sphere.

    Crossing a pole reflects the row (``-1 - r`` or ``2H - 1 - r``) and moves 180 degrees
    in longitude, which is where the great circle continues; longitude wraps at +-180.
    """
    north, south = rows < 0, rows >= H
    rows = np.where(north, -1 - rows, np.where(south, 2 * H - 1 - rows, rows))
    cols = cols + np.where(north | south, W // 2, 0)
    return np.clip(rows, 0, H - 1), cols % W


def iter_crops(lonlat: np.ndarray, size: int = 32, *, chunk: int = 4096, jitter_px: int = 0,
               flip: bool = False, rng: np.random.Generator | int | None = None,
               image: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Yield Blue Marble crops for consecutive chunks of ``chunk`` points, in input order.

    Each chunk is float32 (n, 3, size, size) in [0, 1] (RGB). The point's pixel sits at
    ``crop[:, :, size // 2, size // 2]``. ``jitter_px`` shifts each crop centre by a uniform
    integer offset in [-jitter_px, jitter_px] per axis; ``flip`` flips each crop
    left-right and up-down independently with probability 1/2. Augmentations need ``rng``
    (a numpy Generator or an int seed). ``image`` overrides the Blue Marble array (tests).
    """
    x = validate_lonlat(lonlat, what="crops input")
    if size < 1 or size > BMNG_SHAPE[0]:
        raise InputError(f"crop size {size} px must be in [1, {BMNG_SHAPE[0]}]")
    if chunk < 1:
        raise InputError(f"chunk must be >= 1, got {chunk}")
    if (jitter_px or flip) and rng is None:
        raise InputError("jitter_px/flip are random: pass rng=np.random.default_rng(seed) or an int seed")
    if rng is not None and not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    img = load_bmng() if image is None else np.asarray(image, dtype=np.uint8)
    H, W = img.shape[:2]
    flat = img.reshape(-1, img.shape[2])
    row0, col0 = pixel_index(x)
    off = np.arange(size, dtype=np.int64) - size // 2
    for s in range(0, x.shape[0], chunk):
        r, c = row0[s : s + chunk], col0[s : s + chunk]
        n = r.shape[0]
        dr = np.broadcast_to(off, (n, size))
        dc = dr
        if jitter_px:
            r = r + rng.integers(-jitter_px, jitter_px + 1, n)
            c = c + rng.integers(-jitter_px, jitter_px + 1, n)
        if flip:
            fv, fh = rng.random(n) < 0.5, rng.random(n) < 0.5
            dr = np.where(fv[:, None], off[::-1], off)
            dc = np.where(fh[:, None], off[::-1], off)
        rows = (r[:, None] + dr)[:, :, None]  # (n, size, 1)
        cols = (c[:, None] + dc)[:, None, :]  # (n, 1, size)
        rows, cols = _wrap(np.broadcast_to(rows, (n, size, size)), np.broadcast_to(cols, (n, size, size)), H, W)
        pix = flat[rows * W + cols]  # (n, size, size, 3) uint8
        out = np.empty((n, flat.shape[1], size, size), dtype=np.float32)
        np.divide(pix.transpose(0, 3, 1, 2), np.float32(255.0), out=out, dtype=np.float32)
        yield out


def crops(lonlat: np.ndarray, size: int = 32, *, jitter_px: int = 0, flip: bool = False,
          rng: np.random.Generator | int | None = None, image: np.ndarray | None = None) -> np.ndarray:
    """All Blue Marble crops at once: float32 (N, 3, size, size) in [0, 1].

    Same arguments as :func:`iter_crops`. Memory is N * 3 * size^2 * 4 bytes (1.2 GB for
    100k crops of 32 px); use :func:`iter_crops` for large N.
    """
    x = validate_lonlat(lonlat, what="crops input")
    out = np.empty((x.shape[0], 3, size, size), dtype=np.float32)
    s = 0
    for part in iter_crops(x, size, jitter_px=jitter_px, flip=flip, rng=rng, image=image):
        out[s : s + part.shape[0]] = part
        s += part.shape[0]
    return out


# ---------------------------------------------------------------------------------------
# Sentinel-2 tiles in the S2-100K layout


@dataclass
class S2Dataset:
    """Sentinel-2 tiles in the S2-100K layout: ``root/index.csv`` (columns lat,lon,url,fn)
    and 12-band uint16 GeoTIFFs ``patch_*.tif`` in ``root/images/`` or ``root/``.

    ``ds[i]`` returns ``(image, lonlat)``: float32 (12, H, W) reflectance (DN / 10000) and
    float64 (2,) = (lon, lat) degrees. ``ds.lonlat`` is the (N, 2) (lon, lat) array.
    """

    root: Path
    lonlat: np.ndarray = field(init=False, repr=False)
    files: list[Path] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        index = self.root / "index.csv"
        if not index.is_file():
            raise DataError(f"S2 index {index} not found; root must hold index.csv with columns lat,lon,url,fn")
        with open(index, newline="") as f:
            reader = csv.DictReader(f)
            missing = {"lat", "lon", "fn"} - set(reader.fieldnames or [])
            if missing:
                raise DataError(f"S2 index {index} lacks columns {sorted(missing)}; expected lat,lon,url,fn")
            rows = list(reader)
        if not rows:
            raise DataError(f"S2 index {index} has no rows")
        lonlat = np.array([[float(r["lon"]), float(r["lat"])] for r in rows], dtype=np.float64)
        self.lonlat = validate_lonlat(lonlat, what=f"S2 index {index}")
        self.files = [self._resolve(r["fn"]) for r in rows]

    def _resolve(self, fn: str) -> Path:
        for cand in (self.root / "images" / fn, self.root / fn):
            if cand.is_file():
                return cand
        raise DataError(f"S2 tile {fn!r} listed in {self.root / 'index.csv'} is missing from "
                        f"{self.root / 'images'} and {self.root}; download it or drop its row")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        import rasterio

        path = self.files[i]
        try:
            with rasterio.open(path) as src:
                arr = src.read()
        except rasterio.errors.RasterioIOError as e:
            raise DataError(f"S2 tile {path} cannot be read ({e}); download it again") from e
        if arr.ndim != 3 or arr.shape[0] != 12:
            raise DataError(f"S2 tile {path} has shape {arr.shape}; expected 12 bands (12, H, W)")
        return arr.astype(np.float32) / np.float32(10000.0), self.lonlat[i].copy()


__all__ = ["BMNG_NAME", "BMNG_SHAPE", "S2Dataset", "bmng_path", "crops", "iter_crops", "load_bmng",
           "pixel_index"]
