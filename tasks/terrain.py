"""Raster-sampled land tasks: elevation and population density (regression).

Both tasks draw area-uniform random points on land between 63 degS and 80 degN with
:func:`geobench.tasks.sampling.sample_land` and label each point by the raster cell that
contains it. The paper (after MOSAIKS) sampled its own points too, so only the rasters, not
the point sets, can be compared with the paper's.

Exact counts: points whose cell is no-data (ocean/ice in the raster although the land mask
says land, mostly along coasts) are dropped. To return exactly ``n_points`` rows the sampler
draws ``ceil(1.1 * n_points) + 64`` candidates, keeps the valid ones in draw order and takes
the first ``n_points``; if too few are valid it redraws with 1.5x as many candidates (same
seed), so the result is a deterministic function of ``(n_points, seed)``. Both tasks use the
same candidate draw for the same ``(n_points, seed)``, so their point sets largely coincide.
``meta`` records the candidate count and how many candidates were dropped as no-data.

``elevation``
    Source: ``elevation/Altitude.h5`` from the pvlib wheel (dataset ``Altitude``, uint8,
    2160 x 4320, a 1/12 degree grid, row 0 at 90 degN, column 0 at 180 degW). Metres =
    value * 28 - 450; 255 = no data. Close proxy: the same Mapzen terrain-tile source as the
    paper's labels, but at about 9 km instead of point samples of the ~1 km tiles, and
    quantised to 28 m; interior Greenland reads bedrock-like heights. ``y`` in metres.

``population``
    Source: ``population/gpw_v4_population_density_rev11_2020_15_min.tif`` (GPWv4.11, 2020,
    persons per km2, 0.25 degree, nodata -3.4028230607370965e38 over ocean). ``y`` =
    log1p(density); the raw density is kept in column ``density``. Close proxy: the paper used
    GPWv4 rev10 2015 at 30 arc-seconds (about 1 km).
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import pandas as pd

from geobench import portable
from geobench.coords import validate_lonlat
from geobench.data import fetch

from .base import TaskSpec, register_task
from .differences import Difference, own_points
from .sampling import LAND10M_FILE
from .climate import SATCLIP_CITATION

ELEVATION_FILE = "elevation/Altitude.h5"
POPULATION_FILE = "population/gpw_v4_population_density_rev11_2020_15_min.tif"
LAT_MIN, LAT_MAX = -63.0, 80.0

ALT_CELLS_PER_DEG = 12
ALT_NODATA = 255
ALT_SCALE_M, ALT_OFFSET_M = 28.0, -450.0

MOSAIKS_CITATION = (
    "Rolf, E., Proctor, J., Carleton, T., et al. (2021). A generalizable and accessible approach to "
    "machine learning with global satellite imagery. Nature Communications 12:4392."
)


# --- raster look-ups -------------------------------------------------------------------

@functools.lru_cache(maxsize=2)
def _altitude_grid(path: str) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as f:
        return np.asarray(f["Altitude"][...])


def altitude_cells(lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) indices into the 1/12 degree Altitude grid for validated (lon, lat) degrees."""
    row = np.floor((90.0 - lonlat[:, 1]) * ALT_CELLS_PER_DEG).astype(np.int64)
    col = np.floor((lonlat[:, 0] + 180.0) * ALT_CELLS_PER_DEG).astype(np.int64)
    return np.clip(row, 0, 180 * ALT_CELLS_PER_DEG - 1), np.clip(col, 0, 360 * ALT_CELLS_PER_DEG - 1)


def elevation_at(lonlat: np.ndarray) -> np.ndarray:
    """Elevation in metres at (N, 2) (lon, lat) degrees from ``Altitude.h5``; NaN where no data.

    Nearest-cell look-up on the 1/12 degree grid, values quantised to 28 m.
    """
    ll = validate_lonlat(lonlat, what="elevation_at points")
    grid = _altitude_grid(str(fetch(ELEVATION_FILE)))
    row, col = altitude_cells(ll)
    raw = grid[row, col]
    out = raw.astype(np.float64) * ALT_SCALE_M + ALT_OFFSET_M
    out[raw == ALT_NODATA] = np.nan
    return out


@functools.lru_cache(maxsize=2)
def _gpw_grid(path: str) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    import rasterio

    with rasterio.open(path) as r:
        band = r.read(1).astype(np.float64)
        nodata = r.nodata
        t = r.transform
    bad = ~np.isfinite(band) | (band < 0)
    if nodata is not None:
        bad |= band == nodata
    band[bad] = np.nan
    return band, (t.c, t.a, t.f, t.e)  # x0, dx, y0, dy (dy < 0)


def population_density_at(lonlat: np.ndarray) -> np.ndarray:
    """GPWv4.11 2020 population density (persons per km2) at (N, 2) (lon, lat) degrees; NaN where no data."""
    ll = validate_lonlat(lonlat, what="population_density_at points")
    band, (x0, dx, y0, dy) = _gpw_grid(str(fetch(POPULATION_FILE)))
    col = np.clip(np.floor((ll[:, 0] - x0) / dx).astype(np.int64), 0, band.shape[1] - 1)
    row = np.clip(np.floor((ll[:, 1] - y0) / dy).astype(np.int64), 0, band.shape[0] - 1)
    return band[row, col]


# --- point sampling --------------------------------------------------------------------

def sample_labelled_land(n_points: int, seed: int, label: Callable[[np.ndarray], np.ndarray]
                         ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Exactly ``n_points`` land points in [LAT_MIN, LAT_MAX] with finite ``label(lonlat)``.

    Returns (lonlat (n, 2) float64, labels (n,), meta). See the module docstring for how
    no-data candidates are replaced deterministically.
    """
    from .sampling import resolve_mask, sample_land

    if n_points < 1:
        from geobench.errors import InputError

        raise InputError(f"n_points must be >= 1, got {n_points}")
    m = math.ceil(1.1 * n_points) + 64
    mask = resolve_mask("auto")  # land10m, or the coarser elevation grid where it cannot be fetched
    while True:
        cand = sample_land(m, seed=seed, lat_min=LAT_MIN, lat_max=LAT_MAX, mask=mask)
        vals = label(cand)
        ok = np.isfinite(vals)
        if ok.sum() >= n_points:
            idx = np.flatnonzero(ok)[:n_points]
            used = int(idx[-1]) + 1
            meta = {"n_candidates_drawn": int(m), "n_candidates_used": used,
                    "n_nodata_dropped": int(used - n_points), "lat_range": [LAT_MIN, LAT_MAX], "land_mask": mask}
            return cand[idx], vals[idx], meta
        m = math.ceil(1.5 * m) + 64


@register_task(TaskSpec(
    name="elevation",
    kind="regression",
    target="elevation above sea level",
    unit="m",
    description="Terrain elevation at area-uniform random land points (63S-80N).",
    citation=SATCLIP_CITATION + " " + MOSAIKS_CITATION + " Elevation: Mapzen/AWS Terrain Tiles as gridded "
    "in pvlib's Altitude.h5 (Holmgren, W. F., Hansen, C. W., Mikofski, M. A. (2018). pvlib python. "
    "Journal of Open Source Software 3(29):884).",
    fidelity="close proxy",
    files=(ELEVATION_FILE,),
    optional_files=(LAND10M_FILE,),  # the land mask; without it the coarse elevation grid
    defaults={"n_points": 100000, "seed": 0},
    proxy_note="Same Mapzen terrain source as the paper, but read from pvlib's 1/12 degree (~9 km) grid "
    "quantised to 28 m instead of ~1 km tiles; points are our own area-uniform land sample.",
    expected_size=100000,
    differences=(
        Difference("labels", "Mapzen terrain tiles at about 1 km, sampled at each point",
                   "the same Mapzen source from pvlib's 1/12 degree (~9 km) grid, quantised to 28 m; interior "
                   "Greenland reads bedrock-like heights"),
        own_points("of land between 63 degS and 80 degN", measure="continent_share:Antarctica"),
    ),
))
def build_elevation(*, n_points: int = 100000, seed: int = 0) -> pd.DataFrame:
    """``n_points`` land points: ``lon``, ``lat`` (degrees), ``y`` = elevation (m, >= -450)."""
    lonlat, elev, meta = sample_labelled_land(n_points, seed, elevation_at)
    df = pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1], "y": elev})
    df.attrs["meta"] = meta
    return df


@register_task(TaskSpec(
    name="population",
    kind="regression",
    target="log1p(population density)",
    unit="log(1 + persons/km2)",
    description="Log population density at area-uniform random land points (63S-80N).",
    citation=SATCLIP_CITATION + " " + MOSAIKS_CITATION + " Center for International Earth Science "
    "Information Network (CIESIN), Columbia University (2018). Gridded Population of the World, "
    "Version 4 (GPWv4): Population Density, Revision 11. NASA SEDAC. doi:10.7927/H49C6VHW.",
    fidelity="close proxy",
    files=(POPULATION_FILE,),
    optional_files=(LAND10M_FILE,),  # the land mask; without it the coarse elevation grid
    defaults={"n_points": 100000, "seed": 0},
    proxy_note="GPWv4 rev11 2020 at 15 arc-minutes (~28 km) instead of the paper's rev10 2015 at "
    "30 arc-seconds (~1 km); points are our own area-uniform land sample.",
    expected_size=100000,
    differences=(
        Difference("labels", "GPWv4 revision 10, 2015, at 30 arc-seconds (~1 km)",
                   "GPWv4 revision 11, 2020, at 15 arc-minutes (~28 km)"),
        own_points("of land between 63 degS and 80 degN", measure="continent_share:Antarctica"),
    ),
))
def build_population(*, n_points: int = 100000, seed: int = 0) -> pd.DataFrame:
    """``n_points`` land points: ``lon``, ``lat`` (degrees), ``y`` = log1p(persons/km2), ``density``."""
    lonlat, dens, meta = sample_labelled_land(n_points, seed, population_density_at)
    df = pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1], "y": portable.log1p(dens), "density": dens})
    df.attrs["meta"] = meta
    return df
