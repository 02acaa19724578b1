"""Real spherical harmonics of (lon, lat) degrees: the one SH implementation in geobench.

:func:`spherical_harmonics` evaluates all real SH of degree ``l < L`` (``L**2`` features,
column ``l**2 + l + m`` for ``m = -l..l``) with one vectorised, numerically stable
recurrence; the ``sh`` encoder and the SatCLIP encoder both use it.

Conventions (``convention=``):

``"satclip"`` (default) reproduces the official SatCLIP ``SphericalHarmonics`` encoder
(``harmonics_calculation="analytic"``, microsoft/satclip ``positional_encoding``):

* angles ``phi = deg2rad(lon + 180)`` in [0, 2pi] and ``theta = deg2rad(lat + 90)`` in
  [0, pi], i.e. theta is measured from the SOUTH pole (``cos theta = -sin(lat)``);
* no Condon-Shortley phase;
* ``m > 0``: ``sqrt(2) Pbar_l^m(cos theta) cos(m phi)``; ``m < 0``:
  ``sqrt(2) Pbar_l^|m|(cos theta) sin(|m| phi)``; ``m = 0``: ``pi * Pbar_l^0(cos theta)``,
  where ``Pbar_l^m = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!) P_l^m``. The factor ``pi`` on the
  ``m = 0`` columns is upstream's missing-parentheses bug (satclip issue #33): it writes
  ``sqrt((2l+1)/4*pi)``. Released checkpoints were trained with it, so we keep it.

``"orthonormal"``: standard orthonormal real SH on the unit sphere: theta = colatitude
from the NORTH pole (``cos theta = sin(lat)``), ``phi = deg2rad(lon)``, no Condon-Shortley
phase, ``m = 0`` columns ``Pbar_l^0``. The two conventions are related exactly by
``satclip = orthonormal * (-1)**l * (pi if m == 0 else 1)``.

Precision note (L = 40). The official *analytic* SatCLIP encoder evaluates one expanded
monomial expression per (l, m) whose coefficients reach ~1e40; it loses precision through
cancellation at high degree. Against an mpmath 50-digit evaluation of the same function
(fixture ``sh_L40_reference_mp50.npy``) its max error on the 64 fixture points is <= 1e-11
for l <= 12 but 8e-10 at l = 16, 3e-7 at l = 23, 4e-6 at l = 26, 8.5e-4 at l = 33,
0.024 at l = 38 and 0.60 at l = 39 (worst: north pole, column 1560 = (39, 0)). This module
computes the exact function (max error vs the mp50 reference ~1e-13), so it matches the
official L = 10 output to < 1e-10 but deliberately does NOT reproduce the official L = 40
numbers (``sh_L40.npy``): released L = 40 checkpoints were trained on those noisy features.

Algorithm: fully normalised associated Legendre functions by the standard recurrences
``Pbar_0^0 = 1/sqrt(4 pi)``, ``Pbar_m^m = sqrt((2m+1)/(2m)) sin(theta) Pbar_{m-1}^{m-1}``,
``Pbar_l^m = a_lm (x Pbar_{l-1}^m - b_lm Pbar_{l-2}^m)`` (which gives
``Pbar_{m+1}^m = sqrt(2m+3) x Pbar_m^m`` when b = 0), vectorised over m for each l; no
factorials, so nothing overflows (tested to L = 100). ``cos(m phi)``, ``sin(m phi)`` come
from the angle-addition recurrence. Rows are processed in chunks; work arrays are laid out
``(m, row)`` so each numpy call runs over long contiguous rows, and results are written
through the transposed view of the output block (no separate transpose pass). Everything
runs in float64; float32 output is the rounded float64 result.

Backends (``backend=`` or ``GEOBENCH_SH_BACKEND``): ``auto`` (default) runs the compiled
kernel in ``sh_kernel.py`` (numba; same operations in the same order, identical output bit for
bit, about 3-4x faster per core and multi-threaded) when numba imports, else the numpy path
(with a one-time warning naming the import error); ``numpy`` forces the numpy path (the
reference); ``numba`` requires numba.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from geobench.coords import validate_lonlat
from geobench.encoding import ArrayEncoder, register_encoder
from geobench.errors import InputError

CONVENTIONS = ("satclip", "orthonormal")
BACKENDS = ("auto", "numpy", "numba")

__all__ = ["spherical_harmonics", "naive_spherical_harmonics", "spherical_harmonics_torch", "SHEncoder", "CONVENTIONS"]


_WARNED: list[str] = []


def _kernel(backend: str | None):
    """The compiled row kernel, or None for the numpy path (see the module docstring)."""
    source = "backend=" if backend else "GEOBENCH_SH_BACKEND="
    backend = backend or os.environ.get("GEOBENCH_SH_BACKEND", "auto")
    if backend not in BACKENDS:
        raise InputError(f"spherical harmonics: unknown backend {source}{backend!r}; "
                         f"use one of {', '.join(BACKENDS)}")
    if backend == "numpy":
        return None
    try:
        from geobench.baselines.sh_kernel import sh_rows
    except ImportError as e:
        if backend == "numba":
            raise InputError(f"spherical harmonics: backend 'numba' needs numba ({e}); pip install numba, "
                             "or set GEOBENCH_SH_BACKEND=numpy") from None
        if not _WARNED:
            import warnings

            _WARNED.append(str(e))
            warnings.warn(f"spherical harmonics: the compiled kernel is unavailable ({e}); using the slower "
                          "numpy path. pip install numba, or set GEOBENCH_SH_BACKEND=numpy to silence this.",
                          RuntimeWarning, stacklevel=3)
        return None
    return sh_rows


@lru_cache(maxsize=16)
def _coefficients(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recurrence coefficients ``A[l, m]``, ``AB[l, m]`` (shape (L, L, 1)) and ``E[m]``."""
    A = np.zeros((L, L, 1))
    AB = np.zeros((L, L, 1))
    for l in range(1, L):
        m = np.arange(l)  # m = 0..l-1 (m = l-1 has b = 0, giving Pbar_{m+1}^m = sqrt(2m+3) x Pbar_m^m)
        A[l, :l, 0] = np.sqrt((4.0 * l * l - 1.0) / (l * l - m * m))
        if l >= 2:
            # a_lm * b_lm = sqrt((2l+1)(l-1-m)(l-1+m) / ((2l-3)(l-m)(l+m)))
            AB[l, :l, 0] = np.sqrt((2.0 * l + 1) * (l - 1.0 - m) * (l - 1.0 + m) / ((2.0 * l - 3) * (l - m) * (l + m)))
    E = np.zeros(L)
    mm = np.arange(1, L)
    E[1:] = np.sqrt((2.0 * mm + 1) / (2.0 * mm))
    return A, AB, E


def _angles(lonlat: np.ndarray, convention: str) -> tuple[np.ndarray, ...]:
    """float64 ``cos(theta), sin(theta), cos(phi), sin(phi)`` for the convention.

    ``sin(theta) = cos(lat)`` is computed as ``sin(deg2rad(90 - |lat|))``: exactly 0 at the
    poles and accurate to full relative precision near them.
    """
    lon = np.deg2rad(lonlat[:, 0])
    lat = lonlat[:, 1]
    sin_lat = np.sin(np.deg2rad(lat))
    st = np.sin(np.deg2rad(90.0 - np.abs(lat)))
    if convention == "satclip":  # theta from the south pole, phi = lon + 180 deg
        return -sin_lat, st, -np.cos(lon), -np.sin(lon)
    return sin_lat, st, np.cos(lon), np.sin(lon)


def _default_chunk(L: int) -> int:
    # Rows per chunk: large enough to amortise numpy's per-call overhead, small enough that
    # the (L, chunk) work arrays and the chunk of output stay in cache (measured best:
    # 8192 at L=10, 2048 at L=40, 512 at L=100).
    return int(min(8192, max(256, 2 ** int(math.log2(81920 / L)))))


def spherical_harmonics(lonlat: np.ndarray, L: int, convention: str = "satclip", dtype=np.float64,
                        out: np.ndarray | None = None, chunk_size: int | None = None,
                        backend: str | None = None, n_threads: int | None = None) -> np.ndarray:
    """Real spherical harmonics of degree ``l < L`` at ``(N, 2)`` (lon, lat) degrees.

    Returns ``(N, L**2)`` in ``dtype`` (float32 or float64), column ``l**2 + l + m``.
    ``convention`` is ``"satclip"`` (official SatCLIP encoder: south-pole theta,
    phi = lon + 180, no Condon-Shortley phase, m = 0 columns times pi) or
    ``"orthonormal"`` (standard orthonormal real SH, north-pole colatitude, phi = lon);
    see the module docstring. ``out``, if given, must be a C-contiguous ``(N, L**2)``
    array of ``dtype``; it is filled and returned.

    The recurrences always run in float64; ``dtype`` only sets the output precision, so
    float32 output is the float64 result rounded (a float32 recurrence was measured
    1.3e-4 off at L=40 near the poles, where |Y| ~ 7; this way the error is < 1e-6).
    ``backend`` (``auto``/``numpy``/``numba``, default ``$GEOBENCH_SH_BACKEND`` or ``auto``)
    picks the implementation; ``n_threads`` caps the compiled kernel's threads (default: the
    enclosing :func:`geobench.threads.limit_threads` limit).
    """
    if not isinstance(L, (int, np.integer)) or isinstance(L, bool) or L < 1:
        raise InputError(f"spherical harmonics: L must be an integer >= 1 (number of degrees), got {L!r}")
    L = int(L)
    if convention not in CONVENTIONS:
        raise InputError(f"spherical harmonics: unknown convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
    odt = np.dtype(dtype)
    if odt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InputError(f"spherical harmonics: dtype must be float32 or float64, got {odt}")
    x = validate_lonlat(lonlat, what="spherical harmonics input", allow_empty=True)
    n, K = x.shape[0], L * L
    if out is None:
        out = np.empty((n, K), dtype=odt)
    elif not isinstance(out, np.ndarray) or out.shape != (n, K) or out.dtype != odt or not out.flags.c_contiguous:
        raise InputError(f"spherical harmonics: out must be a C-contiguous {odt} array of shape {(n, K)}, "
                         f"got {getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
    if n == 0:
        return out
    A, AB, E = _coefficients(L)
    satclip = convention == "satclip"
    p00 = 1 / math.sqrt(4 * math.pi)
    m0_scale = math.pi if satclip else 1.0
    kernel = _kernel(backend)
    if kernel is not None:
        from geobench.threads import current_limit

        A2, AB2, k = np.ascontiguousarray(A[:, :, 0]), np.ascontiguousarray(AB[:, :, 0]), n_threads or current_limit()
        for s0 in range(0, n, 65536):  # angles per block: a few float64 temporaries, not N-long ones
            ct, st, cp, sp = _angles(x[s0 : s0 + 65536], convention)
            kernel(ct, st, cp, sp, A2, AB2, E, out[s0 : s0 + 65536], p00, m0_scale, k)
        return out
    B = max(1, min(int(chunk_size) if chunk_size else _default_chunk(L), n))
    sqrt2 = math.sqrt(2.0)

    # Work arrays in (m, row) layout so that every numpy call runs over long contiguous
    # rows. Three rotating Legendre buffers P[l-2], P[l-1], P[l], zeroed per chunk: the one
    # entry read before it is written (Pbar_{l-2}^{l-1}) is multiplied by AB = 0, and zeroing
    # makes that product +0.0 always, so the sign of exact zeros does not depend on chunking.
    P = [np.zeros((L, B)) for _ in range(3)]
    C = np.empty((L, B))  # sqrt(2) cos(m phi)
    S = np.empty((L, B))  # sqrt(2) sin(m phi)
    tmp = np.empty((L, B))
    tmp2 = np.empty((L, B))
    t1 = np.empty(B)

    for s0 in range(0, n, B):
        b = min(B, n - s0)
        ct, st, cp, sp = _angles(x[s0 : s0 + b], convention)
        # Write straight into the transposed view of this block of output rows: no
        # separate transpose pass (which costs more than the whole recurrence).
        oT = out[s0 : s0 + b].T
        oT[0] = p00 * m0_scale
        if L == 1:
            continue
        Cb, Sb, tb = C[:, :b], S[:, :b], t1[:b]
        np.multiply(cp, sqrt2, out=Cb[1])
        np.multiply(sp, sqrt2, out=Sb[1])
        for m in range(2, L):  # angle addition: (m-1) phi + phi
            np.multiply(Cb[m - 1], cp, out=Cb[m])
            np.multiply(Sb[m - 1], sp, out=tb)
            Cb[m] -= tb
            np.multiply(Sb[m - 1], cp, out=Sb[m])
            np.multiply(Cb[m - 1], sp, out=tb)
            Sb[m] += tb
        prev2, prev, cur = P[0][:, :b], P[1][:, :b], P[2][:, :b]
        for p in (prev2, prev, cur):  # stale entries read (times AB = 0) must be +0.0 in every chunk
            p.fill(0.0)
        prev[0] = p00  # Pbar_0^0
        for l in range(1, L):
            # m = 0..l-1: Pbar_l^m = A x Pbar_{l-1}^m - AB Pbar_{l-2}^m
            tl, tl2 = tmp[:l, :b], tmp2[:l, :b]
            np.multiply(prev[:l], ct, out=tl)
            np.multiply(tl, A[l, :l], out=cur[:l])
            np.multiply(prev2[:l], AB[l, :l], out=tl2)
            cur[:l] -= tl2
            # m = l: Pbar_l^l = E_l sin(theta) Pbar_{l-1}^{l-1}
            np.multiply(prev[l - 1], st, out=cur[l])
            cur[l] *= E[l]
            c0 = l * l + l  # column of (l, 0); (l, m) is c0 + m
            np.multiply(cur[0], m0_scale, out=oT[c0])
            np.multiply(cur[1 : l + 1], Cb[1 : l + 1], out=oT[c0 + 1 : c0 + l + 1])
            np.multiply(cur[l:0:-1], Sb[l:0:-1], out=oT[c0 - l : c0])
            prev2, prev, cur = prev, cur, prev2
    return out


def spherical_harmonics_torch(lonlat, L: int, convention: str = "satclip"):
    """Thin torch wrapper: (N, 2) (lon, lat) degree tensor -> (N, L**2) tensor of its dtype
    (float32 or float64; other dtypes give float64) on its device. Computes on CPU in numpy;
    no autograd."""
    import torch

    dt = lonlat.dtype if lonlat.dtype in (torch.float32, torch.float64) else torch.float64
    arr = lonlat.detach().to("cpu", torch.float64).numpy()
    res = spherical_harmonics(arr, L, convention=convention,
                              dtype=np.float32 if dt == torch.float32 else np.float64)
    return torch.from_numpy(res).to(lonlat.device)


def naive_spherical_harmonics(lonlat: np.ndarray, L: int, convention: str = "satclip") -> np.ndarray:
    """Slow per-(l, m) reference (float64) from ``scipy.special.lpmv`` and factorial
    normalisation, with the upstream-style angles ``theta = deg2rad(lat + 90)``,
    ``phi = deg2rad(lon + 180)`` (satclip) or ``theta = deg2rad(90 - lat)``,
    ``phi = deg2rad(lon)`` (orthonormal). For tests and the speed ratio only: about
    1e-11 accurate at L=40, and L must be <= 86 (lpmv overflows for m >= 87)."""
    from scipy.special import lpmv

    if convention not in CONVENTIONS:
        raise InputError(f"unknown convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
    if not 1 <= L <= 86:
        raise InputError(f"naive spherical harmonics: L must be in 1..86 (scipy lpmv overflows), got {L}")
    x = validate_lonlat(lonlat, what="spherical harmonics input")
    if convention == "satclip":
        theta, phi = np.deg2rad(x[:, 1] + 90), np.deg2rad(x[:, 0] + 180)
    else:
        theta, phi = np.deg2rad(90 - x[:, 1]), np.deg2rad(x[:, 0])
    ct = np.cos(theta)
    out = np.empty((x.shape[0], L * L))
    for l in range(L):
        for m in range(-l, l + 1):
            am = abs(m)
            norm = math.sqrt((2 * l + 1) / (4 * math.pi) * math.exp(math.lgamma(l - am + 1) - math.lgamma(l + am + 1)))
            p = (-1) ** am * lpmv(am, l, ct)  # scipy includes the Condon-Shortley phase; remove it
            if m == 0:
                v = norm * p * (math.pi if convention == "satclip" else 1.0)
            elif m > 0:
                v = math.sqrt(2) * norm * p * np.cos(am * phi)
            else:
                v = math.sqrt(2) * norm * p * np.sin(am * phi)
            out[:, l * l + l + m] = v
    return out


@dataclass
class SHEncoder(ArrayEncoder):
    """ArrayEncoder whose ``encode`` fills one preallocated output in row blocks (no
    per-batch temporaries and copies, which matter at high L)."""

    L: int = 10
    convention: str = "satclip"
    dtype: str = "float64"

    def encode(self, lonlat: np.ndarray) -> np.ndarray:
        x = validate_lonlat(lonlat, what=f"encoder {self.name!r} input")
        n = x.shape[0]
        out = np.empty((n, self.dim), dtype=self.dtype)
        if n <= self.batch_size:
            return spherical_harmonics(x, self.L, self.convention, self.dtype, out=out)
        from tqdm.auto import tqdm

        for s in tqdm(range(0, n, self.batch_size), desc=f"embed {self.name}", leave=False,
                      disable=n < 4 * self.batch_size):
            e = min(n, s + self.batch_size)
            spherical_harmonics(x[s:e], self.L, self.convention, self.dtype, out=out[s:e])
        return out


@register_encoder("sh", kind="parameter-free",
                  citation="Russwurm et al. 2024, Geographic Location Encoding with Spherical Harmonics "
                           "and Sinusoidal Representation Networks, ICLR",
                  license="MIT")
def sh_encoder(*, L: int = 10, convention: str = "satclip", dtype: str = "float64") -> SHEncoder:
    """Real spherical harmonics, degrees l < L: L**2 features (column l**2 + l + m).

    ``convention``: ``satclip`` (official SatCLIP analytic encoding, including its pi factor
    on m = 0) or ``orthonormal``; ``dtype``: ``float64`` or ``float32``.
    """
    if L < 1:
        raise InputError(f"sh: L must be >= 1, got {L}")
    if convention not in CONVENTIONS:
        raise InputError(f"sh: unknown convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
    if dtype not in ("float32", "float64"):
        raise InputError(f"sh: dtype must be float32 or float64, got {dtype!r}")

    def fn(x: np.ndarray) -> np.ndarray:
        return spherical_harmonics(x, L, convention=convention, dtype=dtype)

    # Progress-bar granularity; the output is allocated once either way.
    batch = int(max(10_000, min(100_000, 50_000_000 // (L * L))))
    return SHEncoder(f"sh-L{L}", L * L, fn, {"convention": convention, "dtype": dtype}, batch_size=batch,
                     L=L, convention=convention, dtype=dtype)
