"""Random Fourier features of the unit-sphere position (``rff``).

Input ``(N, 2)`` (lon, lat) float64 degrees; the point is first mapped to its unit vector
``v = [cos(lat)cos(lon), cos(lat)sin(lon), sin(lat)]``.

``variant="cos"`` (Rahimi & Recht 2007): ``z(v) = sqrt(2/D) cos(v W + b)`` with
``W ~ N(0, sigma^2)`` of shape (3, D) and ``b ~ U[0, 2 pi)``, dim ``D``.
``variant="cossin"`` (Tancik et al. 2020): ``z(v) = [cos(v W), sin(v W)] / sqrt(D/2)``
with ``W`` of shape (3, D/2); ``D`` must be even.
Either way ``z(v) . z(v')`` approximates the Gaussian kernel
``exp(-sigma^2 |v - v'|^2 / 2)`` of the chord distance (``|v - v'| = 2 sin(d / 2R)``).

The default ``sigma = 8`` gives a kernel length scale of 1/8 rad (~800 km) and random
frequencies whose typical wavelength (2 pi / (sigma sqrt 3) ~ 26 deg) is comparable with
SH of degree ~14, i.e. the resolution 256 features can support. ``W`` and ``b`` are drawn
from ``numpy.random.default_rng(seed)`` when the encoder is built (W first, then b).
"""
from __future__ import annotations

import math

import numpy as np

from geobench.coords import lonlat_to_xyz
from geobench.encoding import ArrayEncoder, register_encoder
from geobench.errors import InputError

VARIANTS = ("cos", "cossin")


def rff_weights(dim: int, sigma: float, seed: int, variant: str = "cos") -> tuple[np.ndarray, np.ndarray | None]:
    """``(W, b)`` for :func:`rff_features`: W (3, dim) and b (dim,) for ``cos``;
    W (3, dim/2) and ``None`` for ``cossin``."""
    if variant not in VARIANTS:
        raise InputError(f"rff: unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
    if dim < 1 or (variant == "cossin" and dim % 2):
        even = " and even for variant=cossin" if variant == "cossin" else ""
        raise InputError(f"rff: dim must be a positive integer{even}, got {dim}")
    if not (sigma > 0 and math.isfinite(sigma)):
        raise InputError(f"rff: sigma must be a positive number, got {sigma}")
    rng = np.random.default_rng(seed)
    if variant == "cos":
        W = rng.normal(0.0, sigma, size=(3, dim))
        b = rng.uniform(0.0, 2 * np.pi, size=dim)
        return W, b
    return rng.normal(0.0, sigma, size=(3, dim // 2)), None


def rff_features(lonlat: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Random Fourier features of the unit vectors of (lon, lat) degrees (see module doc)."""
    proj = lonlat_to_xyz(lonlat) @ W
    if b is not None:
        proj += b
        np.cos(proj, out=proj)
        proj *= math.sqrt(2.0 / W.shape[1])
        return proj
    k = W.shape[1]
    out = np.empty((lonlat.shape[0], 2 * k))
    np.cos(proj, out=out[:, :k])
    np.sin(proj, out=out[:, k:])
    out *= 1.0 / math.sqrt(k)
    return out


@register_encoder("rff", kind="parameter-free", license="MIT",
                  citation="Rahimi & Recht 2007, Random Features for Large-Scale Kernel Machines, NeurIPS; "
                           "Tancik et al. 2020, Fourier Features Let Networks Learn High Frequency Functions, NeurIPS")
def rff_encoder(*, dim: int = 256, sigma: float = 8.0, seed: int = 0, variant: str = "cos") -> ArrayEncoder:
    """Random Fourier features of the 3D unit vector, Gaussian kernel with bandwidth sigma (dim D)."""
    W, b = rff_weights(dim, sigma, seed, variant)
    return ArrayEncoder("rff", dim, lambda x: rff_features(x, W, b), {"sigma": sigma, "seed": seed})
