"""Compiled (numba) kernel for :func:`geobench.baselines.sh.spherical_harmonics`.

Same recurrences and the same floating-point operation order as the numpy path in
``sh.py`` (the float64 results are bit-identical), but fused per point: the Legendre and
cos/sin work vectors (length L) stay in L1 and every output row is written once,
contiguously. Rows are split over ``n_threads`` threads (numba ``prange`` over blocks).
Importing this module imports numba; ``sh.py`` imports it lazily and falls back to numpy
when numba is missing (or ``GEOBENCH_SH_BACKEND=numpy``).
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

_BLOCK = 256  # rows per prange task


@njit(parallel=True, cache=True, nogil=True)
def _sh_rows(ct, st, cp, sp, A, AB, E, out, p00, m0_scale, block):  # pragma: no cover - compiled
    n = ct.shape[0]
    L = E.shape[0]
    sqrt2 = math.sqrt(2.0)
    for bi in prange((n + block - 1) // block):
        C = np.zeros(L)  # sqrt(2) cos(m phi)
        S = np.zeros(L)  # sqrt(2) sin(m phi)
        P0 = np.zeros(L)  # rotating Pbar_{l-2}, Pbar_{l-1}, Pbar_l over m
        P1 = np.zeros(L)
        P2 = np.zeros(L)
        for i in range(bi * block, min(n, (bi + 1) * block)):
            o = out[i]
            o[0] = p00 * m0_scale
            if L == 1:
                continue
            x, s, c1, s1 = ct[i], st[i], cp[i], sp[i]
            C[1] = c1 * sqrt2
            S[1] = s1 * sqrt2
            for m in range(2, L):  # angle addition: (m-1) phi + phi
                C[m] = C[m - 1] * c1 - S[m - 1] * s1
                S[m] = S[m - 1] * c1 + C[m - 1] * s1
            prev2, prev, cur = P0, P1, P2
            prev2[:] = 0.0  # the one entry read before it is written is multiplied by AB = 0
            prev[:] = 0.0
            prev[0] = p00
            for l in range(1, L):
                Al = A[l]
                ABl = AB[l]
                for m in range(l):  # Pbar_l^m = A x Pbar_{l-1}^m - AB Pbar_{l-2}^m
                    cur[m] = (prev[m] * x) * Al[m] - prev2[m] * ABl[m]
                cur[l] = (prev[l - 1] * s) * E[l]  # Pbar_l^l = E_l sin(theta) Pbar_{l-1}^{l-1}
                c0 = l * l + l  # column of (l, 0)
                o[c0] = cur[0] * m0_scale
                for m in range(1, l + 1):
                    o[c0 + m] = cur[m] * C[m]
                    o[c0 - m] = cur[m] * S[m]
                prev2, prev, cur = prev, cur, prev2


def sh_rows(ct: np.ndarray, st: np.ndarray, cp: np.ndarray, sp: np.ndarray, A: np.ndarray, AB: np.ndarray,
            E: np.ndarray, out: np.ndarray, p00: float, m0_scale: float, n_threads: int) -> None:
    """Fill ``out`` (N, L**2; float32 or float64, C-contiguous) from float64 angle cosines/sines
    and the ``(L, L)`` recurrence coefficients, with at most ``n_threads`` threads."""
    prev = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        _sh_rows(ct, st, cp, sp, A, AB, E, out, float(p00), float(m0_scale), _BLOCK)
    finally:
        numba.set_num_threads(prev)
