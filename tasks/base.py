"""Task metadata, the task registry, and cached, verified point sets.

A task is a :class:`TaskSpec` plus a *builder*: a pure function of declared raw files and
options that returns a DataFrame with ``lon``, ``lat`` (float64 degrees) and ``y`` (float64
target for regression; int64 class code for classification, with ``class_name``).
:func:`load_task` adds a ``continent`` column, validates the coordinates, and caches the
result as GeoParquet keyed by the task version, the options and the inputs' sha256.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from geobench.cache import atomic_path, cache_dir
from geobench.coords import validate_lonlat
from geobench.errors import DataError, InputError
from geobench.registry import Registry, convert_options

from .differences import Difference

UNAVAILABLE = "unavailable"  # an optional file's entry in Points.inputs when the build used its fallback
POINTS_SCHEMA = 2  # bump when the cached table layout or the numbers a build gives change (2: portable math)


@dataclass(frozen=True)
class TaskSpec:
    """What a task is. ``kind`` is ``regression`` or ``classification``.

    ``fidelity`` is ``same data``, ``close proxy``, ``weak proxy`` or ``external`` (data not
    shipped); ``proxy_note`` says how the data differs from the paper's. ``files`` are the
    declared data names the builder reads. ``defaults`` are the builder options.
    ``primary_metric`` (default ``r2`` for regression, ``accuracy`` for classification) ranks
    encoders everywhere. ``protocol`` (``"module:function"``) names a task's own evaluation
    protocol, called instead of split + head (see :class:`ProtocolResult`). ``differences``
    says, field by field, how the data differs from the paper's
    (:class:`~geobench.tasks.differences.Difference`; empty for the paper's own data).
    """

    name: str
    kind: str
    target: str
    unit: str
    description: str
    citation: str
    fidelity: str
    files: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    proxy_note: str = ""
    version: int = 1
    needs_external: str | None = None  # env var that must point at user data
    expected_size: int | None = None  # rows with default options, shown by `geobench list`
    primary_metric: str = ""
    protocol: str | None = None
    differences: tuple[Difference, ...] = ()
    # files the build uses where they can be fetched and otherwise replaces (with a warning), such
    # as the land-10m mask: their sha256, or UNAVAILABLE, is part of the cache key and provenance
    optional_files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.primary_metric:
            object.__setattr__(self, "primary_metric", "r2" if self.kind == "regression" else "accuracy")
        object.__setattr__(self, "differences", tuple(self.differences))
        if not all(isinstance(d, Difference) for d in self.differences):
            raise ValueError(f"task {self.name!r}: differences must be Difference objects (geobench.tasks.differences)")


@dataclass(frozen=True)
class ProtocolResult:
    """What a task's own protocol returns: metrics (the task's ``primary_metric`` among them),
    the parameters it chose, the sizes of its train/val/test sets and any warnings."""

    metrics: dict[str, float]
    head_params: dict[str, Any]
    n_train: int
    n_val: int
    n_test: int
    warnings: tuple[str, ...] = ()


def resolve_protocol(spec: TaskSpec) -> Callable[..., ProtocolResult]:
    """The function named by ``spec.protocol``: ``f(points, X, *, head, seed, n_threads)``."""
    import importlib

    mod, _, fn = (spec.protocol or "").partition(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError, ValueError) as e:
        raise InputError(f"task {spec.name!r}: protocol {spec.protocol!r} cannot be imported ({e}); "
                         "declare it as 'package.module:function'") from e


@dataclass(frozen=True)
class TaskEntry:
    spec: TaskSpec
    build: Callable[..., pd.DataFrame]


TASKS: Registry[TaskEntry] = Registry(
    "task", builtin_modules=("geobench.tasks.catalog",), entry_point_group="geobench.tasks"
)


def register_task(spec: TaskSpec, *, override: bool = False) -> Callable:
    """Decorator registering ``build(**options) -> DataFrame`` under ``spec.name``. A name
    already registered raises DuplicateNameError unless ``override=True``."""
    if spec.kind not in ("regression", "classification"):
        raise ValueError(f"task kind must be regression or classification, got {spec.kind!r}")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*", spec.name) or ".." in spec.name:
        # the name becomes a cache file name and a results folder: it must not be a path
        raise ValueError(f"invalid task name {spec.name!r}: use letters, digits, '_', '-', '.' or '+' "
                         "(no path separators, no leading '.', no '..')")

    def deco(build: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        TASKS.register(spec.name, TaskEntry(spec, build), override=override)
        return build

    return deco


def get_spec(name: str) -> TaskSpec:
    return TASKS.get(name).spec


@dataclass
class Points:
    """A task's point set. ``df`` has lon, lat, y, continent (and class_name if classification)."""

    spec: TaskSpec
    df: pd.DataFrame
    sha256: str
    options: dict[str, Any]
    inputs: dict[str, str]  # declared name -> sha256
    classes: list[str] | None
    meta: dict[str, Any]

    @property
    def lonlat(self) -> np.ndarray:
        return np.ascontiguousarray(self.df[["lon", "lat"]].to_numpy(np.float64))

    @property
    def y(self) -> np.ndarray:
        return self.df["y"].to_numpy()

    def __len__(self) -> int:
        return len(self.df)


def points_sha256(df: pd.DataFrame) -> str:
    """Content hash of lon, lat, y (stable across file formats)."""
    h = hashlib.sha256()
    for c in ("lon", "lat", "y"):
        h.update(np.ascontiguousarray(df[c].to_numpy()).tobytes())
    return h.hexdigest()


def resolve_options(spec: TaskSpec, build: Callable, opts: dict[str, Any]) -> dict[str, Any]:
    str_opts = {k: v for k, v in opts.items() if isinstance(v, str)}
    conv = convert_options(build, str_opts, f"task {spec.name!r}")
    merged = {**spec.defaults, **{k: v for k, v in opts.items() if not isinstance(v, str)}, **conv}
    unknown = set(merged) - set(spec.defaults) - _kwargs(build)
    if unknown:
        raise InputError(f"task {spec.name!r} has no option(s) {sorted(unknown)}; accepted: {sorted(spec.defaults)}")
    return merged


def _kwargs(fn: Callable) -> set[str]:
    import inspect

    return set(inspect.signature(fn).parameters)


def cache_key(spec: TaskSpec, options: dict[str, Any], inputs: dict[str, str]) -> str:
    blob = json.dumps({"task": spec.name, "version": spec.version, "options": options,
                       "inputs": inputs, "schema": POINTS_SCHEMA}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


CONTINENT_NAMES = ("Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America")


def load_task(name: str, *, rebuild: bool = False, **options: Any) -> Points:
    """Build (or read from cache) the points of task ``name``.

    Options override ``spec.defaults`` (e.g. ``n_points=10000``). The cache is rebuilt when
    any input checksum, option or the task version changes, or when the cached file's
    metadata does not match.

    ``exclude`` (every task; continent names, ``/``-separated or a list, e.g.
    ``exclude="Antarctica"``) drops the points on those continents after continents are
    assigned; the class list and codes stay as they are. Default: nothing excluded (the
    points, their sha256 and the identity are unchanged). When set, it is part of
    ``Points.options`` (canonical: names sorted, ``/``-joined), so the cells are new cells.
    """
    exclude = _exclude_names(name, options.pop("exclude", None))
    points = _load_task(name, rebuild, options)
    return _excluded(points, exclude) if exclude else points


def _exclude_names(task: str, value: Any) -> tuple[str, ...]:
    if value is None or value == "" or value == ():
        return ()
    names = value.split("/") if isinstance(value, str) else list(value)
    names = sorted({str(n).strip().replace("_", " ") for n in names if str(n).strip()})
    bad = [n for n in names if n not in CONTINENT_NAMES]
    if bad:
        raise InputError(f"task {task!r}: exclude={value!r} names no continent {bad}; "
                         f"use {', '.join(CONTINENT_NAMES)} ('/'-separated)")
    return tuple(names)


def _excluded(points: Points, names: tuple[str, ...]) -> Points:
    """``points`` without those on the continents ``names``."""
    df = points.df
    keep = ~df["continent"].isin(names).to_numpy()
    if not keep.any():
        raise InputError(f"task {points.spec.name!r}: exclude={'/'.join(names)} leaves no points")
    out = df.loc[keep].reset_index(drop=True)
    meta = {**points.meta, "excluded_continents": list(names), "n_excluded": int((~keep).sum()),
            "points_sha256": points_sha256(out),
            "n_duplicate_points": int(len(out) - len(np.unique(out[["lon", "lat"]].to_numpy(), axis=0)))}
    out.attrs = {"meta": meta}
    return Points(points.spec, out, meta["points_sha256"], {**points.options, "exclude": "/".join(names)},
                  points.inputs, points.classes, meta)


def _optional_inputs(names: tuple[str, ...]) -> dict[str, str]:
    """Declared sha256 of each optional file that can be fetched here, else :data:`UNAVAILABLE`
    (the build then uses its fallback: another cached point set, not this one)."""
    from geobench.data import checksums, fetch

    out = {}
    for n in names:
        try:
            fetch(n)
            out[n] = checksums([n])[n]
        except DataError:
            out[n] = UNAVAILABLE
    return out


def _load_task(name: str, rebuild: bool, options: dict[str, Any]) -> Points:
    from geobench.data import checksums, fetch

    entry = TASKS.get(name)
    spec = entry.spec
    if spec.needs_external and not os.environ.get(spec.needs_external):
        raise DataError(
            f"task {name!r} needs external data: set {spec.needs_external} to the folder holding it "
            "(see the task's docstring for the expected layout)."
        )
    opts = resolve_options(spec, entry.build, options)
    inputs = {**checksums(spec.files), **_optional_inputs(spec.optional_files)}
    if spec.needs_external:
        inputs = {**inputs, **external_fingerprint(os.environ[spec.needs_external])}
    key = cache_key(spec, opts, inputs)
    path = cache_dir("points") / f"{name}-{key[:16]}.parquet"
    if path.exists() and not rebuild:
        got = _read_points(path, key)
        if got is not None:
            df, meta = got
            return _points(spec, df, opts, inputs, meta)
    from geobench.cache import status
    from geobench.data.fetching import verified_reads

    with verified_reads():  # every raw file is re-hashed before the build reads it (see data.fetching)
        for f in spec.files:
            fetch(f)
        status(f"building task {name!r} (first use of these options; cached afterwards) ...")
        t0 = time.perf_counter()
        df = entry.build(**opts)
        df = _finish(spec, df)
    meta = {"build_seconds": round(time.perf_counter() - t0, 3), **df.attrs.get("meta", {})}
    status(f"built task {name!r}: {len(df):,} points in {meta['build_seconds']:.1f} s")
    _write_points(path, df, key, spec, opts, inputs, meta)
    return _points(spec, df, opts, inputs, meta)


def external_fingerprint(root: str) -> dict[str, str]:
    """Path, size and mtime of every file under an external data folder (two levels deep),
    so that pointing the env var elsewhere, or changing a file, rebuilds the cached points."""
    base = Path(root).expanduser().resolve()
    out = {"external_root": str(base)}
    if base.is_dir():
        for p in sorted(list(base.glob("*")) + list(base.glob("*/*"))):
            if p.is_file():
                st = p.stat()
                out[f"external:{p.relative_to(base)}"] = f"{st.st_size}:{st.st_mtime_ns}"
    return out


def _points(spec, df, opts, inputs, meta) -> Points:
    classes = meta.get("classes")
    return Points(spec, df, meta["points_sha256"] if "points_sha256" in meta else points_sha256(df),
                  opts, inputs, classes, meta)


def _finish(spec: TaskSpec, df: pd.DataFrame) -> pd.DataFrame:
    from .geometry import assign_continents

    missing = {"lon", "lat", "y"} - set(df.columns)
    if missing:
        raise InputError(f"task {spec.name!r} builder returned no column(s) {sorted(missing)}")
    meta = dict(df.attrs.get("meta", {}))
    validate_lonlat(df[["lon", "lat"]].to_numpy(), what=f"task {spec.name!r} points")
    df = df.reset_index(drop=True)
    df["lon"] = df["lon"].astype(np.float64)
    df["lat"] = df["lat"].astype(np.float64)
    if spec.kind == "regression":
        df["y"] = df["y"].astype(np.float64)
    else:
        df["y"] = df["y"].astype(np.int64)
        if "class_name" not in df.columns or "classes" not in meta:
            raise InputError(f"classification task {spec.name!r} must return class_name and attrs['meta']['classes']")
    if "continent" not in df.columns:
        cont, n_nearest = assign_continents(df["lon"].to_numpy(), df["lat"].to_numpy())
        df["continent"] = cont
        meta["continent_assigned_by_nearest"] = int(n_nearest)
    lonlat = df[["lon", "lat"]].to_numpy()
    meta["n_duplicate_points"] = int(len(df) - len(np.unique(lonlat, axis=0)))
    meta["points_sha256"] = points_sha256(df)
    df.attrs = {"meta": meta}
    return df


def _write_points(path: Path, df: pd.DataFrame, key: str, spec: TaskSpec, opts, inputs, meta) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    geom = shapely.to_wkb(shapely.points(df["lon"].to_numpy(), df["lat"].to_numpy()))
    plain = df.copy()
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=False).append_column("geometry", pa.array(geom, pa.binary()))
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}}}
    gb = {"key": key, "task": spec.name, "version": spec.version, "options": opts, "inputs": inputs, "meta": meta}
    md = dict(table.schema.metadata or {})
    md[b"geo"] = json.dumps(geo).encode()
    md[b"geobench"] = json.dumps(gb, default=str).encode()
    table = table.replace_schema_metadata(md)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _read_points(path: Path, key: str) -> tuple[pd.DataFrame, dict] | None:
    """Read a cached point set; None (rebuild) if unreadable or its metadata does not match."""
    import pyarrow.parquet as pq

    try:  # anything unreadable (zero bytes after a power loss, truncated, garbled) is a miss
        table = pq.read_table(path)
        gb = json.loads(table.schema.metadata[b"geobench"])
        if gb.get("key") != key:
            return None
        df = table.drop(["geometry"]).to_pandas()
        meta = gb["meta"]
        if points_sha256(df) != meta.get("points_sha256"):
            return None
    except Exception:
        return None
    df.attrs = {"meta": meta}
    return df, meta
