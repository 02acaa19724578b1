"""Issue 14, wrong results under odd inputs: colliding prediction files (2), raw data trusted by
size and mtime (4), tiny-scale embeddings (5), a NaN in a cached embedding (6), equivalent specs
run twice (7), the README's object encoder (12), user callables probed at (0, 0) (13), and the
embedding cache of a non-deterministic user encoder growing with every ``--force`` (18)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import geobench
from geobench import data
from geobench.encoding import get_encoder, resolve_spec
from geobench.errors import ChecksumError, DataError
from geobench.evaluation.plan import Cell, plan
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid

TASK = "air_temperature"
AIR = "air_temperature/stationDataAll.csv"
KW = dict(tracking_uri="none", progress=False, n_boot=0)


def wrap3(lonlat):
    lon, lat = np.deg2rad(lonlat).T
    return np.stack([np.sin(lon), np.cos(lon), np.sin(lat)], 1)


# --- 2: prediction files ------------------------------------------------------------------

def test_prediction_files_differ_by_task_options():
    files = {n: plan(["elevation"], ["direct"], ["linear"], ["random"], [0],
                     task_options={"n_points": n})[0].predictions_file for n in (1000, 2000)}
    assert files[1000] != files[2000]


@pytest.mark.parametrize("a, b", [("geo+", "geo_"), ("my model", "my_model")])
def test_prediction_files_differ_by_user_encoder_name(a, b):
    cells = plan([TASK], [get_encoder(wrap3, name=a), get_encoder(wrap3, name=b)], ["linear"], ["random"], [0])
    assert len(cells) == 2 and cells[0].predictions_file != cells[1].predictions_file


def test_prediction_files_differ_by_checkpoint_path():
    def cell(spec):
        identity = {"task": {"name": TASK}, "encoder": {"spec": spec}, "head": {"name": "linear"},
                    "split": "random", "seed": 0}
        return Cell(TASK, spec, "linear", "random", 0, identity=identity)

    a, b = cell("satclip:ckpt=/a/b.ckpt"), cell("satclip:ckpt=/a_b.ckpt")
    assert a.predictions_file != b.predictions_file


def test_predictions_file_carries_its_row_key_and_a_swapped_file_is_refused(tmp_path):
    from geobench.reporting.africa import read_predictions

    run_grid([TASK], ["direct", "wrap"], ["linear"], ["random"], 1, results_dir=tmp_path, **KW)
    r1, r2 = read_records(tmp_path / "runs.jsonl")
    assert r1["predictions"] != r2["predictions"]
    df = read_predictions(tmp_path, r1)  # its own file: read back
    assert len(df) == r1["n_test"]
    os.replace(tmp_path / r2["predictions"], tmp_path / r1["predictions"])  # r1 now points at r2's rows
    with pytest.raises(DataError, match="belongs to another row") as e:
        read_predictions(tmp_path, r1)
    assert r1["predictions"] in str(e.value) and "--force" in str(e.value)


# --- 4: raw data verified when points are built -------------------------------------------

def test_raw_file_edited_in_place_keeping_size_and_mtime_is_refused_at_build(empty_cache):
    from geobench.cache import sha256_file
    from geobench.tasks.base import load_task

    pts = load_task(TASK)
    p = data.cache_path(AIR)
    assert pts.inputs[AIR] == sha256_file(p)  # what was read is what the record states
    st = p.stat()
    raw = bytearray(p.read_bytes())
    i = raw.index(b".") + 1  # a digit after the first decimal point
    raw[i] = ord("0") if raw[i] != ord("0") else ord("1")
    with open(p, "r+b") as f:  # in place: same size
        f.write(raw)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime
    assert data.is_cached(AIR)  # the stamp alone cannot see the edit
    with pytest.raises(ChecksumError, match="fails its checksum") as e:
        load_task(TASK, rebuild=True)
    assert "geobench data fetch" in str(e.value)


# --- 5: the linear probe does not depend on units -----------------------------------------

@pytest.mark.parametrize("scale", [1e-7, 1e7])
def test_linear_probe_does_not_depend_on_embedding_units(scale):
    from geobench.evaluation.metrics import regression_metrics
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.heads import make_head
    from geobench.tasks.base import load_task

    pts = load_task(TASK)
    X = np.asarray(get_encoder("wrap").encode(pts.lonlat), dtype=np.float32)  # float32 as in the cache
    tr, _, te = apply_split(pts.df, parse_split("random"), 0)

    def r2(E):
        head = make_head("linear", "regression", seed=0).fit(E[tr], pts.y[tr])
        return regression_metrics(pts.y[te], head.predict(E[te]), train_mean=pts.y[tr].mean(),
                                  train_std=pts.y[tr].std())["r2"]

    base = r2(X)
    assert base > 0.5
    assert r2((X * scale).astype(np.float32)) == pytest.approx(base, abs=1e-6)


# --- 6: a NaN in a cached embedding names the file ----------------------------------------

def test_nan_in_cached_embedding_names_the_file(empty_cache, tmp_path):
    run_grid([TASK], ["direct"], ["linear"], ["random"], [0], results_dir=tmp_path / "a", **KW)
    (npy,) = (empty_cache / "emb").glob("direct-*/*.npy")
    arr = np.load(npy, mmap_mode="r+")
    arr[5, 0] = np.nan
    arr.flush()
    del arr
    with pytest.raises(DataError) as e:
        run_grid([TASK], ["direct"], ["linear"], ["random"], [0], results_dir=tmp_path / "b", **KW)
    msg = str(e.value)
    assert str(npy) in msg and "--force" in msg and "delete" in msg.lower()
    res = run_grid([TASK], ["direct"], ["linear"], ["random"], [0], results_dir=tmp_path / "b", force=True, **KW)
    assert res.records[0]["status"] == "ok" and np.isfinite(np.load(npy)).all()  # --force recomputes it


# --- 7: equivalent specs are one cell -----------------------------------------------------

def test_canonical_encoder_specs_drop_defaults_and_keep_committed_names():
    assert {resolve_spec(s) for s in ("sh", "sh:L=10", "sh:L=010")} == {"sh"}
    assert resolve_spec("sh:L=40") == "sh:L=40"
    assert resolve_spec("satclip-bm:L=40") == "satclip-bm:L=40"
    assert get_encoder("sh:L=010").meta["spec"] == "sh"


def test_equivalent_specs_plan_and_run_once(tmp_path):
    cells = plan([TASK], ["sh", "sh:L=10", "sh:L=010"], ["linear"], ["random", "random:train=0.6"], [0])
    assert len(cells) == 1 and cells[0].encoder == "sh"
    res = run_grid([TASK], ["random", "random:seed=0"], ["linear", "linear:alphas=0.1/1/10"],
                   ["random", "random:train=0.6", "random:val=0.2"], [0], results_dir=tmp_path, **KW)
    assert len(res.records) == 1 and len(read_records(tmp_path / "runs.jsonl")) == 1


# --- 12: the README's object encoder ------------------------------------------------------

class Obj:
    """An object with encode() and dim, as the README documents (no name)."""

    dim = 3

    def encode(self, lonlat):
        return wrap3(lonlat)


@pytest.mark.parametrize("name", [None, "mine"])
def test_readme_object_encoder_runs(tmp_path, name):
    df = geobench.evaluate(Obj(), name=name, tasks=[TASK], seeds=1, results_dir=tmp_path, progress=False, n_boot=0)
    assert len(df) == 1 and df["r2"].item() > 0.2
    assert df["encoder"].item() == (name or "Obj")


# --- 13: user callables are not probed at (0, 0) ------------------------------------------

def us_only(lonlat):
    lon, lat = lonlat.T
    if not ((lon > -180) & (lon < -60) & (lat > 15) & (lat < 72)).all():
        raise ValueError("outside the US")
    return wrap3(lonlat)


def test_region_only_callable_is_accepted_and_dim_is_found_on_first_call(empty_cache, tmp_path):
    enc = get_encoder(us_only, name="us_only")
    assert enc.dim is None  # not probed
    res = run_grid(["median_income"], [enc], ["linear"], ["random"], [0], results_dir=tmp_path, **KW)
    assert res.records[0]["status"] == "ok" and enc.dim == 3


# --- 18: a non-deterministic user encoder keeps one cache entry ---------------------------

def test_nondeterministic_user_encoder_with_force_keeps_one_embedding_folder(empty_cache, tmp_path):
    rng = np.random.default_rng()

    def noisy(lonlat):
        return wrap3(lonlat) + rng.normal(scale=1e-3, size=(lonlat.shape[0], 3))

    for _ in range(3):
        geobench.evaluate(noisy, name="noisy", tasks=[TASK], seeds=1, results_dir=tmp_path, force=True,
                          progress=False, n_boot=0)
    assert len(list((empty_cache / "emb").glob("noisy*"))) == 1
