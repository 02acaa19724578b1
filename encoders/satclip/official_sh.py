"""The official SatCLIP "analytic" spherical harmonics, reproduced bit for bit (``satclip:...:sh=official``).

The official encoder (microsoft/satclip, ``positional_encoding/spherical_harmonics.py`` with
``harmonics_calculation="analytic"``, the setting of all released checkpoints) evaluates one
expression per (l, m) that sympy printed with 15 significant digits:
``str(Y_lm.evalf())`` for the real SH of ``spherical_harmonics_generate_ylms.py`` (no
Condon-Shortley phase, m = 0 terms pi times the orthonormal value), evaluated left to right
in eager torch float64 on ``phi = deg2rad(lon + 180)``, ``theta = deg2rad(lat + 90)``. At
L = 40 the expanded polynomials cancel catastrophically (errors up to 0.6 at degree 39 near
the poles), and the released L = 40 models were trained on those values.

Here the same expressions are generated with sympy (a torch dependency) from the same formula
and evaluated the same way; the result equals the official output exactly (tested against
the fixtures ``sh_L10.npy`` and ``sh_L40.npy``). Generating takes about 0.5 s for L = 10 and
16 s for L = 40; the expression strings are cached in ``$GEOBENCH_CACHE/satclip_sh`` (keyed by
L and the sympy version). Every expression is parsed and checked against a whitelist
(numbers, ``theta``, ``phi``, ``cos``/``sin``, arithmetic) before it is compiled, so a cached
file can hold nothing but arithmetic. Throughput is that of the official code (a few thousand
points/s at L = 40, one thread), far below geobench's exact recurrence.
"""
from __future__ import annotations

import ast
import json
from functools import lru_cache

import numpy as np

from geobench.errors import DataError

_NAMES = {"theta", "phi", "cos", "sin"}
_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load, ast.Constant,
          ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


def _ylm_strings(L: int) -> list[str]:
    """``str(Y_lm.evalf())`` for l < L, m = -l..l, as the official generator prints them."""
    from sympy import Abs, Symbol, assoc_legendre, cos, factorial, pi, sin, sqrt

    theta, phi = Symbol("theta"), Symbol("phi")
    out = []
    for l in range(L):
        for m in range(-l, l + 1):  # the official generator's formula, term for term
            if m < 0:
                plm = assoc_legendre(l, Abs(m), cos(theta))
                plm_bar = sqrt(((2 * l + 1) / (4 * pi)) * (factorial(l - Abs(m)) / factorial(l + Abs(m)))) * plm
                y = (-1) ** m * sqrt(2) * plm_bar * sin(Abs(m) * phi)
            elif m == 0:
                y = sqrt((2 * l + 1) / 4 * pi) * assoc_legendre(l, m, cos(theta))
            else:
                plm = assoc_legendre(l, m, cos(theta))
                plm_bar = sqrt(((2 * l + 1) / (4 * pi)) * (factorial(l - m) / factorial(l + m))) * plm
                y = (-1) ** m * sqrt(2) * plm_bar * cos(m * phi)
            out.append(str(y.evalf()))
    return out


def _compile(src: str):
    tree = ast.parse(src, mode="eval")
    for node in ast.walk(tree):
        ok = isinstance(node, _NODES) and not (isinstance(node, ast.Name) and node.id not in _NAMES)
        ok = ok and not (isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)))
        ok = ok and not (isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.keywords))
        if not ok:
            raise DataError(f"official SH expression {src[:80]!r}... holds {type(node).__name__}, not plain "
                            "arithmetic; delete $GEOBENCH_CACHE/satclip_sh and run again")
    return compile(tree, "<satclip official Ylm>", "eval")


@lru_cache(maxsize=4)
def ylm_code(L: int) -> tuple:
    """Compiled official Y_lm expressions (column order ``l**2 + l + m``), cached in memory and on disk."""
    import sympy

    from geobench.cache import atomic_write_json, cache_dir

    path = cache_dir("satclip_sh") / f"ylm_L{int(L)}_sympy{sympy.__version__}.json"
    strings = None
    if path.is_file():
        try:
            strings = json.loads(path.read_text())
        except (OSError, ValueError):
            strings = None
        if not (isinstance(strings, list) and len(strings) == L * L and all(isinstance(s, str) for s in strings)):
            strings = None
    if strings is None:
        strings = _ylm_strings(int(L))
        atomic_write_json(path, strings)
    return tuple(_compile(s) for s in strings)


def official_sh(lonlat: np.ndarray, L: int) -> np.ndarray:
    """(N, L**2) float64 SH of (lon, lat) degrees exactly as the official analytic encoder computes them."""
    import torch

    from ..torchutil import torch_threads

    codes = ylm_code(int(L))
    x = torch.from_numpy(np.ascontiguousarray(lonlat, dtype=np.float64))
    # one thread: thousands of small element-wise ops; two threads were 17x slower on a loaded 2-core machine
    with torch.no_grad(), torch_threads(1):
        phi = torch.deg2rad(x[:, 0] + 180)
        theta = torch.deg2rad(x[:, 1] + 90)
        env = {"__builtins__": {}, "cos": torch.cos, "sin": torch.sin, "theta": theta, "phi": phi}
        cols = []
        for code in codes:
            y = eval(code, env)  # noqa: S307 - whitelisted arithmetic only (see _compile)
            cols.append(y * torch.ones_like(phi) if isinstance(y, (int, float)) else y)
        return torch.stack(cols, dim=-1).numpy()


__all__ = ["official_sh", "ylm_code"]
