"""A cell's identity is its content, computed before any fitting.

The identity of one result cell is a JSON-able dict of seven parts:

- ``task``: name, version, options, and the sha256 of its points (lon, lat, y);
- ``encoder``: the canonical spec, the sha256 of its weights (if any), and for a user encoder
  a fingerprint of its code (:func:`code_fingerprint`) or the ``version`` the user passed;
- ``head``: name, every constructor option (defaults filled in), ``tune``, and the head
  class's ``version``;
- ``split``: the canonical split string (defaults filled in);
- ``ci``: how the confidence interval is made (``block:deg=10``, ``iid``; see
  :mod:`.intervals`): another method gives another ``ci95`` for the same predictions, so a
  cell whose CI method changed is a new cell (rows written before the part existed have none
  and carry ``ci_method: iid``);
- ``scores``: the version of what a cell scores (:data:`SCORES_VERSION`): version 2 adds the
  geo block (Moran's I of the residuals, the continent spread, the score by distance to the
  nearest training point), so a row of version 1 (no ``scores`` part) is re-run, not patched;
- ``seed``.

A cell's ``key`` is a readable prefix plus a digest of the whole identity; its ``setting`` is
the digest without the seed (the rows a leaderboard cell averages over). A changed input
gives a new key, so an old number is never returned for it.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any

import numpy as np

SCORES_VERSION = 2  # what a cell scores; see the module docstring


def digest(obj: Any, n: int = 16) -> str:
    """The first ``n`` hex digits of the sha256 of ``obj`` as canonical JSON."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def cell_key(identity: dict, task: str, encoder: str, head: str, split: str, seed: int) -> str:
    """Readable prefix plus the identity's digest: ``task|encoder|head|split|seed#<16 hex>``."""
    return "|".join([task, encoder, head, split, str(seed)]) + "#" + digest(identity)


def setting_of(identity: dict) -> str:
    """The digest of an identity without its seed: the rows one leaderboard cell averages."""
    return digest({k: v for k, v in identity.items() if k != "seed"})


def _value_fingerprint(v: Any) -> str:
    """A stable text for a value a user encoder depends on (closure cell, attribute)."""
    if isinstance(v, np.ndarray):
        return f"ndarray{v.shape}{v.dtype}:{hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()[:16]}"
    if isinstance(v, (bool, int, float, complex, str, bytes, type(None))):
        return repr(v)
    if isinstance(v, (tuple, list)) and len(v) <= 64:
        return type(v).__name__ + "(" + ",".join(_value_fingerprint(x) for x in v) + ")"
    if callable(v) and hasattr(v, "__code__"):
        return code_fingerprint(v)
    return type(v).__qualname__  # opaque objects: only their type (pass version= when they matter)


def _code_text(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):  # defined in a plain REPL: fall back to the compiled code
        code = getattr(fn, "__code__", None)
        if code is None:
            return repr(fn)
        consts = [c.co_code.hex() if hasattr(c, "co_code") else repr(c) for c in code.co_consts]
        return code.co_code.hex() + repr(consts) + repr(code.co_names)


def code_fingerprint(obj: Any) -> str:
    """16 hex digits identifying a user encoder's code.

    A function: its source text (or compiled code when the source is unavailable) plus the
    values it closes over. An object with ``encode``: its class's source plus the plain
    values and arrays in its ``__dict__``. Anything else it depends on (global arrays,
    files, opaque objects) is not seen: pass an explicit ``version=`` then.
    """
    import functools

    if isinstance(obj, functools.partial):
        parts = [code_fingerprint(obj.func), _value_fingerprint(obj.args),
                 _value_fingerprint(sorted(obj.keywords.items()))]
    elif inspect.isfunction(obj) or inspect.ismethod(obj):
        fn = getattr(obj, "__func__", obj)
        cells = [_value_fingerprint(c.cell_contents) for c in (fn.__closure__ or ()) if _has_contents(c)]
        parts = [_code_text(fn), *cells]
    else:
        cls = type(obj)
        state = sorted((k, _value_fingerprint(v)) for k, v in vars(obj).items()) if hasattr(obj, "__dict__") else []
        parts = [_code_text(cls), repr(state)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _has_contents(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty cell (a name assigned later)
        return False
    return True


def encoder_identity(enc: Any) -> dict[str, Any]:
    """Spec, weights sha256, and the code fingerprint / version of user encoders."""
    from geobench.encoding.encoder import spec_of

    meta = enc.meta
    out = {"spec": spec_of(enc), "weights_sha256": meta.get("weights_sha256")}
    if meta.get("kind") == "user":
        out["code"] = meta.get("code_fingerprint")
        out["version"] = meta.get("version")
    return out


def head_identity(spec: str, tune: bool) -> dict[str, Any]:
    """Name, every option with defaults filled in, ``tune`` and the class's ``version``."""
    from geobench.heads.base import HEADS, head_options, parse_head_spec

    name, opts = parse_head_spec(spec)
    return {"name": name, "params": head_options(name, opts), "tune": bool(tune),
            "version": getattr(HEADS.get(name), "version", 1)}


def current_head_identity(spec: str, tune: bool, cache: dict[tuple[str, bool], dict | None]) -> dict | None:
    """:func:`head_identity` of (``spec``, ``tune``) as this code gives it now, or None for a head
    not registered here (a plugin not loaded: unknown, neither current nor retired). ``cache``
    holds the answers, so a pass over many records computes each spec once."""
    from geobench.errors import GeobenchError

    key = (spec, bool(tune))
    if key not in cache:
        try:
            cache[key] = head_identity(spec, bool(tune))
        except GeobenchError:
            cache[key] = None
    return cache[key]


def task_identity(points: Any) -> dict[str, Any]:
    """Name, version, options and the points' sha256 of a loaded task."""
    return {"name": points.spec.name, "version": points.spec.version, "options": points.options,
            "points_sha256": points.sha256}
