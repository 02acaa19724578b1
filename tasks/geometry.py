"""Vector geometry helpers: antimeridian-safe TopoJSON reading, point labelling, continents.

Coordinates are (lon, lat) float64 degrees, EPSG:4326, lon in [-180, 180].

world-atlas v2 TopoJSON stitches polygons across the 180° meridian (for d3's spherical
rendering). Read as plain lon/lat, Russia and Fiji become bands around the globe.
:func:`read_topojson_fixed` unwraps every ring, closes pole-encircling rings along the pole
(Antarctica), splits at ±180° and repairs the result with ``make_valid``.

Loaded tables are cached per process (``functools.lru_cache``); nothing is written to disk.
"""
from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Polygon, box

from geobench.coords import km_to_chord, lonlat_to_xyz

NEAREST_MAX_KM = 200.0  # points outside every continent polygon but this close get the nearest one
OCEAN = "Ocean"
NATURALEARTH_LOWRES = tuple(
    f"countries/naturalearth_lowres/naturalearth_lowres.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")
)

# (window in unwrapped longitudes, shift that maps it back into [-180, 180])
_WINDOWS = ((box(-180, -90, 180, 90), 0.0), (box(180, -90, 540, 90), -360.0), (box(-540, -90, -180, 90), 360.0))


# --------------------------------------------------------------------------- antimeridian fix
def _unwrap_ring(xy: np.ndarray) -> np.ndarray:
    """Make a ring's longitudes continuous (no step larger than 180°) by cumulative ±360°."""
    out = np.array(xy[:, :2], dtype=np.float64)
    d = np.diff(out[:, 0])
    corr = np.where(d > 180, -360.0, np.where(d < -180, 360.0, 0.0))
    out[1:, 0] += np.cumsum(corr)
    return out


def _fixed_ring(xy: np.ndarray) -> np.ndarray:
    """Unwrapped ring; a ring that encircles a pole (ends 360° from its start) is closed along it."""
    u = _unwrap_ring(xy)
    if abs(u[-1, 0] - u[0, 0]) > 180:
        pole = -90.0 if u[:, 1].mean() < 0 else 90.0
        u = np.vstack([u, [[u[-1, 0], pole], [u[0, 0], pole]], u[:1]])
    return u


def polygonal(geom) -> shapely.Geometry:
    """Only the polygonal parts of ``geom`` (drops the lines/points ``make_valid`` may leave)."""
    parts = shapely.get_parts(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    parts = shapely.get_parts(parts)  # explode nested multipolygons
    if len(parts) == 0:
        return shapely.MultiPolygon()
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


def _fix_polygon(p: Polygon) -> shapely.Geometry:
    if p.is_empty:
        return p
    shell = _fixed_ring(np.asarray(p.exterior.coords))
    x0, x1 = shell[:, 0].min(), shell[:, 0].max()
    mid = 0.5 * (x0 + x1)
    holes = []
    for ring in p.interiors:
        h = _fixed_ring(np.asarray(ring.coords))
        c = 0.5 * (h[:, 0].min() + h[:, 0].max())
        k = min((-1, 0, 1), key=lambda k: abs(c + 360.0 * k - mid))  # put the hole beside its shell
        h[:, 0] += 360.0 * k
        holes.append(h)
    poly = shapely.make_valid(Polygon(shell, holes))
    if x0 >= -180 and x1 <= 180:
        return poly
    pieces = []
    for window, shift in _WINDOWS:
        q = shapely.intersection(poly, window)
        if not q.is_empty:
            pieces.append(shapely.transform(q, lambda c, s=shift: c + np.array([s, 0.0])) if shift else q)
    return shapely.union_all(pieces)


def fix_antimeridian(geom) -> shapely.Geometry:
    """Unwrap, pole-close, split at ±180° and ``make_valid`` one (Multi)Polygon.

    Returns a valid Polygon or MultiPolygon (possibly empty) with lon in [-180, 180].
    """
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    polys = shapely.get_parts(geom)
    fixed = [_fix_polygon(p) for p in polys if shapely.get_type_id(p) == 3]
    return polygonal(shapely.make_valid(shapely.union_all(fixed)))


def read_topojson_fixed(path: str | Path, layer: str) -> gpd.GeoDataFrame:
    """Read a world-atlas v2 TopoJSON layer (``countries`` or ``land``) with the antimeridian fixed.

    Every geometry is a valid (Multi)Polygon in EPSG:4326 with lon in [-180, 180]; ring order
    (d3's winding convention) is ignored.
    """
    raw = gpd.read_file(path, layer=layer)
    geoms = [fix_antimeridian(g) for g in raw.geometry]
    return gpd.GeoDataFrame(raw.drop(columns="geometry"), geometry=geoms, crs="EPSG:4326")


# --------------------------------------------------------------------------- point labelling
def polygon_index(lonlat: np.ndarray, geoms, *, areas: np.ndarray | None = None) -> np.ndarray:
    """Index (int64) of the polygon in ``geoms`` containing each (lon, lat) point, -1 if none.

    Exact point-in-polygon (points on a boundary count as outside). When several polygons
    contain a point (overlaps), the one with the smallest planar area wins, ties to the lowest
    index, so the answer is deterministic. Uses an STRtree over the points and queries it with
    the (prepared) polygons, which is fast for many points and few large polygons.
    """
    lonlat = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(lonlat), -1, dtype=np.int64)
    if len(lonlat) == 0 or len(geoms) == 0:
        return out
    shapely.prepare(geoms)
    pts = shapely.points(lonlat)
    tree = shapely.STRtree(pts)
    gi, pi = tree.query(geoms, predicate="contains")
    if len(gi) == 0:
        return out
    if areas is None:
        areas = shapely.area(geoms)
    # order hits so that for each point the preferred polygon comes first
    order = np.lexsort((gi, areas[gi], pi))
    gi, pi = gi[order], pi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[pi[first]] = gi[first]
    return out


def label_points(lonlat: np.ndarray, gdf: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """Value of ``gdf[column]`` for the polygon containing each point (object array, None if none)."""
    idx = polygon_index(lonlat, gdf.geometry.values)
    vals = gdf[column].to_numpy(dtype=object)
    out = np.full(len(idx), None, dtype=object)
    hit = idx >= 0
    out[hit] = vals[idx[hit]]
    return out


# --------------------------------------------------------------------------- cached layers
@lru_cache(maxsize=2)
def _topojson_layer(name: str, layer: str) -> gpd.GeoDataFrame:
    from geobench.data import fetch

    return read_topojson_fixed(fetch(name), layer)


def countries() -> gpd.GeoDataFrame:
    """Admin-0 units of ``countries/countries-10m.json`` (255 rows: id, name, geometry), fixed."""
    return _topojson_layer("countries/countries-10m.json", "countries")


@lru_cache(maxsize=1)
def land_geometry() -> shapely.MultiPolygon:
    """The ``land-10m.json`` land mask as one valid, prepared MultiPolygon (lon in [-180, 180]).

    Natural Earth's fictitious "Null Island" (a ~1 km square at 0°, 0°) is removed.
    """
    from geobench.data import fetch

    from .sampling import LAND10M_FILE

    raw = gpd.read_file(fetch(LAND10M_FILE), layer="land")
    parts = shapely.get_parts(raw.geometry.values)
    # Natural Earth's "Null Island": a ~1 km square at (0°, 0°) that is not land; drop it.
    null_island = shapely.contains_xy(parts, 0.0, 0.0) & (shapely.area(parts) < 1e-3)
    land = fix_antimeridian(shapely.geometrycollections(parts[~null_island]))
    if land.geom_type == "Polygon":
        land = shapely.multipolygons([land])
    shapely.prepare(land)  # indexed point-in-area: ~4 µs per point
    return land


@lru_cache(maxsize=1)
def _continent_layers():
    from scipy.spatial import cKDTree

    from geobench.data import fetch

    for name in NATURALEARTH_LOWRES:  # all parts must be present next to the .shp
        path = fetch(name)
    shp = path.with_suffix(".shp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gdf = gpd.read_file(shp)
    geoms = np.array([polygonal(shapely.make_valid(g)) for g in gdf.geometry], dtype=object)
    shapely.prepare(geoms)
    labels = gdf["continent"].to_numpy(dtype=object)
    # boundary vertices densified to <= 0.05° (<= 5.6 km) for the nearest-polygon search
    rings = shapely.segmentize(shapely.boundary(geoms), 0.05)
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    tree = cKDTree(lonlat_to_xyz(coords[:, :2]))
    return geoms, labels, shapely.area(geoms), tree, owner


def assign_continents(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, int]:
    """Continent of each point from naturalearth_lowres' ``continent`` field.

    Points inside a polygon get its continent. Points inside none get the continent of the
    nearest polygon if its boundary is within 200 km (great-circle), else ``"Ocean"``. The
    nearest search uses a KD-tree on unit vectors of the polygon boundaries densified to
    0.05° spacing, so distances are exact to within ~3 km. The one "Seven seas (open ocean)"
    polygon (French Southern and Antarctic Lands) keeps that label, as in the source field.

    Returns (object array of names, number of points assigned by nearest).
    """
    lon = np.asarray(lon, dtype=np.float64).ravel()
    lat = np.asarray(lat, dtype=np.float64).ravel()
    geoms, labels, areas, tree, owner = _continent_layers()
    idx = polygon_index(np.column_stack([lon, lat]), geoms, areas=areas)
    out = np.full(len(lon), OCEAN, dtype=object)
    inside = idx >= 0
    out[inside] = labels[idx[inside]]
    miss = np.flatnonzero(~inside)
    n_near = 0
    if len(miss):
        chord = km_to_chord(NEAREST_MAX_KM)
        d, j = tree.query(lonlat_to_xyz(np.column_stack([lon[miss], lat[miss]])), k=1, distance_upper_bound=chord)
        ok = np.isfinite(d)
        out[miss[ok]] = labels[owner[j[ok]]]
        n_near = int(ok.sum())
    return out, n_near
