"""Bad-input catalogue: every way a user can feed geobench something wrong.

Table-driven: each :class:`Case` runs one bad input and asserts the error type and that the
message names the problem (``needles``: fragments that must all appear, case-insensitive,
typically the offending value plus the fix). A few cases are *allowed* inputs whose handling
is checked instead (duplicates, an unseen test class, a tampered cache that must be rebuilt).
After every case no ``*.tmp`` file may remain in the cache or results folder and every line
of ``runs.jsonl`` must be complete JSON.

The security-hygiene checks (weights_only loading, path escapes, https-only sources) are at
the end of this file.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from geobench import data
from geobench.data import fetching
from geobench.cache import cache_root
from geobench.coords import validate_lonlat
from geobench.encoding import ArrayEncoder, get_encoder
from geobench.errors import (CheckpointError, ChecksumError, DataError, GeobenchError, InputError,
                             UnknownNameError)
from geobench.evaluation.runner import run_grid
from geobench.evaluation.splits import apply_split, parse_split
from geobench.tasks.base import TASKS, TaskSpec, load_task, points_sha256, register_task

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ["GEOBENCH_DATA"])
AIR = "air_temperature/stationDataAll.csv"
RUN = dict(tracking_uri="none", progress=False, n_boot=0)


# ---------------------------------------------------------------------------------------
# Synthetic tasks (registered for this module only) built from the real station table
# ---------------------------------------------------------------------------------------

def _stations() -> pd.DataFrame:
    raw = pd.read_csv(data.fetch(AIR))
    return pd.DataFrame({"lon": raw["Lon"].to_numpy(np.float64), "lat": raw["Lat"].to_numpy(np.float64),
                         "y": raw["meanT"].to_numpy(np.float64)})


def _build_swapped() -> pd.DataFrame:
    df = _stations()
    return df.assign(lon=df["lat"], lat=df["lon"])  # a whole table in (lat, lon) order


def _build_empty() -> pd.DataFrame:
    return _stations().iloc[:0]


def _build_single() -> pd.DataFrame:
    return _stations().iloc[:1]


def _build_nan() -> pd.DataFrame:
    df = _stations()
    df.loc[17, "lat"] = np.nan
    return df


N_EXTRA_DUPES = 7


def _build_dupes() -> pd.DataFrame:
    df = _stations()
    _, first = np.unique(df[["lon", "lat"]].to_numpy(), axis=0, return_index=True)
    rows = np.sort(first)[:N_EXTRA_DUPES]  # rows whose location occurs once so far
    return pd.concat([df, df.iloc[rows]], ignore_index=True)


def _build_const() -> pd.DataFrame:
    return _stations().assign(y=15.0)


UNSEEN_SPLIT = "random"


def _build_unseen() -> pd.DataFrame:
    """west / east by longitude, plus a class 'south' held by the single southernmost station."""
    df = _stations()
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    y = np.where(lon < 0, 0, 1)
    y[np.argmin(lat)] = 2
    classes = ["west", "east", "south"]
    df = df.assign(y=y.astype(np.int64), class_name=np.array(classes, dtype=object)[y])
    df.attrs["meta"] = {"classes": classes}
    return df


def _unseen_seed() -> int:
    """The first seed whose random split puts the one 'south' station in the test set."""
    pts = load_task("_bad_unseen")
    (row,) = np.flatnonzero(pts.y == 2)
    return next(s for s in range(100) if row in apply_split(pts.df, parse_split(UNSEEN_SPLIT), s)[2])


def _spec(name: str, kind: str = "regression") -> TaskSpec:
    return TaskSpec(name=name, kind=kind, target="t", unit="u", description="synthetic bad-input task",
                    citation="", fidelity="same data", files=(AIR,), defaults={})


SYNTHETIC = {
    "_bad_swapped": (_build_swapped, "regression"),
    "_bad_empty": (_build_empty, "regression"),
    "_bad_single": (_build_single, "regression"),
    "_bad_nan": (_build_nan, "regression"),
    "_bad_dupes": (_build_dupes, "regression"),
    "_bad_const": (_build_const, "regression"),
    "_bad_unseen": (_build_unseen, "classification"),
}


@pytest.fixture(scope="module", autouse=True)
def synthetic_tasks():
    TASKS.names()  # load the built-ins first
    for name, (build, kind) in SYNTHETIC.items():
        register_task(_spec(name, kind))(build)
    yield
    for name in SYNTHETIC:
        TASKS._items.pop(name, None)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One cache for this module's cases (so leftovers can be checked), warmed from the mirror."""
    d = tmp_path_factory.mktemp("cache")
    old = os.environ.get("GEOBENCH_CACHE")
    os.environ["GEOBENCH_CACHE"] = str(d)
    yield d
    if old is None:
        os.environ.pop("GEOBENCH_CACHE", None)
    else:
        os.environ["GEOBENCH_CACHE"] = old


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

@dataclass
class Ctx:
    tmp: Path
    results: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: Any

    def fresh_cache(self) -> Path:
        d = self.tmp / "own-cache"
        self.monkeypatch.setenv("GEOBENCH_CACHE", str(d))
        return d


@dataclass
class Case:
    id: str
    run: Callable[[Ctx], Any]
    raises: type | None = None  # None: the input is allowed; ``check`` asserts its handling
    needles: tuple[str, ...] = ()
    check: Callable[[Ctx, Any], None] | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


def _enc(name: str, fn: Callable, dim: int) -> ArrayEncoder:
    return ArrayEncoder(name, dim, fn, {})


def _run_task(task: str, enc: Any = "direct", head: str = "linear", split: str = "random", seeds: int = 1):
    def go(c: Ctx):
        return run_grid([task], [enc], [head], [split], seeds, results_dir=c.results, **RUN)
    return go


# --- coordinates ---------------------------------------------------------------------

def _check_dupes(c: Ctx, res) -> None:
    df = _build_dupes()
    n_dupes = len(df) - len(np.unique(df[["lon", "lat"]].to_numpy(), axis=0))
    base = _stations()
    n_base = len(base) - len(np.unique(base[["lon", "lat"]].to_numpy(), axis=0))
    assert n_dupes == n_base + N_EXTRA_DUPES
    assert load_task("_bad_dupes").meta["n_duplicate_points"] == n_dupes
    (r,) = res.records
    assert r["status"] == "ok" and r["provenance"]["n_duplicate_points"] == n_dupes
    assert r["n_train"] + r["n_val"] + r["n_test"] == len(df)  # duplicates are kept, not dropped


def _single_point_encodes(c: Ctx):
    e = get_encoder("wrap").encode(np.array([[13.4, 52.5]]))
    lon, lat = np.deg2rad(13.4), np.deg2rad(52.5) * 2
    np.testing.assert_allclose(e, [[np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)]])
    return e


COORDS = [
    Case("lon-out-of-range", lambda c: validate_lonlat([[10, 20], [181.5, 0], [120, 5]]), InputError,
         ("longitude outside [-180, 180]", "rows 1", "((lon + 180) % 360) - 180")),
    Case("lat-out-of-range", lambda c: validate_lonlat([[120, 20], [10, -91]]), InputError,
         ("latitude outside [-90, 90]", "rows 1", "degrees in [-90, 90]")),
    Case("lat-far-out-is-not-called-swapped", lambda c: validate_lonlat([[10, 500]]), InputError,
         ("latitude outside [-90, 90]", "degrees in [-90, 90]")),
    Case("nan", lambda c: validate_lonlat([[0, 0], [np.nan, 1]]), InputError, ("NaN or inf", "rows 1", "drop")),
    Case("inf", lambda c: validate_lonlat([[0, np.inf]]), InputError, ("NaN or inf", "rows 0")),
    Case("wrong-shape", lambda c: validate_lonlat(np.zeros((4, 3))), InputError, ("(N, 2)", "(4, 3)", "(lon, lat)")),
    Case("not-numbers", lambda c: validate_lonlat([["a", "b"]]), InputError, ("cannot convert", "(lon, lat)")),
    Case("empty", lambda c: validate_lonlat(np.zeros((0, 2))), InputError, ("empty", "at least one")),
    Case("encoder-input-nan", lambda c: get_encoder("wrap").encode(np.array([[1.0, np.nan]])), InputError,
         ("encoder 'wrap' input", "NaN")),
    Case("task-swapped-lat-lon", lambda c: load_task("_bad_swapped"), InputError,
         ("task '_bad_swapped' points", "look swapped", "(lon, lat)", "lonlat[:, ::-1]")),
    Case("task-empty", lambda c: load_task("_bad_empty"), InputError, ("task '_bad_empty' points", "empty")),
    Case("task-nan-row", lambda c: load_task("_bad_nan"), InputError, ("task '_bad_nan' points", "rows 17")),
    Case("single-point-encodes", _single_point_encodes, None,
         check=lambda c, e: None),
    Case("single-point-task-cannot-split", _run_task("_bad_single"), InputError,
         ("1 point(s)", "at least 3 points")),
    Case("duplicate-points-counted", _run_task("_bad_dupes"), None, check=_check_dupes),
]


# --- names ---------------------------------------------------------------------------

def _cli(argv: list[str]):
    def go(c: Ctx):
        from geobench.cli import main

        rc = main(argv + ["--results", str(c.results), "--tracking-uri", "none"])
        err = c.capsys.readouterr().err
        assert rc == 2, err
        raise InputError(err)  # re-raised so the table checks the printed message
    return go


NAMES = [
    Case("unknown-task", lambda c: load_task("air_temp"), UnknownNameError,
         ("unknown task 'air_temp'", "did you mean 'air_temperature'", "valid tasks:")),
    Case("unknown-encoder", lambda c: get_encoder("sattclip"), UnknownNameError,
         ("unknown encoder 'sattclip'", "did you mean 'satclip'")),
    Case("unknown-head", lambda c: run_grid(["air_temperature"], ["direct"], ["linaer"], **RUN,
                                            results_dir=c.results), UnknownNameError,
         ("unknown head 'linaer'", "did you mean 'linear'", "lightgbm, linear, mlp")),
    Case("unknown-split", lambda c: parse_split("spatial"), UnknownNameError,
         ("unknown split 'spatial'", "did you mean 'spatial_block'")),
    Case("unknown-continent", lambda c: parse_split("continent:Atlantis"), UnknownNameError,
         ("unknown continent 'Atlantis'", "Africa", "South America")),
    Case("continent-with-no-points", lambda c: apply_split(load_task("air_temperature").df,
                                                           parse_split("continent:Antarctica"), 0),
         InputError, ("'Antarctica' has no points", "continents present")),
    Case("malformed-option-no-equals", lambda c: get_encoder("sh:L"), InputError,
         ("malformed option 'L'", "name:key=value")),
    Case("malformed-option-empty-key", lambda c: get_encoder("sh:=4"), InputError, ("malformed option '=4'",)),
    Case("empty-name", lambda c: get_encoder(":L=4"), InputError, ("empty name", "sh:L=40")),
    Case("unknown-option", lambda c: get_encoder("sh:degree=4"), InputError,
         ("no option 'degree'", "accepted options:", "L")),
    Case("option-wrong-type", lambda c: get_encoder("sh:L=ten"), InputError, ("L='ten'", "not a valid int")),
    Case("split-option-not-number", lambda c: parse_split("random:train=most"), InputError,
         ("train='most'", "must be a number")),
    Case("split-leaves-no-test", lambda c: parse_split("random:train=0.9:val=0.2"), InputError,
         ("leaves no test set", "train+val < 1")),
    Case("unknown-task-option", lambda c: load_task("countries", resolution=3), InputError,
         ("no option(s) ['resolution']", "accepted", "n_points")),
    Case("task-option-wrong-type", lambda c: load_task("countries", n_points="many"), InputError,
         ("n_points='many'", "not a valid int")),
    Case("cli-unknown-task", _cli(["run", "--task", "air_temp", "--encoder", "direct"]), InputError,
         ("geobench: error: unknown task 'air_temp'", "did you mean 'air_temperature'")),
    Case("cli-malformed-encoder", _cli(["run", "--task", "air_temperature", "--encoder", "sh:L"]), InputError,
         ("geobench: error: malformed option 'L'", "name:key=value")),
]


# --- data ----------------------------------------------------------------------------

def _mirror_with(c: Ctx, name: str, transform: Callable[[bytes], bytes] | None) -> Path:
    """A mirror holding ``name`` transformed (None: the file is missing) and a fresh cache."""
    m = c.tmp / "mirror"
    dst = m / name
    dst.parent.mkdir(parents=True, exist_ok=True)
    if transform is not None:
        dst.write_bytes(transform((MIRROR / name).read_bytes()))
    c.monkeypatch.setenv("GEOBENCH_DATA", str(m))
    c.fresh_cache()
    return m


def _fetch_bad(transform):
    def go(c: Ctx):
        _mirror_with(c, AIR, transform)
        try:
            return data.fetch(AIR)
        finally:
            assert not data.cache_path(AIR).exists()  # a bad file is never installed
    return go


def _flip(b: bytes) -> bytes:
    a = bytearray(b)
    a[len(a) // 2] ^= 0x20
    return bytes(a)


def _missing_no_network(c: Ctx):
    _mirror_with(c, AIR, None)

    def offline(u):
        raise urllib.error.URLError("network unreachable (test)")

    c.monkeypatch.setattr(fetching, "_http_get", offline)
    return data.fetch(AIR)


def _cache_under_file(c: Ctx):
    f = c.tmp / "a-file"
    f.write_text("not a directory")
    c.monkeypatch.setenv("GEOBENCH_CACHE", str(f / "cache"))
    return load_task("air_temperature")


def _cache_under_proc(c: Ctx):
    c.monkeypatch.setenv("GEOBENCH_CACHE", "/proc/geobench-cache")
    return data.fetch(AIR)


def _points_file(task: str = "air_temperature") -> Path:
    (p,) = sorted((cache_root() / "points").glob(f"{task}-*.parquet"))
    return p


def _tamper_points(how: str):
    """Build air_temperature in a fresh cache, tamper with the cached GeoParquet, load again."""
    def go(c: Ctx):
        import pyarrow as pa
        import pyarrow.parquet as pq

        c.fresh_cache()
        good = load_task("air_temperature")
        p = _points_file()
        if how == "truncated":
            p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
        else:
            t = pq.read_table(p)
            md = dict(t.schema.metadata)
            gb = json.loads(md[b"geobench"])
            if how == "y":  # data edited behind geobench's back, metadata left alone
                y = t.column("y").to_numpy().copy()
                y[:10] += 1.0
                t = t.set_column(t.schema.get_field_index("y"), "y", pa.array(y))
            elif how == "key":  # metadata says it was built from other inputs
                gb["key"] = "0" * 64
            elif how == "inputs":  # inputs edited, key kept: sha of the points no longer matches meta
                gb["meta"]["points_sha256"] = "f" * 64
            md[b"geobench"] = json.dumps(gb).encode()
            pq.write_table(t.replace_schema_metadata(md), p)
        tampered = p.read_bytes()
        again = load_task("air_temperature")
        return good, again, p, tampered
    return go


def _check_rebuilt(c: Ctx, out) -> None:
    import pyarrow.parquet as pq

    good, again, p, tampered = out
    assert again.sha256 == good.sha256 == points_sha256(again.df)
    np.testing.assert_array_equal(again.y, good.y)
    assert p.read_bytes() != tampered  # rebuilt and rewritten, not reused
    t = pq.read_table(p)
    gb = json.loads(t.schema.metadata[b"geobench"])
    df = t.drop(["geometry"]).to_pandas()
    assert points_sha256(df) == gb["meta"]["points_sha256"] == good.sha256


def _tamper_embedding(c: Ctx):
    from geobench.encoding.embed import embed

    c.fresh_cache()
    pts = load_task("air_temperature")
    enc = get_encoder("wrap")
    p, _ = embed(enc, pts.lonlat, pts.sha256)
    good = np.load(p)
    p.write_bytes(p.read_bytes()[:1000])  # truncated .npy
    p2, side = embed(enc, pts.lonlat, pts.sha256)
    return good, p2, side


def _check_embedding_recomputed(c: Ctx, out) -> None:
    good, p, side = out
    again = np.load(p)
    np.testing.assert_array_equal(again, good)
    assert side["shape"] == [3076, 4]


def _results_under_file(c: Ctx):
    f = c.tmp / "a-file"
    f.write_text("not a directory")
    return run_grid(["air_temperature"], ["direct"], ["linear"], ["random"], 1, results_dir=f / "results", **RUN)


def _append_under_file(c: Ctx):
    from geobench.evaluation.records import append_records

    f = c.tmp / "a-file"
    f.write_text("not a directory")
    return append_records(f / "results" / "runs.jsonl", [{"key": "k"}])


def _foreign_lines_in_runs(c: Ctx):
    runs = c.results / "runs.jsonl"
    runs.write_bytes(b'[1, 2]\n{"no": "key"}\n\xff\xfe garbage\n"text"\n')
    return run_grid(["air_temperature"], ["direct"], ["linear"], ["random"], 1, results_dir=c.results, **RUN)


def _check_foreign_lines(c: Ctx, res) -> None:
    from geobench.evaluation.records import read_records

    assert len(res.records) == 1
    with pytest.warns(UserWarning, match="skipped 4 incomplete or invalid line"):
        assert [r["key"] for r in read_records(c.results / "runs.jsonl")] == [res.records[0]["key"]]
    again = run_grid(["air_temperature"], ["direct"], ["linear"], ["random"], 1, results_dir=c.results, **RUN)
    assert again.skipped == 1 and again.records == []
    (c.results / "runs.jsonl").write_bytes(b"")  # the foreign lines are not ours to check below


DATA = [
    Case("runs-jsonl-with-foreign-lines", _foreign_lines_in_runs, None, check=_check_foreign_lines),
    Case("results-dir-not-writable-run", _results_under_file, DataError,
         ("a-file/results", "not a directory", "writable folder")),
    Case("results-dir-not-writable-records", _append_under_file, DataError,
         ("a-file/results/runs.jsonl", "not a directory", "--results a writable folder")),
    Case("truncated-mirror-file", _fetch_bad(lambda b: b[:1000]), ChecksumError,
         (AIR, "1000 bytes, expected 383938", "truncated", "GEOBENCH_DATA mirror", "geobench data fetch")),
    Case("wrong-checksum", _fetch_bad(_flip), ChecksumError,
         (AIR, "fails its checksum", "expected sha256 92d8456d", "GEOBENCH_DATA mirror")),
    Case("missing-mirror-file-offline", lambda c: (_mirror_with(c, AIR, None), data.fetch(AIR, offline=True)),
         DataError, (AIR, "not in the cache", "not in GEOBENCH_DATA", "geobench data fetch")),
    Case("missing-mirror-file-no-network", _missing_no_network, DataError,
         ("cannot fetch " + AIR, "does not hold it either", "set GEOBENCH_DATA")),
    Case("unknown-data-file", lambda c: data.fetch("air_temperature/stations.csv"), InputError,
         ("unknown data file 'air_temperature/stations.csv'", AIR)),
    Case("cache-dir-under-a-file", _cache_under_file, DataError,
         ("cannot be created", "Not a directory", "set GEOBENCH_CACHE to a writable folder")),
    Case("cache-dir-under-proc", _cache_under_proc, DataError,
         ("/proc/geobench-cache", "set GEOBENCH_CACHE to a writable folder")),
    Case("points-cache-y-tampered-is-rebuilt", _tamper_points("y"), None, check=_check_rebuilt),
    Case("points-cache-key-tampered-is-rebuilt", _tamper_points("key"), None, check=_check_rebuilt),
    Case("points-cache-sha-tampered-is-rebuilt", _tamper_points("inputs"), None, check=_check_rebuilt),
    Case("points-cache-truncated-is-rebuilt", _tamper_points("truncated"), None, check=_check_rebuilt),
    Case("embedding-cache-truncated-is-recomputed", _tamper_embedding, None, check=_check_embedding_recomputed),
]


# --- checkpoints ---------------------------------------------------------------------

L_CK, CAP, EMB, LAYERS = 4, 8, 6, 2


def _satclip_state(L: int = L_CK) -> dict:
    import torch

    g = torch.Generator().manual_seed(0)
    sd = {}
    for i in range(LAYERS):
        sd[f"layers.{i}.weight"] = torch.randn(CAP, L * L if i == 0 else CAP, generator=g)
        sd[f"layers.{i}.bias"] = torch.randn(CAP, generator=g)
    sd["last_layer.weight"] = torch.randn(EMB, CAP, generator=g)
    sd["last_layer.bias"] = torch.randn(EMB, generator=g)
    return sd


def _good_ckpt(c: Ctx, L: int = L_CK) -> Path:
    from geobench.encoders.satclip.checkpoint import official_hparams, save_checkpoint

    p = c.tmp / f"satclip_L{L}.ckpt"
    save_checkpoint(p, _satclip_state(L), official_hparams(L, num_layers=LAYERS, capacity=CAP, embed_dim=EMB))
    return p


def _load_ck(make: Callable[[Ctx], Path], L: int | None = None):
    def go(c: Ctx):
        from geobench.encoders.satclip.checkpoint import load_checkpoint

        return load_checkpoint(make(c), L=L)
    return go


def _torch_save(c: Ctx, obj: Any, name: str = "bad.ckpt") -> Path:
    import torch

    p = c.tmp / name
    torch.save(obj, p)
    return p


def _edited_ckpt(edit: Callable[[dict], None]):
    def make(c: Ctx) -> Path:
        import torch

        ck = torch.load(_good_ckpt(c), map_location="cpu", weights_only=True)
        edit(ck)
        return _torch_save(c, ck)
    return make


class _Evil:
    """Unpickling this would create a marker file: weights_only loading must refuse it."""

    marker: Path | None = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _pickle_bomb(c: Ctx) -> Path:
    from geobench.encoders.satclip.checkpoint import official_hparams

    _Evil.marker = c.tmp / "pwned"
    return _torch_save(c, {"state_dict": {}, "hyper_parameters": official_hparams(L_CK), "x": _Evil()})


def _check_valid_ckpt(c: Ctx, ck) -> None:
    assert (ck.L, ck.num_layers, ck.capacity, ck.embed_dim) == (L_CK, LAYERS, CAP, EMB)
    assert ck.sha256 == hashlib.sha256((c.tmp / f"satclip_L{L_CK}.ckpt").read_bytes()).hexdigest()


def _satclip_encoder_wrong_L(c: Ctx):
    return get_encoder(f"satclip:L=10:ckpt={_good_ckpt(c)}")


def _geoclip_bad(obj_or_bytes):
    def go(c: Ctx):
        from geobench.encoders.geoclip import load_weights

        if isinstance(obj_or_bytes, bytes):
            p = c.tmp / "geoclip.pth"
            p.write_bytes(obj_or_bytes)
        else:
            p = _torch_save(c, obj_or_bytes(), "geoclip.pth")
        return load_weights(p)
    return go


def _geoclip_wrong_shape():
    import torch

    return {"LocEnc0.capsule.0.b": torch.zeros(3, 3)}  # first tensor checked


def _geoclip_missing():
    import torch

    return {"LocEnc0.capsule.0.b": torch.zeros(256, 2)}


CHECKPOINTS = [
    Case("ckpt-valid-control", _load_ck(_good_ckpt, L=L_CK), None, check=_check_valid_ckpt),
    Case("ckpt-not-a-checkpoint", _load_ck(lambda c: (c.tmp / "x.ckpt").write_text("hello") and c.tmp / "x.ckpt"),
         CheckpointError, ("x.ckpt", "weights_only=True", "download it again")),
    Case("ckpt-missing-file", _load_ck(lambda c: c.tmp / "nope.ckpt"), CheckpointError,
         ("nope.ckpt", "file not found", "ckpt")),
    Case("ckpt-wrong-format-list", _load_ck(lambda c: _torch_save(c, [1, 2, 3])), CheckpointError,
         ("holds a list", "'state_dict' and 'hyper_parameters'")),
    Case("ckpt-missing-state-dict", _load_ck(_edited_ckpt(lambda ck: ck.pop("state_dict"))), CheckpointError,
         ("no 'state_dict' entry", "SatCLIP Lightning checkpoint")),
    Case("ckpt-missing-hparam", _load_ck(_edited_ckpt(lambda ck: ck["hyper_parameters"].pop("capacity"))), CheckpointError,
         ("hyper_parameters lack ['capacity']",)),
    Case("ckpt-missing-tensor",
         _load_ck(_edited_ckpt(lambda ck: ck["state_dict"].pop("model.location.nnet.last_layer.bias"))),
         CheckpointError,
         ("lacks", "last_layer.bias", "truncated or from another model")),
    Case("ckpt-wrong-shape", _load_ck(_edited_ckpt(lambda ck: ck["state_dict"].__setitem__(
        "model.location.nnet.layers.1.weight", __import__("torch").zeros(CAP, CAP + 1)))), CheckpointError,
         ("layers.1.weight", f"shape ({CAP}, {CAP + 1})", f"expected ({CAP}, {CAP})")),
    Case("ckpt-pickle-refused", _load_ck(_pickle_bomb), CheckpointError,
         ("weights_only=True", "pickles objects other than tensors"),
         check=None, tags=("no-marker",)),
    Case("ckpt-L-mismatch", _load_ck(_good_ckpt, L=10), CheckpointError,
         (f"legendre_polys={L_CK}", "L=10 was requested", f"use L={L_CK}")),
    Case("ckpt-L-mismatch-via-encoder-spec", _satclip_encoder_wrong_L, CheckpointError,
         (f"legendre_polys={L_CK}", f"satclip:L={L_CK}:ckpt=")),
    Case("satclip-no-shipped-checkpoint-for-L", lambda c: get_encoder("satclip:L=7"), CheckpointError,
         ("no shipped satclip checkpoint for l=7", "satclip:L=7:ckpt=PATH")),
    Case("geoclip-weights-garbage", _geoclip_bad(b"\x00" * 64), CheckpointError,
         ("cannot be read as a torch state_dict", "fetch it again")),
    Case("geoclip-weights-missing-tensor", _geoclip_bad(_geoclip_missing), CheckpointError,
         ("lack tensor 'LocEnc0.capsule.1.weight'", "fetch it again")),
    Case("geoclip-weights-wrong-shape", _geoclip_bad(_geoclip_wrong_shape), CheckpointError,
         ("LocEnc0.capsule.0.b", "(3, 3)", "expected")),
]


# --- heads and encoders --------------------------------------------------------------

def _run_unseen(c: Ctx):
    seed = _unseen_seed()
    return seed, run_grid(["_bad_unseen"], ["wrap"], ["linear"], [UNSEEN_SPLIT], [seed], results_dir=c.results, **RUN)


def _check_unseen(c: Ctx, out) -> None:
    seed, res = out
    (r,) = res.records
    assert r["status"] == "ok" and r["seed"] == seed
    pts = load_task("_bad_unseen")
    tr, va, te = apply_split(pts.df, parse_split(UNSEEN_SPLIT), seed)
    assert np.setdiff1d(np.unique(pts.y[te]), np.unique(pts.y[tr])).tolist() == [2]
    assert any("1 class(es) occur in test but not in train" in w for w in r["warnings"])
    preds = pd.read_parquet(c.results / r["predictions"])
    assert len(preds) == r["n_test"] and (preds["y"] == 2).sum() == 1
    assert not (preds["pred"] == 2).any()  # a class never trained on is never predicted
    assert r["metrics"]["accuracy"] == pytest.approx(float((preds["pred"] == preds["y"]).mean()), abs=1e-12)
    assert 0.9 < r["metrics"]["accuracy"] < 1  # east/west is easy; the unseen point is always wrong


def _nan_encoder(lonlat):
    out = lonlat / 90.0
    out[lonlat[:, 1] > 60] = np.nan
    return out


def _head_const(c: Ctx):
    from geobench.heads import make_head

    X = np.random.default_rng(0).normal(size=(50, 3))
    return make_head("linear", "regression", seed=0).fit(X, np.full(50, 3.5))


def _edited_user_encoder(c: Ctx):
    """The same name for two different functions (a notebook cell edited and re-run)."""
    import geobench

    def lat_only(x):
        return np.stack([np.sin(np.deg2rad(x[:, 1])), np.cos(np.deg2rad(x[:, 1]))], 1)

    def noise(x):
        return np.random.default_rng(0).normal(size=(len(x), 2))

    kw = dict(name="mine", tasks=["air_temperature"], seeds=1, progress=False, n_boot=0)
    return [geobench.evaluate(f, results_dir=c.tmp / f"r{i}", **kw)["r2"].item()
            for i, f in enumerate((lat_only, noise, lat_only))]


def _check_edited_user_encoder(c: Ctx, r2) -> None:
    assert r2[0] > 0.7 and abs(r2[1]) < 0.05  # the noise encoder's own result, not the cached one
    assert r2[2] == r2[0]  # back to the first function: its cached embedding is reused


HEADS_ENCODERS = [
    Case("user-encoder-edited-under-same-name", _edited_user_encoder, None, check=_check_edited_user_encoder),
    Case("encoder-overflows-float32", _run_task("air_temperature", enc=_enc("hugeenc", lambda x: x * 1e300, 2)),
         InputError, ("encoder 'hugeenc'", "float32 range", "rescale")),
    Case("unseen-test-class", _run_unseen, None, check=_check_unseen),
    Case("zero-variance-target-runner", _run_task("_bad_const"), InputError,
         ("zero variance", "15.0", "check the task's target column")),
    Case("zero-variance-target-head", _head_const, InputError, ("zero variance", "3.5")),
    Case("encoder-returns-nan", _run_task("air_temperature", enc=_enc("nanenc", _nan_encoder, 2)), InputError,
         ("encoder 'nanenc'", "NaN/inf", "points")),
    Case("encoder-wrong-rows", _run_task("air_temperature", enc=_enc("shortenc", lambda x: x[1:], 2)), InputError,
         ("encoder 'shortenc'", "(3075, 2)", "expected (3076, dim)")),
    Case("encoder-wrong-dim", _run_task("air_temperature", enc=_enc("dimenc", lambda x: np.hstack([x, x]), 2)),
         InputError, ("encoder 'dimenc'", "4 features", "declares dim=2")),
    Case("encoder-not-an-encoder", lambda c: get_encoder(42), InputError,
         ("cannot use 42 as an encoder", "registered name")),
]

CASES = COORDS + NAMES + DATA + CHECKPOINTS + HEADS_ENCODERS


def test_catalogue_is_large_enough():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 25


def _leftovers(*roots: Path) -> list[Path]:
    out = []
    for r in roots:
        if r.exists():
            out += [p for p in r.rglob("*") if p.name.endswith(".tmp")]
    return out


def _check_runs_jsonl(results: Path) -> None:
    p = results / "runs.jsonl"
    if p.exists():
        raw = p.read_bytes()
        assert raw == b"" or raw.endswith(b"\n")
        for line in raw.splitlines():
            json.loads(line)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch, capsys, module_cache):
    results = tmp_path / "results"
    results.mkdir()
    ctx = Ctx(tmp_path, results, monkeypatch, capsys)
    if case.raises is None:
        out = case.run(ctx)
        if case.check:
            case.check(ctx, out)
    else:
        with pytest.raises(case.raises) as ei:
            case.run(ctx)
        assert isinstance(ei.value, GeobenchError), f"{type(ei.value).__name__} is not a geobench error"
        msg = str(ei.value).lower()
        for n in case.needles:
            assert n.lower() in msg, f"{n!r} not in message: {ei.value}"
    if "no-marker" in case.tags:
        assert not (tmp_path / "pwned").exists()  # the pickled payload never ran
    cache = Path(os.environ["GEOBENCH_CACHE"])
    assert _leftovers(results, module_cache, cache, tmp_path) == []
    _check_runs_jsonl(results)


# ---------------------------------------------------------------------------------------
# Security hygiene
# ---------------------------------------------------------------------------------------

SOURCE_DIRS = ("benchmark", "tasks", "encoders", "baselines", "scripts")


def _source_files() -> list[Path]:
    files = []
    for d in SOURCE_DIRS:
        if (ROOT / d).is_dir():
            files += sorted((ROOT / d).rglob("*.py"))
    assert len(files) > 20
    return files


def _calls(tree: ast.AST, module: str, attr: str):
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr
                and isinstance(node.func.value, ast.Name) and node.func.value.id == module):
            yield node


def test_every_torch_load_uses_weights_only():
    found, bad = [], []
    for f in _source_files():
        tree = ast.parse(f.read_text(), str(f))
        for call in _calls(tree, "torch", "load"):
            found.append(str(f.relative_to(ROOT)))
            kw = {k.arg: k.value for k in call.keywords}
            v = kw.get("weights_only")
            if not (isinstance(v, ast.Constant) and v.value is True):
                bad.append(f"{f.relative_to(ROOT)}:{call.lineno}")
        text = f.read_text()
        # no unguarded aliases that would dodge the check above
        assert "from torch import load" not in text, f
        assert "pickle.load(" not in text and "pickle.loads(" not in text, f
        for call in _calls(tree, "np", "load"):
            kw = {k.arg: k.value for k in call.keywords}
            v = kw.get("allow_pickle")
            assert v is None or (isinstance(v, ast.Constant) and v.value is False), f"{f}:{call.lineno}"
    assert found == ["encoders/torchutil.py"]  # the check sees real code, and there is one loader
    assert bad == [], f"torch.load without weights_only=True at {bad}"


def test_declared_names_cannot_escape_mirror_or_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOBENCH_CACHE", str(tmp_path / "c"))
    raw = (tmp_path / "c" / "raw").resolve()
    for name, f in data.declared().items():
        assert ".." not in Path(name).parts and not Path(name).is_absolute()
        assert data.cache_path(name).resolve().is_relative_to(raw)
    for bad in ("../x.csv", "a/../../x.csv", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="relative path without '..'"):
            data.DataFile(bad, "0" * 64, 1, data.url("https://example.org/x"))
    # fetch only resolves declared names: a traversal is an unknown name, not a file read
    with pytest.raises(InputError, match="unknown data file"):
        data.fetch("../../etc/passwd")


@pytest.mark.parametrize("spec", ["sh:L=../../x", "../../../etc", "..", "a/b\\c:d=/e", "x" * 500])
def test_encoder_ids_stay_inside_the_cache(spec, monkeypatch, tmp_path):
    from geobench.encoding.embed import embedding_path
    from geobench.encoding import encoder_id

    monkeypatch.setenv("GEOBENCH_CACHE", str(tmp_path / "c"))
    enc = ArrayEncoder(spec, 2, lambda x: x, {"spec": spec})
    eid = encoder_id(enc)
    assert "/" not in eid and "\\" not in eid and eid not in ("..", ".") and len(eid) < 120
    p = embedding_path(enc, "ab" * 32)
    emb = (tmp_path / "c" / "emb").resolve()
    assert p.resolve().parent.parent == emb


def test_task_names_must_be_filesystem_safe():
    """A task name becomes a cache file name and a results folder: no separators or '..'."""
    for bad in ("../evil", "a/b", "..", "x\\y", ".hidden"):
        with pytest.raises((ValueError, InputError)):
            register_task(_spec(bad))(_build_single)
        assert bad not in TASKS._items


def test_fetch_sources_are_https_only(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="only https"):
        data.url("http://example.org/x.csv")
    kinds = set()
    for f in data.declared().values():
        kinds.add(f.source.kind)
        if f.source.kind == "url":
            assert f.source.ref.startswith("https://"), f.name
    assert kinds <= {"url", "pypi", "npm"}
    # the npm tarball is fetched over https from the registry
    seen = []

    def spy(u):
        seen.append(u)
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(fetching, "_http_get", spy)
    npm_file = next(f for f in data.declared().values() if f.source.kind == "npm")
    with pytest.raises(urllib.error.URLError):
        fetching._download(npm_file.source, tmp_path / "x")
    assert seen and all(u.startswith("https://registry.npmjs.org/") for u in seen)


def test_refused_pickle_payload_is_live(tmp_path):
    """The pickle case above is meaningful: without weights_only the payload runs."""
    import torch

    from geobench.encoders.satclip.checkpoint import load_checkpoint

    p = _pickle_bomb(Ctx(tmp_path, tmp_path, None, None))
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_checkpoint(p)
    assert not (tmp_path / "pwned").exists()
    torch.load(p, weights_only=False)  # what an unsafe loader would do
    assert (tmp_path / "pwned").exists()
