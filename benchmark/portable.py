"""Elementary functions that give the same bits on every machine.

NumPy's ``arcsin``, ``log1p``, ``sin`` ... pick a SIMD kernel by CPU: on an AVX-512 Xeon it
uses SVML kernels whose last bit differs from the C library's, which an AVX2 machine uses. The
task points are identified by their sha256, so points drawn through those functions had one
identity on one CPU and another identity elsewhere (measured: countries, biome, ecoregions,
elevation and population built on an AMD EPYC did not match the records made on a Xeon).

These functions use only IEEE-754 basic operations (``+ - * /`` and ``sqrt``, each correctly
rounded by the standard), ``frexp`` and comparisons, in a fixed order, with coefficients that
are exact rationals rounded once. So an array and the same numbers as Python floats give the
same bits, on any CPU, SIMD width or operating system. They are accurate to a few units in the
last place (tested against the C library), not correctly rounded.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

HALF_PI = 1.5707963267948966  # pi / 2 rounded to float64
DEG_PER_RAD = 57.29577951308232  # 180 / pi rounded to float64 (numpy.degrees' factor)
RAD_PER_DEG = 0.017453292519943295  # pi / 180 rounded to float64 (numpy.radians' factor)
LN2 = 0.6931471805599453  # log(2) rounded to float64
SQRT_HALF = 0.7071067811865476


@lru_cache(maxsize=None)
def _asin_coefficients(n: int = 30) -> tuple[float, ...]:
    """asin(a) = a * sum_k c_k a^(2k), c_k = (2k)! / (4^k (k!)^2 (2k+1)), each rounded once."""
    out, c = [], Fraction(1)
    for k in range(n):
        out.append(float(c / (2 * k + 1)))
        c = c * (2 * k + 1) / (2 * k + 2)  # (2k)! / (4^k (k!)^2), the next term of the binomial series
    return tuple(out)


@lru_cache(maxsize=None)
def _atanh_coefficients(n: int = 16) -> tuple[float, ...]:
    """atanh(s) = s * sum_k s^(2k) / (2k+1)."""
    return tuple(float(Fraction(1, 2 * k + 1)) for k in range(n))


@lru_cache(maxsize=None)
def _sin_coefficients(n: int = 16) -> tuple[float, ...]:
    """sin(x) = x * sum_k (-1)^k x^(2k) / (2k+1)!."""
    out, f = [], Fraction(1)
    for k in range(n):
        out.append(float((-1) ** k * f))
        f = f / ((2 * k + 2) * (2 * k + 3))
    return tuple(out)


def _series(z, coefficients: tuple[float, ...]):
    """sum_k c_k z^k by Horner's rule (one rounding per operation, always in this order)."""
    acc = coefficients[-1] + 0 * z
    for c in reversed(coefficients[:-1]):
        acc = acc * z + c
    return acc


def asin(x) -> np.ndarray:
    """Arcsine in radians of ``x`` in [-1, 1] (array or number; NaN outside)."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    small = a <= 0.5
    s = np.where(small, a, np.sqrt(np.maximum(1.0 - a, 0.0) / 2.0))  # 1 - a is exact for a in [0.5, 1]
    r = s * _series(s * s, _asin_coefficients())
    r = np.where(small, r, HALF_PI - 2.0 * r)  # asin(a) = pi/2 - 2 asin(sqrt((1 - a) / 2))
    return np.where(a > 1.0, np.nan, np.copysign(r, x))


def sin(x) -> np.ndarray:
    """Sine of ``x`` in radians, |x| <= pi / 2 (NaN outside)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        r = x * _series(x * x, _sin_coefficients())
    return np.where(np.abs(x) > HALF_PI, np.nan, np.clip(r, -1.0, 1.0))


def log1p(x) -> np.ndarray:
    """log(1 + x) of ``x`` > -1 (NaN at or below -1; inf stays inf)."""
    x = np.asarray(x, dtype=np.float64)
    v = 1.0 + x
    fin = np.isfinite(v) & (v > 0)
    m, e = np.frexp(np.where(fin, v, 1.0))  # v = m 2^e, m in [0.5, 1): exact
    low = m < SQRT_HALF
    m, e = np.where(low, 2.0 * m, m), np.where(low, e - 1, e)  # m in [sqrt(1/2), sqrt(2))
    s = (m - 1.0) / (m + 1.0)
    log_v = e * LN2 + 2.0 * s * _series(s * s, _atanh_coefficients())  # log m = 2 atanh((m-1)/(m+1))
    # log1p(x) = log(v) * x / (v - 1): cancels the rounding of 1 + x (exact where v == 1: log1p = x)
    d = v - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(d == 0.0, x, log_v * (x / np.where(d == 0.0, 1.0, d)))
    return np.where(fin, out, np.where(np.isposinf(x), np.inf, np.nan))


def degrees(radians) -> np.ndarray:
    """Radians to degrees: one multiplication by :data:`DEG_PER_RAD` (as numpy's)."""
    return np.asarray(radians, dtype=np.float64) * DEG_PER_RAD


def radians(degrees) -> np.ndarray:
    """Degrees to radians: one multiplication by :data:`RAD_PER_DEG` (as numpy's)."""
    return np.asarray(degrees, dtype=np.float64) * RAD_PER_DEG
