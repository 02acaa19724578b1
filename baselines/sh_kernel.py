"""Compiled (numba) kernel for :func:`geobench.baselines.sh.spherical_harmonics`.

The same recurrences in the same floating-point operation order as the numpy path in
``sh.py`` (float64 results are identical bit for bit, including the sign of exact zeros), but
fused per point: the Legendre and cos/sin work vectors (length L) stay in L1 and every output
row is written once, contiguously.

Two compiled drivers share the row function: a parallel one (numba ``prange`` over blocks of
rows, at most ``n_threads`` threads) and a serial one. The serial one runs for one thread, for
small inputs, and in any process forked after import: numba's OpenMP layer (GNU libgomp) kills
a forked child that starts a parallel region. Parallel calls are serialised by a lock, because
numba's fallback ``workqueue`` layer aborts on concurrent parallel calls from several threads.
Importing this module imports numba; ``sh.py`` imports it lazily and falls back to numpy.
"""
from __future__ import annotations

import math
import os
import threading

import numba
import numpy as np
from numba import njit, prange

_BLOCK = 256  # rows per prange task
_LOCK = threading.Lock()
_FORKED = False


def _mark_forked() -> None:
    global _FORKED
    _FORKED = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked)


@njit(cache=True, nogil=True)
def _fill_row(o, x, s, c1, s1, A, AB, E, p00, m0_scale, C, S, P0, P1, P2):  # pragma: no cover - compiled
    """One output row ``o`` (length L**2) from cos/sin of theta and phi; C, S, P0-P2 are work
    vectors of length L."""
    L = E.shape[0]
    o[0] = p00 * m0_scale
    if L == 1:
        return
    sqrt2 = math.sqrt(2.0)
    C[1] = c1 * sqrt2  # sqrt(2) cos(m phi), sqrt(2) sin(m phi) by angle addition
    S[1] = s1 * sqrt2
    for m in range(2, L):
        C[m] = C[m - 1] * c1 - S[m - 1] * s1
        S[m] = S[m - 1] * c1 + C[m - 1] * s1
    # rotating Pbar_{l-2}, Pbar_{l-1}, Pbar_l over m, zeroed per row: the one entry read before it
    # is written (Pbar_{l-2}^{l-1}) is multiplied by AB = 0 and must be +0.0 as in the numpy path
    P0[:] = 0.0
    P1[:] = 0.0
    P2[:] = 0.0
    prev2, prev, cur = P0, P1, P2
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


@njit(parallel=True, cache=True, nogil=True)
def _rows_parallel(ct, st, cp, sp, A, AB, E, out, p00, m0_scale, block):  # pragma: no cover - compiled
    n = ct.shape[0]
    L = E.shape[0]
    for bi in prange((n + block - 1) // block):
        C, S = np.zeros(L), np.zeros(L)
        P0, P1, P2 = np.zeros(L), np.zeros(L), np.zeros(L)
        for i in range(bi * block, min(n, (bi + 1) * block)):
            _fill_row(out[i], ct[i], st[i], cp[i], sp[i], A, AB, E, p00, m0_scale, C, S, P0, P1, P2)


@njit(cache=True, nogil=True)
def _rows_serial(ct, st, cp, sp, A, AB, E, out, p00, m0_scale):  # pragma: no cover - compiled
    L = E.shape[0]
    C, S = np.zeros(L), np.zeros(L)
    P0, P1, P2 = np.zeros(L), np.zeros(L), np.zeros(L)
    for i in range(ct.shape[0]):
        _fill_row(out[i], ct[i], st[i], cp[i], sp[i], A, AB, E, p00, m0_scale, C, S, P0, P1, P2)


def sh_rows(ct: np.ndarray, st: np.ndarray, cp: np.ndarray, sp: np.ndarray, A: np.ndarray, AB: np.ndarray,
            E: np.ndarray, out: np.ndarray, p00: float, m0_scale: float, n_threads: int) -> str:
    """Fill ``out`` (N, L**2; float32 or float64, C-contiguous) from float64 angle cosines/sines
    and the ``(L, L)`` recurrence coefficients, with at most ``n_threads`` threads.
    Returns which driver ran (``"serial"`` or ``"parallel"``)."""
    k = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    if k == 1 or _FORKED or ct.shape[0] < 2 * _BLOCK:
        _rows_serial(ct, st, cp, sp, A, AB, E, out, float(p00), float(m0_scale))
        return "serial"
    with _LOCK:
        prev = numba.get_num_threads()
        numba.set_num_threads(k)
        try:
            _rows_parallel(ct, st, cp, sp, A, AB, E, out, float(p00), float(m0_scale), _BLOCK)
        finally:
            numba.set_num_threads(prev)
    return "parallel"
