"""Biome and ecoregion classification (SatCLIP downstream tasks).

Points are area-uniform over the whole sphere (:func:`~geobench.tasks.sampling.sample_sphere`),
labelled by the RESOLVE Ecoregions 2017 polygon that contains them.

Data: the seven realm tables ``ecoregions/{realm}.rda`` of the tidysdm R package (RESOLVE 2017
simplified to 5 % of vertices), read with the Python package ``rdata``. Together they hold
822 ecoregions in 14 biomes; the Antarctica realm and the "Rock and Ice" ecoregion are absent
(822 of RESOLVE's 846), so land there (Antarctica, ice caps) carries no label. 52 of the 822
geometries are invalid as stored and are repaired with ``make_valid``.

With ``include_ocean=False`` (default) only points inside some ecoregion are kept, and
sampling continues until exactly ``n_points`` such points are found. With
``include_ocean=True`` all ``n_points`` sphere points are kept and points in no ecoregion
(ocean, Antarctica, rock and ice) get the class ``"ocean"``.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

from .base import TaskSpec, register_task
from .differences import Difference, land_only, own_points

REALMS = ("Afrotropic", "Australasia", "Indomalayan", "Nearctic", "Neotropic", "Oceania", "Palearctic")
FILES = tuple(f"ecoregions/{r}.rda" for r in REALMS)
_CITATION = ("Klemmer, K., Rolf, E., Robinson, C., Mackey, L., Russwurm, M. (2023). SatCLIP: Global, "
             "General-Purpose Location Embeddings with Satellite Imagery. arXiv:2311.17179. "
             "Data: Dinerstein, E. et al. (2017). An Ecoregion-Based Approach to Protecting Half the "
             "Terrestrial Realm. BioScience 67(6), 534-545 (RESOLVE Ecoregions 2017).")
_PROXY = ("RESOLVE Ecoregions 2017 simplified to 5% of vertices (tidysdm R package data), without the "
          "Antarctica realm and 'Rock and Ice' (822 of 846 ecoregions); the paper used the full-resolution "
          "RESOLVE polygons. Points are our own area-uniform sample.")

_DIFFERENCES = (
    Difference("labels", "the full-resolution RESOLVE Ecoregions 2017 polygons (846 ecoregions)",
               "RESOLVE 2017 simplified to 5 % of vertices (tidysdm R package data): 822 ecoregions in "
               "14 biomes (counts tested on the data); invalid geometries repaired with make_valid"),
    own_points("over the whole sphere"),
    land_only("an 'ocean' class, as in the countries file"),
    Difference("Antarctica", "RESOLVE 2017 has an Antarctica realm and 'Rock and Ice'",
               "both absent from the tidysdm tables: land there carries no label, so no point there is kept "
               "(with include_ocean=True it is 'ocean')", measure="continent_share:Antarctica"),
)


def _polygon(rings) -> "shapely.Polygon":
    import shapely

    rings = [np.asarray(r, dtype=np.float64)[:, :2] for r in rings]
    return shapely.Polygon(rings[0], rings[1:])


def _sf_geometry(g):
    """A shapely geometry from an sf geometry as ``rdata`` returns it (nested lists of rings)."""
    import shapely

    if isinstance(g, np.ndarray):  # a bare ring
        return shapely.Polygon(np.asarray(g, np.float64)[:, :2])
    if len(g) == 0:
        return shapely.MultiPolygon()
    if isinstance(g[0], np.ndarray):  # POLYGON: list of rings
        return _polygon(g)
    return shapely.MultiPolygon([_polygon(p) for p in g if len(p)])  # MULTIPOLYGON: list of polygons


@lru_cache(maxsize=1)
def ecoregion_table():
    """The merged ecoregion table: GeoDataFrame with ECO_NAME, BIOME_NAME, REALM, geometry.

    822 rows, valid (Multi)Polygons in EPSG:4326. Cached per process.
    """
    import geopandas as gpd
    import rdata
    import shapely

    from geobench.data import fetch

    from .geometry import polygonal

    frames = []
    for name in FILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rdata: no constructors for sf classes (harmless)
            d = rdata.read_rda(str(fetch(name)))
        (df,) = d.values()
        geoms = [polygonal(shapely.make_valid(_sf_geometry(g))) for g in df["geometry"]]
        frames.append(gpd.GeoDataFrame(
            {c: df[c].astype(str).to_numpy() for c in ("ECO_NAME", "BIOME_NAME", "REALM")},
            geometry=geoms, crs="EPSG:4326"))
    return pd.concat(frames, ignore_index=True)


def _label(lonlat: np.ndarray, column: str) -> np.ndarray:
    from .geometry import label_points

    return label_points(lonlat, ecoregion_table(), column)


def _build(column: str, *, n_points: int, seed: int, include_ocean: bool) -> pd.DataFrame:
    from .political import class_frame
    from .sampling import sample_labelled

    lonlat, names, drawn = sample_labelled(lambda p: _label(p, column), n_points, seed,
                                           keep_unlabelled=include_ocean)
    return class_frame(lonlat, names, drawn, include_ocean)


@register_task(TaskSpec(
    name="biome", kind="classification", target="biome", unit="class",
    description="Biome (14 RESOLVE 2017 biomes) of area-uniform global points; land points only by default.",
    citation=_CITATION, fidelity="close proxy", files=FILES,
    defaults={"n_points": 100_000, "seed": 0, "include_ocean": False},
    proxy_note=_PROXY, expected_size=100_000, differences=_DIFFERENCES,
))
def build_biome(*, n_points: int = 100_000, seed: int = 0, include_ocean: bool = False) -> pd.DataFrame:
    """Biome classification: (lon, lat) -> BIOME_NAME. See the module docstring for options."""
    return _build("BIOME_NAME", n_points=n_points, seed=seed, include_ocean=include_ocean)


@register_task(TaskSpec(
    name="ecoregions", kind="classification", target="ecoregion", unit="class",
    description="Ecoregion (822 RESOLVE 2017 ecoregions) of area-uniform global points; land points only by default.",
    citation=_CITATION, fidelity="close proxy", files=FILES,
    defaults={"n_points": 100_000, "seed": 0, "include_ocean": False},
    proxy_note=_PROXY, expected_size=100_000, differences=_DIFFERENCES,
))
def build_ecoregions(*, n_points: int = 100_000, seed: int = 0, include_ocean: bool = False) -> pd.DataFrame:
    """Ecoregion classification: (lon, lat) -> ECO_NAME. See the module docstring for options."""
    return _build("ECO_NAME", n_points=n_points, seed=seed, include_ocean=include_ocean)
