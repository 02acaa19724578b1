"""The location-encoder protocol, its registry, and embedding with validation.

An encoder maps ``(N, 2)`` float64 (lon, lat) degrees to an ``(N, D)`` embedding.
Encoders whose upstream takes (lat, lon) flip inside their own adapter, never at the
call site. Built-ins register with :func:`register_encoder`; third-party packages use
the entry-point group ``geobench.encoders`` (an entry point names a factory) or
``--plugin module``.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from geobench.cache import safe_name
from geobench.coords import validate_lonlat
from geobench.errors import InputError
from geobench.registry import Registry, convert_options, parse_spec


@runtime_checkable
class Encoder(Protocol):
    """A frozen location encoder. ``encode`` takes (lon, lat) degrees, lon first."""

    name: str
    dim: int
    meta: dict

    def encode(self, lonlat: np.ndarray) -> np.ndarray: ...


@dataclass
class ArrayEncoder:
    """An encoder backed by a vectorised function ``fn((n, 2) lon/lat degrees) -> (n, dim)``.

    ``encode`` validates the input, calls ``fn`` in chunks of ``batch_size`` rows and
    shows a progress bar when there are many chunks. ``dim=None`` (a user callable): found
    from the first call, so the function is only ever called on real points.
    """

    name: str
    dim: int | None
    fn: Callable[[np.ndarray], np.ndarray]
    meta: dict = field(default_factory=dict)
    batch_size: int = 100_000

    def encode(self, lonlat: np.ndarray) -> np.ndarray:
        out = self._encode(lonlat)
        if self.dim is None and getattr(out, "ndim", 0) == 2 and out.shape[0]:
            self.dim = int(out.shape[1])
        return out

    def _encode(self, lonlat: np.ndarray) -> np.ndarray:
        x = validate_lonlat(lonlat, what=f"encoder {self.name!r} input")
        n = x.shape[0]
        if n <= self.batch_size:
            return np.asarray(self.fn(x))
        from tqdm.auto import tqdm

        out = None
        for s in tqdm(range(0, n, self.batch_size), desc=f"embed {self.name}", leave=False,
                      disable=n < 4 * self.batch_size):
            chunk = x[s : s + self.batch_size]
            e = np.asarray(self.fn(chunk))
            if e.ndim != 2 or e.shape[0] != chunk.shape[0] or (out is not None and e.shape[1] != out.shape[1]):
                raise InputError(f"encoder {self.name!r} returned shape {e.shape} for a batch of {chunk.shape[0]} "
                                 "points; expected (batch, dim). Fix its encode function.")
            if out is None:
                out = np.empty((n, e.shape[1]), dtype=e.dtype)
            out[s : s + e.shape[0]] = e
        return out


@dataclass(frozen=True)
class EncoderEntry:
    """Registry entry: a factory plus metadata shown by ``geobench list``.

    ``kind`` is one of ``parameter-free``, ``label-only`` (no location: the ``constant``
    reference), ``pretrained`` (released weights), ``trained-in-repo``
    (weights trained here), ``architecture`` (needs its weights named in the spec, e.g.
    ``satclip:weights=...``; not part of ``all``), ``plugin``.
    ``trained_on`` names the datasets the default weights were trained on and ``tuned_on`` the
    geobench tasks used to select their hyper-parameters (in the spirit of MTEB's training
    datasets); both empty when not declared. ``tuned_on`` may be given as a zero-argument
    function (e.g. reading a shipped checkpoint's record), called on first use, not at import.
    A factory may override them per instance on ``meta`` (``None`` there means unknown, e.g. a
    user checkpoint).
    """

    name: str
    factory: Callable[..., Encoder]
    kind: str = "plugin"
    citation: str = ""
    license: str = ""
    description: str = ""
    trained_on: tuple[str, ...] = ()
    tuned_on_source: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()

    @property
    def tuned_on(self) -> tuple[str, ...]:
        src = self.tuned_on_source
        return tuple(src()) if callable(src) else tuple(src)


ENCODERS: Registry[EncoderEntry] = Registry(
    "encoder",
    builtin_modules=("geobench.baselines", "geobench.encoders"),
    entry_point_group="geobench.encoders",
)


def default_encoders() -> list[str]:
    """The registered encoders that build without options: what ``--encoder all`` runs
    (architectures that need their weights named, like ``satclip``, are left out)."""
    return [n for n, e in ENCODERS.items() if getattr(e, "kind", "plugin") != "architecture"]


def register_encoder(name: str, *, kind: str, citation: str = "", license: str = "",
                     description: str = "", trained_on: tuple[str, ...] = (),
                     tuned_on: tuple[str, ...] | Callable[[], tuple[str, ...]] = (),
                     override: bool = False) -> Callable:
    """Decorator registering an encoder factory ``f(**options) -> Encoder`` under ``name``.

    Options are keyword arguments with defaults; ``name:key=value`` strings are converted
    to the default's type. ``trained_on`` / ``tuned_on``: see :class:`EncoderEntry`. A name
    already registered raises DuplicateNameError unless ``override=True``.
    """

    def deco(factory: Callable[..., Encoder]) -> Callable[..., Encoder]:
        ENCODERS.register(name, EncoderEntry(name, factory, kind, citation, license,
                                             description or (factory.__doc__ or "").strip().split("\n")[0],
                                             tuple(trained_on), tuned_on if callable(tuned_on) else tuple(tuned_on)),
                          override=override)
        return factory

    return deco


def canonical_spec(name: str, opts: dict[str, Any], factory: Callable | None = None) -> str:
    """``name:k=v`` with keys sorted (tuples as ``a/b``, so the spec parses back): the name an
    encoder or head has in caches and records. Given the ``factory`` (or constructor) whose
    keyword defaults the typed ``opts`` follow, options equal to their default are dropped, so
    ``sh``, ``sh:L=10`` and ``sh:L=010`` are all ``sh`` (one cell, one cache entry)."""
    if factory is not None:
        params = inspect.signature(factory).parameters
        opts = {k: v for k, v in opts.items() if k not in params or not _same(v, params[k].default)}
    fmt = lambda v: "/".join(map(str, v)) if isinstance(v, tuple) else str(v)  # noqa: E731
    return ":".join([name] + [f"{k}={fmt(opts[k])}" for k in sorted(opts)])


def _same(value: Any, default: Any) -> bool:
    """``value`` equals a keyword default of the same type (``1 == True`` is not the same)."""
    if default is inspect.Parameter.empty or type(value) is not type(default):
        return False
    return bool(value == default)


def spec_of(enc: Any) -> str:
    """The name an encoder has in records and messages: ``meta["spec"]``, else its ``name``,
    else its class name (a user object need not have a ``name``)."""
    meta = getattr(enc, "meta", None) or {}
    return str(meta.get("spec") or getattr(enc, "name", None) or type(enc).__name__)


def get_encoder(spec: "str | Encoder | Callable[[np.ndarray], np.ndarray]", *, name: str | None = None,
                version: str | int | None = None) -> Encoder:
    """Resolve a registered ``name[:key=value...]``, an object with ``encode``, or a callable.

    The returned encoder's ``meta`` has ``spec`` (the canonical id) and ``kind``, and
    ``trained_on`` / ``tuned_on`` when the entry declares them (unless the factory set them). A
    user encoder (object or callable) also gets ``code_fingerprint`` (its code, see
    :func:`geobench.evaluation.identity.code_fingerprint`) and, if given, ``version``: both are
    part of every result's identity, so editing the function, or passing a new ``version``
    when something the fingerprint cannot see changed (weights in a file, a global array),
    gives new results instead of old ones.
    """
    if isinstance(spec, str):
        base, raw = parse_spec(spec)
        entry = ENCODERS.get(base)
        if not isinstance(entry, EncoderEntry):  # an entry point that names a bare factory
            entry = EncoderEntry(base, entry)
        opts = convert_options(entry.factory, raw, f"encoder {base!r}")
        enc = entry.factory(**opts)
        enc.meta.setdefault("kind", entry.kind)
        enc.meta.setdefault("citation", entry.citation)
        tuned = entry.tuned_on
        if entry.trained_on or tuned:
            enc.meta.setdefault("trained_on", entry.trained_on)
            enc.meta.setdefault("tuned_on", tuned)
        enc.meta["spec"] = canonical_spec(base, opts, entry.factory)
        return enc
    from geobench.evaluation.identity import code_fingerprint

    if hasattr(spec, "encode"):
        enc = spec
        if not hasattr(enc, "meta"):
            enc.meta = {}
        if enc.meta.get("kind", "user") == "user" and "code_fingerprint" not in enc.meta:
            enc.meta["code_fingerprint"] = code_fingerprint(enc)
        if name:
            enc.meta["spec"] = name
        enc.meta.setdefault("spec", spec_of(enc))
        enc.meta.setdefault("kind", "user")
    elif callable(spec):
        nm = name or getattr(spec, "__name__", "user_fn")
        # dim from the first real call: never probed at a made-up point (a region-only encoder may fail there)
        enc = ArrayEncoder(nm, None, spec, {"spec": nm, "kind": "user", "code_fingerprint": code_fingerprint(spec)})
    else:
        raise InputError(f"cannot use {spec!r} as an encoder: pass a registered name, an object with encode(), "
                         "or a callable")
    if version is not None:
        enc.meta["version"] = str(version)
    return enc


def encoder_id(enc: Encoder) -> str:
    """A filesystem-safe id: the canonical spec plus a short hash of spec and weights checksum
    (and dim). A user encoder (``meta["kind"] == "user"``) is keyed by its code fingerprint and
    ``version`` instead of its dim (known only after the first call), as in a cell's identity."""
    spec = spec_of(enc)
    if enc.meta.get("kind") == "user":
        key = json.dumps({"spec": spec, "code": enc.meta.get("code_fingerprint"),
                          "version": enc.meta.get("version")}, sort_keys=True)
        return f"{safe_name(spec, limit=80)}-u{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    key = json.dumps({"spec": spec, "weights": enc.meta.get("weights_sha256"), "dim": enc.dim,
                      "version": enc.meta.get("version", 1)}, sort_keys=True)
    return f"{safe_name(spec, limit=80)}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def check_embedding(enc: Encoder, emb: np.ndarray, n: int) -> np.ndarray:
    """Reject an embedding with the wrong shape or non-finite values, naming the encoder."""
    emb = np.asarray(emb)
    spec = spec_of(enc)
    if emb.ndim != 2 or emb.shape[0] != n:
        raise InputError(f"encoder {spec!r} returned shape {emb.shape}; expected ({n}, dim). Fix its encode().")
    if getattr(enc, "dim", None) is not None and emb.shape[1] != enc.dim:
        raise InputError(f"encoder {spec!r} returned {emb.shape[1]} features but declares dim={enc.dim}")
    if emb.dtype.kind not in "biuf":
        raise InputError(f"encoder {spec!r} returned dtype {emb.dtype}; return a numeric (float) array, "
                         "e.g. np.asarray(out, dtype=np.float32)")
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:10].tolist()
        raise InputError(f"encoder {spec!r} returned NaN/inf for {int(bad.sum())} points (first rows {rows})")
    return emb


def resolve_spec(spec: str) -> str:
    """The canonical ``name:k=v`` of a spec string without building the encoder.

    Validates the name and the options, so bad specs fail before any data is loaded.
    """
    base, raw = parse_spec(spec)
    entry = ENCODERS.get(base)
    factory = entry.factory if isinstance(entry, EncoderEntry) else entry
    return canonical_spec(base, convert_options(factory, raw, f"encoder {base!r}"), factory)
