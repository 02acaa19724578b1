"""Validation of (lon, lat) coordinate arrays. Inside geobench coordinates are always
``(N, 2)`` float64 degrees with column 0 = longitude, column 1 = latitude."""
from __future__ import annotations

import numpy as np

from geobench.errors import InputError

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def _rows(mask: np.ndarray, limit: int = 10) -> str:
    idx = np.flatnonzero(mask)
    s = ", ".join(map(str, idx[:limit]))
    return s + (f", ... ({idx.size} rows)" if idx.size > limit else "")


def validate_lonlat(lonlat: object, *, what: str = "coordinates", allow_empty: bool = False) -> np.ndarray:
    """Return ``lonlat`` as a C-contiguous float64 ``(N, 2)`` array of (lon, lat) degrees.

    Raises InputError naming the offending row indices for: a wrong shape, NaN/inf,
    longitude outside [-180, 180], latitude outside [-90, 90]. If every out-of-range
    latitude would be in range as a longitude (and vice versa), the message says the
    columns look swapped.
    """
    try:
        a = np.asarray(lonlat, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"{what}: cannot convert to a float array of (lon, lat): {e}") from e
    if a.ndim != 2 or a.shape[1] != 2:
        raise InputError(
            f"{what}: expected an array of shape (N, 2) with columns (lon, lat) in degrees, got shape {a.shape}"
        )
    if a.shape[0] == 0 and not allow_empty:
        raise InputError(f"{what}: the point set is empty; pass at least one (lon, lat) row")
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        raise InputError(f"{what}: NaN or inf at rows {_rows(bad)}; drop or fill those rows first")
    lon, lat = a[:, 0], a[:, 1]
    bad_lat = np.abs(lat) > 90
    bad_lon = np.abs(lon) > 180
    if bad_lat.any() or bad_lon.any():
        if bad_lat.any() and (np.abs(lon) <= 90).all() and (np.abs(lat) <= 180).all():
            raise InputError(
                f"{what}: latitude outside [-90, 90] at rows {_rows(bad_lat)} while every longitude is "
                "within [-90, 90]: the columns look swapped. geobench expects (lon, lat) order; "
                "pass lonlat[:, ::-1]"
            )
        if bad_lon.any():
            raise InputError(
                f"{what}: longitude outside [-180, 180] at rows {_rows(bad_lon)}; "
                "wrap longitudes with ((lon + 180) % 360) - 180"
            )
        raise InputError(
            f"{what}: latitude outside [-90, 90] at rows {_rows(bad_lat)}; latitudes must be degrees in [-90, 90]"
        )
    return np.ascontiguousarray(a)


def lonlat_to_xyz(lonlat: np.ndarray) -> np.ndarray:
    """Unit vectors (x, y, z) for (lon, lat) degrees; z points to the north pole."""
    lon, lat = np.deg2rad(lonlat[:, 0]), np.deg2rad(lonlat[:, 1])
    c = np.cos(lat)
    return np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=1)


def km_to_chord(km: float) -> float:
    """The unit-sphere chord (between :func:`lonlat_to_xyz` vectors) of a great-circle distance in
    km on a sphere of radius :data:`EARTH_RADIUS_KM`; capped at the antipode (chord 2)."""
    return 2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0)


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle km of unit-sphere chord lengths (the inverse of :func:`km_to_chord`)."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def coordinate_keys(lonlat: np.ndarray) -> np.ndarray:
    """One sortable 16-byte key per (lon, lat) row: equal keys <=> exactly equal float64
    coordinates (-0.0 is counted as 0.0)."""
    ll = np.ascontiguousarray(np.asarray(lonlat, dtype=np.float64).reshape(-1, 2) + 0.0)
    return ll.view(np.dtype((np.void, 16))).ravel()


def coinciding(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean mask over the rows of ``a``: its exact (lon, lat) occurs among the rows of ``b``."""
    return np.isin(coordinate_keys(a), coordinate_keys(b))
