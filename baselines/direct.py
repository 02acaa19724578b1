"""Single-scale parameter-free encoders: ``direct``, ``cartesian3d`` and ``wrap``.

All take ``(N, 2)`` (lon, lat) float64 degrees (column 0 = longitude) and return float64.
"""
from __future__ import annotations

import numpy as np

from geobench.coords import lonlat_to_xyz
from geobench.encoding import ArrayEncoder, register_encoder


def direct_features(lonlat: np.ndarray) -> np.ndarray:
    """``[lon / 180, lat / 90]``: both coordinates scaled to [-1, 1]. Dimension 2."""
    return lonlat * np.array([1 / 180.0, 1 / 90.0])


def wrap_features(lonlat: np.ndarray) -> np.ndarray:
    """``[sin(pi lon/180), cos(pi lon/180), sin(pi lat/90), cos(pi lat/90)]``. Dimension 4.

    Mac Aodha et al. (2019) wrap the coordinates scaled to [-1, 1] with
    ``sin(pi x), cos(pi x)``. For longitude this makes -180 and 180 coincide; for latitude
    it maps the two poles to the same point (cos(pi) = cos(-pi)), as in the paper.
    (SatCLIP's ``Wrap`` module instead uses unscaled radians, [cos lon, sin lon, cos lat,
    sin lat], and its ``Direct`` returns ``deg2rad(lon, lat) - pi``; we follow the papers.)
    """
    z = np.pi * direct_features(lonlat)
    out = np.empty((lonlat.shape[0], 4))
    out[:, 0], out[:, 1] = np.sin(z[:, 0]), np.cos(z[:, 0])
    out[:, 2], out[:, 3] = np.sin(z[:, 1]), np.cos(z[:, 1])
    return out


@register_encoder("direct", kind="parameter-free", license="MIT",
                  citation="raw coordinates (e.g. Mac Aodha et al. 2019, ICCV, 'direct' baseline)")
def direct_encoder() -> ArrayEncoder:
    """Raw coordinates scaled to [-1, 1]: [lon/180, lat/90] (dim 2)."""
    return ArrayEncoder("direct", 2, direct_features, {})


@register_encoder("cartesian3d", kind="parameter-free", license="MIT",
                  citation="unit-sphere xyz (e.g. Mai et al. 2023, Sphere2Vec, 'xyz' baseline)")
def cartesian3d_encoder() -> ArrayEncoder:
    """Unit vector [cos(lat)cos(lon), cos(lat)sin(lon), sin(lat)] (dim 3; z to the north pole)."""
    return ArrayEncoder("cartesian3d", 3, lonlat_to_xyz, {})


@register_encoder("wrap", kind="parameter-free", license="MIT",
                  citation="Mac Aodha, Cole, Perona 2019, Presence-Only Geographical Priors for "
                           "Fine-Grained Image Classification, ICCV")
def wrap_encoder() -> ArrayEncoder:
    """[sin(pi lon/180), cos(pi lon/180), sin(pi lat/90), cos(pi lat/90)] (dim 4)."""
    return ArrayEncoder("wrap", 4, wrap_features, {})
