"""Multi-scale sinusoidal encoders: Space2Vec ``theory``/``grid`` and the Sphere2Vec family.

Input ``(N, 2)`` (lon, lat) float64 degrees, column 0 = longitude; output float64.

Scales. ``S = frequency_num`` radii in a geometric progression,
``r_s = min_radius * (max_radius / min_radius) ** (s / (S - 1))``, ``s = 0..S-1``
(``r_0 = min_radius`` when S = 1). Radii are angles in degrees; a coordinate ``c`` (in
degrees) enters the sinusoids as the ratio ``c / r_s`` (radians). This is the papers'
``lambda / r^(s)`` with both in the same unit and is exactly what the SatCLIP
``positional_encoding`` modules compute from degree inputs; defaults ``frequency_num=16``,
``min_radius=1``, ``max_radius=360`` are SatCLIP's training defaults. ``r_s = 180/pi``
(57.3 deg) makes ``lambda_s, phi_s`` the plain radian angles.

Notation below: ``lambda = deg2rad(lon)``, ``phi = deg2rad(lat)`` (single scale);
``lambda_s = lon / r_s``, ``phi_s = lat / r_s`` (scale s). Features are ordered scale by
scale (``s`` outer, terms inner) except for ``grid`` (see its docstring).

Differences from the SatCLIP implementation (kept deliberately, to follow the papers):
SatCLIP's ``GridAndSphere`` repeats every Sphere2Vec term twice (its dims are 6S, 12S,
10S, 16S for sphereC, C+, M, M+), and its sphereM/M+ "single-scale" terms take
``sin``/``cos`` of the raw degree values; here each term appears once and the
single-scale terms use radians, as in Mai et al. (2023).
"""
from __future__ import annotations

import math

import numpy as np

from geobench.encoding import ArrayEncoder, register_encoder
from geobench.errors import InputError

SPACE2VEC = ("Mai, Janowicz, Yan, Zhu, Cai, Lao 2020, Multi-Scale Representation Learning for Spatial "
             "Feature Distributions using Grid Cells (Space2Vec), ICLR")
SPHERE2VEC = ("Mai, Xuan, Zuo, He, Song, Ermon, Janowicz, Lao 2023, Sphere2Vec: A General-Purpose Location "
              "Representation Learning over a Spherical Surface for Large-Scale Geospatial Predictions, "
              "ISPRS J. Photogramm. Remote Sens.")

# Space2Vec-theory: three unit vectors 120 degrees apart (0, 120, 240 deg).
_UNIT_VECTORS = np.array([[1.0, 0.0], [-0.5, math.sqrt(3) / 2], [-0.5, -math.sqrt(3) / 2]])


def scales(frequency_num: int = 16, min_radius: float = 1.0, max_radius: float = 360.0) -> np.ndarray:
    """The ``S`` radii ``r_s`` (degrees), geometric from ``min_radius`` to ``max_radius``."""
    if int(frequency_num) != frequency_num or frequency_num < 1:
        raise InputError(f"frequency_num must be an integer >= 1, got {frequency_num!r}")
    if not (0 < min_radius <= max_radius) or not math.isfinite(max_radius):
        raise InputError(f"need 0 < min_radius <= max_radius (degrees), got min_radius={min_radius}, "
                         f"max_radius={max_radius}")
    S = int(frequency_num)
    if S == 1:
        return np.array([float(min_radius)])
    return min_radius * (max_radius / min_radius) ** (np.arange(S) / (S - 1))


def theory_features(lonlat: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Space2Vec-theory, dim ``6S``: column ``6s + 2j`` = ``sin(<(lon, lat), u_j> / r_s)``,
    ``6s + 2j + 1`` = ``cos(...)``, with ``u_j`` at 0, 120, 240 degrees (j = 0, 1, 2)."""
    proj = lonlat @ _UNIT_VECTORS.T  # (N, 3), degrees
    ang = proj[:, None, :] / radii[None, :, None]  # (N, S, 3)
    out = np.empty(ang.shape + (2,))
    np.sin(ang, out=out[..., 0])
    np.cos(ang, out=out[..., 1])
    return out.reshape(lonlat.shape[0], -1)


def grid_features(lonlat: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Space2Vec-grid, dim ``4S``: longitude block then latitude block; within a block
    column ``2s`` = ``sin(c / r_s)`` and ``2s + 1`` = ``cos(c / r_s)``. So column
    ``2S*k + 2s + t`` with k = 0 (lon) / 1 (lat), t = 0 (sin) / 1 (cos)."""
    ang = lonlat[:, :, None] / radii[None, None, :]  # (N, 2, S)
    out = np.empty(ang.shape + (2,))
    np.sin(ang, out=out[..., 0])
    np.cos(ang, out=out[..., 1])
    return out.reshape(lonlat.shape[0], -1)


def _sphere_terms(lonlat: np.ndarray, radii: np.ndarray):
    ls = lonlat[:, 0:1] / radii  # lambda_s, (N, S)
    ps = lonlat[:, 1:2] / radii  # phi_s
    lam = np.deg2rad(lonlat[:, 0:1])
    phi = np.deg2rad(lonlat[:, 1:2])
    return ls, ps, lam, phi


def sphere_features(lonlat: np.ndarray, radii: np.ndarray, variant: str) -> np.ndarray:
    """Sphere2Vec features; per scale s (columns ``k*s .. k*s + k - 1``):

    * ``sphereC`` (k=3, dim 3S): ``[sin phi_s, cos phi_s cos lambda_s, cos phi_s sin lambda_s]``
    * ``sphereC+`` (k=6, dim 6S): ``[sin phi_s, cos phi_s, sin lambda_s, cos lambda_s,
      cos phi_s cos lambda_s, cos phi_s sin lambda_s]``
    * ``sphereM`` (k=5, dim 5S): ``[sin phi_s, cos phi_s cos lambda, cos phi cos lambda_s,
      cos phi_s sin lambda, cos phi sin lambda_s]``
    * ``sphereM+`` (k=8, dim 8S): ``[sin phi_s, cos phi_s, sin lambda_s, cos lambda_s,
      cos phi_s cos lambda, cos phi cos lambda_s, cos phi_s sin lambda, cos phi sin lambda_s]``
    """
    ls, ps, lam, phi = _sphere_terms(lonlat, radii)
    sps, cps, sls, cls = np.sin(ps), np.cos(ps), np.sin(ls), np.cos(ls)
    if variant == "sphereC":
        terms = [sps, cps * cls, cps * sls]
    elif variant == "sphereC+":
        terms = [sps, cps, sls, cls, cps * cls, cps * sls]
    else:
        cl, sl, cp = np.cos(lam), np.sin(lam), np.cos(phi)
        mixed = [cps * cl, cp * cls, cps * sl, cp * sls]
        if variant == "sphereM":
            terms = [sps] + mixed
        elif variant == "sphereM+":
            terms = [sps, cps, sls, cls] + mixed
        else:
            raise InputError(f"unknown Sphere2Vec variant {variant!r}; use sphereC, sphereC+, sphereM or sphereM+")
    return np.stack(terms, axis=-1).reshape(lonlat.shape[0], -1)


SPHERE_TERMS = {"sphereC": 3, "sphereC+": 6, "sphereM": 5, "sphereM+": 8}


def _multiscale(name: str, per_scale: int, fn, frequency_num: int, min_radius: float,
                max_radius: float) -> ArrayEncoder:
    radii = scales(frequency_num, min_radius, max_radius)
    return ArrayEncoder(name, per_scale * radii.size, lambda x: fn(x, radii),
                        {"radii_deg": radii.tolist()})


@register_encoder("theory", kind="parameter-free", citation=SPACE2VEC, license="MIT")
def theory_encoder(*, frequency_num: int = 16, min_radius: float = 1.0, max_radius: float = 360.0) -> ArrayEncoder:
    """Space2Vec-theory: sin/cos of (lon, lat) projected on 3 unit vectors 120 deg apart, S scales (dim 6S)."""
    return _multiscale("theory", 6, theory_features, frequency_num, min_radius, max_radius)


@register_encoder("grid", kind="parameter-free", citation=SPACE2VEC, license="MIT")
def grid_encoder(*, frequency_num: int = 16, min_radius: float = 1.0, max_radius: float = 360.0) -> ArrayEncoder:
    """Space2Vec-grid: sin/cos of lon and lat at S scales (dim 4S)."""
    return _multiscale("grid", 4, grid_features, frequency_num, min_radius, max_radius)


def _register_sphere(variant: str, doc: str) -> None:
    k = SPHERE_TERMS[variant]

    def factory(*, frequency_num: int = 16, min_radius: float = 1.0, max_radius: float = 360.0) -> ArrayEncoder:
        return _multiscale(variant, k, lambda x, r: sphere_features(x, r, variant), frequency_num,
                           min_radius, max_radius)

    factory.__doc__ = doc
    factory.__name__ = f"{variant.replace('+', '_plus')}_encoder"
    register_encoder(variant, kind="parameter-free", citation=SPHERE2VEC, license="MIT")(factory)


_register_sphere("sphereC", "Sphere2Vec-sphereC: [sin phi_s, cos phi_s cos lambda_s, cos phi_s sin lambda_s] "
                            "at S scales (dim 3S).")
_register_sphere("sphereC+", "Sphere2Vec-sphereC+: sphereC plus grid terms cos phi_s, sin/cos lambda_s (dim 6S).")
_register_sphere("sphereM", "Sphere2Vec-sphereM: multi-scale lat/lon mixed with single-scale lon/lat (dim 5S).")
_register_sphere("sphereM+", "Sphere2Vec-sphereM+: sphereM plus grid terms cos phi_s, sin/cos lambda_s (dim 8S).")
