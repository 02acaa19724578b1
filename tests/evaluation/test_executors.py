"""The fit phase gives identical records on every executor (serial, joblib/loky, a real Dask
LocalCluster with 2 worker processes), and workers x threads per worker never exceed the cores.

Worker processes inherit the parent's environment, so GEOBENCH_DATA / GEOBENCH_CACHE (set by
conftest) reach them. A wrapper around ``fit_cell`` records, inside each worker, the thread
count handed to the head and the BLAS/OpenMP pool sizes in force while it is built.
"""
from __future__ import annotations

import os

import pandas as pd
import pytest

import geobench.evaluation.runner as runner
from geobench.evaluation.executor import threads_per_worker
from geobench.evaluation.records import read_records

pytest.importorskip("distributed")

TASK = "air_temperature"
ENCODERS = ["direct", "wrap"]
SEEDS = 2
N_BOOT = 50
CORES = 2
EXECUTORS = ("serial", "joblib", "dask")
_FIT_CELL = runner.fit_cell  # the real one (the fixture patches the module attribute)


def observed_fit_cell(job):
    """``fit_cell`` plus what the worker really used: pid, the head's n_threads, pool sizes."""
    import geobench.heads as heads
    from threadpoolctl import threadpool_info

    seen: dict = {}
    real = heads.make_head

    def spy(*args, **kwargs):
        seen["n_threads"] = kwargs.get("n_threads")
        seen["pools"] = sorted({(p["internal_api"], p["num_threads"]) for p in threadpool_info()})
        return real(*args, **kwargs)

    heads.make_head = spy
    try:
        record, preds = _FIT_CELL(job)
    finally:
        heads.make_head = real
    record["observed"] = {**seen, "pid": os.getpid(), "job_n_threads": job.n_threads}
    return record, preds


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("GEOBENCH_CORES", str(CORES))  # same thread split on any machine
    mp.setattr(runner, "fit_cell", observed_fit_cell)
    out = {}
    try:
        for ex in EXECUTORS:
            d = tmp_path_factory.mktemp(ex)
            res = runner.run_grid([TASK], ENCODERS, ["linear"], ["random"], SEEDS, results_dir=d, executor=ex,
                                  n_jobs=None if ex == "serial" else 2, tracking_uri="none", progress=False,
                                  n_boot=N_BOOT)
            out[ex] = (d, res)
    finally:
        mp.undo()
    return out


def _by_key(res, field):
    return {r["key"]: r[field] for r in res.records}


def test_all_cells_run_on_every_executor(grids):
    keys = None
    for ex, (d, res) in grids.items():
        assert len(res.records) == len(ENCODERS) * SEEDS, ex
        assert all(r["status"] == "ok" for r in res.records), ex
        ks = set(_by_key(res, "metrics"))
        assert ks == {r["key"] for r in read_records(d / "runs.jsonl")}, ex
        keys = keys or ks
        assert ks == keys, ex


@pytest.mark.parametrize("ex", ["joblib", "dask"])
def test_metrics_identical_to_serial(grids, ex):
    serial = grids["serial"][1]
    other = grids[ex][1]
    assert _by_key(other, "metrics") == _by_key(serial, "metrics")
    assert _by_key(other, "per_continent") == _by_key(serial, "per_continent")
    assert _by_key(other, "ci95") == _by_key(serial, "ci95")
    assert _by_key(other, "head_params") == _by_key(serial, "head_params")
    # sanity: the metrics are real (wrap explains air temperature well) and seeds differ
    r2 = [r["metrics"]["r2"] for r in serial.records if r["encoder"] == "wrap"]
    assert min(r2) > 0.5 and len(set(r2)) == SEEDS


@pytest.mark.parametrize("ex", ["joblib", "dask"])
def test_predictions_identical_to_serial(grids, ex):
    (ds, serial), (do, other) = grids["serial"], grids[ex]
    ps = {r["key"]: r["predictions"] for r in serial.records}
    for r in other.records:
        a = pd.read_parquet(ds / ps[r["key"]])
        b = pd.read_parquet(do / r["predictions"])
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("ex", EXECUTORS)
def test_workers_times_threads_within_cores(grids, ex):
    res = grids[ex][1]
    workers = 1 if ex == "serial" else 2
    expect = threads_per_worker(ex, None if ex == "serial" else 2, cores=CORES)
    assert expect == CORES // workers
    for r in res.records:
        obs = r["observed"]
        assert obs["job_n_threads"] == expect and obs["n_threads"] == expect
        assert obs["pools"], "no BLAS/OpenMP pool visible"
        assert all(n <= expect for _, n in obs["pools"]), obs["pools"]
        assert workers * max(n for _, n in obs["pools"]) <= CORES
    pids = {r["observed"]["pid"] for r in res.records}
    if ex == "serial":
        assert pids == {os.getpid()}
    else:  # really ran in worker processes, not in the driver
        assert os.getpid() not in pids and 1 <= len(pids) <= workers
