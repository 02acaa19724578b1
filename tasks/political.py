"""Country classification (SatCLIP downstream task).

Points are area-uniform over the whole sphere (:func:`~geobench.tasks.sampling.sample_sphere`),
labelled by the admin-0 polygon of Natural Earth 1:10m (``countries/countries-10m.json`` from
world-atlas 2.0.2, 255 units, antimeridian fixed) that contains them; the class is the unit's
``name``.

With ``include_ocean=False`` (default) only points inside some country are kept, and
sampling continues until exactly ``n_points`` such points are found (so the table has
``n_points`` rows). With ``include_ocean=True`` all ``n_points`` sphere points are kept and
points in no country get the class ``"ocean"``.

Antarctica. The default keeps it: Antarctica is a country class of its own, large, compact and
easy to predict (its share of the points is measured, not typed: see ``differences``
and the results page). ``exclude=Antarctica`` (the task option every task has, see
:func:`~geobench.tasks.base.load_task`) drops those points. We keep the default because a
changed default would change the points, their sha256 and so the identity of every committed
countries row: those rows would no longer match any cell, and old and new numbers would sit
side by side under one name. Excluding is an explicit, new cell (``countries`` with
``exclude=Antarctica``), so both can be compared.

How the data differs from the paper's is in the spec's ``differences`` (machine-readable).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import TaskSpec, register_task
from .differences import Difference, land_only, own_points

OCEAN_CLASS = "ocean"
FILES = ("countries/countries-10m.json",)
_CITATION = ("Klemmer, K., Rolf, E., Robinson, C., Mackey, L., Russwurm, M. (2023). SatCLIP: Global, "
             "General-Purpose Location Embeddings with Satellite Imagery. arXiv:2311.17179. "
             "Data: Natural Earth 1:10m admin-0 countries (public domain) via world-atlas 2.0.2.")


def class_frame(lonlat: np.ndarray, names: np.ndarray, n_drawn: int, include_ocean: bool) -> pd.DataFrame:
    """Classification table: lon, lat, y (int64 code in sorted class-name order), class_name.

    Unlabelled points (None) become class ``"ocean"``. ``attrs["meta"]`` holds ``classes``
    (names in code order) and counts.
    """
    names = np.asarray(names, dtype=object)
    names = np.where(pd.isna(names), OCEAN_CLASS, names).astype(str)
    classes, codes = np.unique(names, return_inverse=True)
    df = pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1], "y": codes.astype(np.int64),
                       "class_name": classes[codes].astype(object)})
    counts = np.bincount(codes, minlength=len(classes))
    df.attrs["meta"] = {
        "classes": [str(c) for c in classes],
        "n_classes": int(len(classes)),
        "n_candidates_drawn": int(n_drawn),
        "include_ocean": bool(include_ocean),
        "n_ocean": int(np.sum(names == OCEAN_CLASS)),
        "min_class_count": int(counts.min()) if len(counts) else 0,
        "n_singleton_classes": int(np.sum(counts == 1)),
    }
    return df


@register_task(TaskSpec(
    name="countries", kind="classification", target="country", unit="class",
    description=("Country (Natural Earth 1:10m admin-0 unit name) of area-uniform global points; "
                 "land points only by default."),
    citation=_CITATION, fidelity="close proxy", files=FILES,
    defaults={"n_points": 100_000, "seed": 0, "include_ocean": False},
    proxy_note=("Natural Earth 1:10m admin-0 polygons via world-atlas 2.0.2 (TopoJSON, antimeridian "
                "fixed here); the authors' country polygons are unknown. Points are our own "
                "area-uniform sample."),
    expected_size=100_000,
    differences=(
        Difference("labels", "country polygons not stated",
                   "Natural Earth 1:10m admin-0 units via world-atlas 2.0.2 (255 units, antimeridian fixed here)"),
        own_points("over the whole sphere"),
        land_only("an 'ocean' class for points in no country, about 67 % of the points"),
        Difference("Antarctica", "not stated",
                   "kept by default, a class of its own; the default stays so that committed rows keep "
                   "their identities (see the module docstring)",
                   option="exclude=Antarctica", measure="continent_share:Antarctica"),
    ),
))
def build(*, n_points: int = 100_000, seed: int = 0, include_ocean: bool = False) -> pd.DataFrame:
    """Country classification: (lon, lat) -> country name. See the module docstring for options."""
    from .geometry import countries, label_points
    from .sampling import sample_labelled

    gdf = countries()
    lonlat, names, drawn = sample_labelled(lambda p: label_points(p, gdf, "name"), n_points, seed,
                                           keep_unlabelled=include_ocean)
    return class_frame(lonlat, names, drawn, include_ocean)
