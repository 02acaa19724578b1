"""Area-uniform random points on the sphere and on land.

Points are (N, 2) float64 arrays of (lon, lat) degrees. Longitudes are uniform on
[-180, 180); latitudes are ``arcsin`` of a uniform variable, so every patch of the sphere
of equal area is equally likely. Results are deterministic given ``seed``
(``numpy.random.default_rng``).

Land masks (``mask=``):

- ``"land10m"``: Natural Earth 1:10m land polygons (``countries/land-10m.json``, antimeridian
  fixed). Exact point-in-polygon (GEOS prepared polygon), so coasts are exact at that scale.
- ``"elevation"``: cells of the 1/12° ``elevation/Altitude.h5`` grid that are not no-data
  (255 = ocean). Coarser at coasts (±~9 km); used when land-10m.json cannot be fetched (the
  elevation file ships in the pvlib wheel, so a user with only PyPI access still has it).
- ``"auto"``: ``land10m`` if it can be fetched, else ``elevation`` (with a warning).
"""
from __future__ import annotations

import logging
import warnings
from functools import lru_cache
from typing import Callable

import numpy as np

from geobench.errors import DataError, InputError

log = logging.getLogger(__name__)

MASKS = ("auto", "land10m", "elevation")
LAND10M_FILE = "countries/land-10m.json"  # the land10m mask's declared file
_BATCH = 1 << 17  # candidates per batch; fixed, so a smaller n gives a prefix of a larger n


def _check(n: int, lat_min: float, lat_max: float) -> None:
    if int(n) != n or n < 0:
        raise InputError(f"n must be a non-negative integer, got {n!r}")
    if not (-90.0 <= lat_min < lat_max <= 90.0):
        raise InputError(f"need -90 <= lat_min < lat_max <= 90, got lat_min={lat_min}, lat_max={lat_max}")


def sphere_from_uniform(u_lon: np.ndarray, u_lat: np.ndarray, lat_min: float = -90.0,
                        lat_max: float = 90.0) -> np.ndarray:
    """(N, 2) (lon, lat) degrees, area-uniform in [lat_min, lat_max], from uniform [0, 1)
    variates ``u_lon``, ``u_lat`` (from any RNG): lon = 360 u - 180, lat = asin(uniform sine).
    The same bits on every machine (:mod:`geobench.portable`): the points' sha256 is their identity."""
    from geobench import portable

    lo, hi = (float(portable.sin(portable.radians(v))) for v in (lat_min, lat_max))
    lon = -180.0 + 360.0 * u_lon
    lat = portable.degrees(portable.asin(np.clip(lo + (hi - lo) * u_lat, -1.0, 1.0)))
    return np.column_stack([lon, np.clip(lat, lat_min, lat_max)])


def _draw(rng: np.random.Generator, n: int, lat_min: float, lat_max: float) -> np.ndarray:
    u_lon = rng.random(n)
    return sphere_from_uniform(u_lon, rng.random(n), lat_min, lat_max)


def sample_sphere(n: int, seed: int = 0, lat_min: float = -90, lat_max: float = 90) -> np.ndarray:
    """``n`` area-uniform (lon, lat) points in the latitude band [lat_min, lat_max] degrees."""
    _check(n, lat_min, lat_max)
    return _draw(np.random.default_rng(seed), int(n), float(lat_min), float(lat_max))


# --------------------------------------------------------------------------- land masks
def _land10m_contains() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import shapely

    from .geometry import land_geometry

    land = land_geometry()
    return lambda lon, lat: shapely.contains_xy(land, lon, lat)


@lru_cache(maxsize=1)
def _elevation_grid() -> np.ndarray:
    import h5py

    from geobench.data import fetch

    with h5py.File(fetch("elevation/Altitude.h5"), "r") as f:
        alt = f["Altitude"][()]
    if alt.shape != (2160, 4320):
        raise DataError(f"elevation/Altitude.h5 has shape {alt.shape}, expected (2160, 4320); re-fetch the file")
    return alt != 255  # True on land


def _elevation_contains() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    grid = _elevation_grid()
    nrow, ncol = grid.shape
    step = 180.0 / nrow  # 1/12°

    def contains(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        r = np.clip(((90.0 - lat) / step).astype(np.int64), 0, nrow - 1)
        c = np.clip(((lon + 180.0) / step).astype(np.int64), 0, ncol - 1)
        return grid[r, c]

    return contains


def resolve_mask(mask: str = "auto") -> str:
    """The concrete mask ``mask`` stands for: ``auto`` -> ``land10m`` or, failing that, ``elevation``."""
    if mask not in MASKS:
        raise InputError(f"unknown land mask {mask!r}; choose one of {', '.join(MASKS)}")
    if mask != "auto":
        return mask
    from geobench.data import fetch

    try:
        fetch(LAND10M_FILE)
        return "land10m"
    except DataError as e:
        warnings.warn(f"land mask: {LAND10M_FILE} unavailable ({e}); using the elevation grid "
                      "(elevation/Altitude.h5) instead, which is coarser at coasts", stacklevel=3)
        return "elevation"


def is_land(lon: np.ndarray, lat: np.ndarray, *, mask: str = "auto") -> np.ndarray:
    """Boolean array: is each (lon, lat) point (degrees) on land under ``mask``."""
    m = resolve_mask(mask)
    fn = _land10m_contains() if m == "land10m" else _elevation_contains()
    return np.asarray(fn(np.asarray(lon, np.float64), np.asarray(lat, np.float64)), dtype=bool)


def sample_land(n: int, seed: int = 0, lat_min: float = -90, lat_max: float = 90, *,
                mask: str = "auto") -> np.ndarray:
    """``n`` area-uniform (lon, lat) points on land, in [lat_min, lat_max] degrees.

    Draws area-uniform candidates in fixed batches and keeps those on land until ``n`` are
    found (the first ``n`` accepted, in draw order). Deterministic given ``seed`` and the
    resolved mask; ``sample_land(m, seed)`` is a prefix of ``sample_land(n, seed)`` for m < n.
    """
    _check(n, lat_min, lat_max)
    n = int(n)
    m = resolve_mask(mask)
    log.info("sample_land: %d points with land mask %s", n, m)
    contains = _land10m_contains() if m == "land10m" else _elevation_contains()
    rng = np.random.default_rng(seed)
    out, have, tries = [], 0, 0
    while have < n:
        cand = _draw(rng, _BATCH, float(lat_min), float(lat_max))
        keep = cand[np.asarray(contains(cand[:, 0], cand[:, 1]), dtype=bool)]
        out.append(keep)
        have += len(keep)
        tries += 1
        if have == 0 and tries >= 64:
            raise InputError(f"no land found in latitude band [{lat_min}, {lat_max}] after "
                             f"{tries * _BATCH} candidates; widen the band")
    pts = np.concatenate(out, axis=0)[:n] if out else np.empty((0, 2))
    return np.ascontiguousarray(pts, dtype=np.float64)


def sample_labelled(label: Callable[[np.ndarray], np.ndarray], n: int, seed: int = 0, *,
                    keep_unlabelled: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """Area-uniform global points with labels from ``label(lonlat) -> object array`` (None = no label).

    ``keep_unlabelled=True``: the ``n`` points of :func:`sample_sphere` (n, seed), unlabelled
    ones included (label None). ``False``: candidates are drawn in fixed batches and only
    labelled points are kept until exactly ``n`` are found (deterministic given ``seed``).
    Returns (lonlat (n, 2), labels (n,) object, number of candidates drawn).
    """
    _check(n, -90.0, 90.0)
    n = int(n)
    if keep_unlabelled:
        pts = sample_sphere(n, seed)
        return pts, np.asarray(label(pts), dtype=object), n
    rng = np.random.default_rng(seed)
    pts_out, lab_out, have, drawn = [], [], 0, 0
    while have < n:
        cand = _draw(rng, _BATCH, -90.0, 90.0)
        lab = np.asarray(label(cand), dtype=object)
        ok = np.array([v is not None for v in lab], dtype=bool)
        pts_out.append(cand[ok])
        lab_out.append(lab[ok])
        have += int(ok.sum())
        drawn += _BATCH
        if have == 0 and drawn >= 64 * _BATCH:
            raise InputError(f"no labelled point after {drawn} candidates; the label function labels nothing")
    pts = np.concatenate(pts_out)[:n] if pts_out else np.empty((0, 2))
    labs = np.concatenate(lab_out)[:n] if lab_out else np.empty(0, dtype=object)
    return np.ascontiguousarray(pts, dtype=np.float64), labs, drawn
