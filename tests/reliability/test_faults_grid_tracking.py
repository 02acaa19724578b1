"""Issue 14, items 9 and 10: MLflow stores created concurrently, broken stores, unreachable
tracking servers, a '%' in the results path, and a runs.jsonl lock held by a hung writer."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from geobench.errors import DataError
from geobench.reporting.tracking import Tracker

FIRST_RUN = textwrap.dedent("""
    import sys, warnings
    warnings.simplefilter("always")
    from geobench.reporting.tracking import Tracker
    t = Tracker(None, sys.argv[1])
    print("ENABLED" if t.enabled else "DISABLED", flush=True)
    t.log({"key": "k" + sys.argv[2], "task": "t", "encoder": "e", "head": "h", "split": "s", "seed": 0,
           "status": "ok", "metrics": {"r2": 0.5}})
    t.close()
""")


def test_concurrent_first_runs_share_one_healthy_store(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", FIRST_RUN, str(tmp_path), str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    outs = [p.communicate(timeout=240) for p in procs]
    for out, err in outs:
        assert out.strip() == "ENABLED", err[-2000:]
        assert "MLflow tracking disabled" not in err, err[-2000:]
    with warnings.catch_warnings(record=True) as w:  # a later run must not warn either
        warnings.simplefilter("always")
        t = Tracker(None, tmp_path)
        assert t.enabled
        t.close()
    assert not _mlflow_warnings(w)


def _mlflow_warnings(w) -> list[str]:
    return [str(x.message) for x in w if "MLflow" in str(x.message)]


def test_broken_store_says_how_to_repair(tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"this is not a sqlite database" * 100)
    with pytest.warns(UserWarning) as w:
        t = Tracker(None, tmp_path)
    assert not t.enabled
    msg = " ".join(str(x.message) for x in w)
    assert str(db) in msg and "move" in msg and "aside" in msg


def test_unreachable_tracking_server_fails_fast(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.warns(UserWarning, match=rf"cannot reach.*127\.0\.0\.1:{port}"):
        t = Tracker(f"http://127.0.0.1:{port}", tmp_path)
    assert not t.enabled
    assert time.perf_counter() - t0 < 15


def test_percent_in_results_path_does_not_stall(tmp_path):
    folder = tmp_path / "100%_done %41"
    folder.mkdir()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = Tracker(None, folder)
        assert t.enabled
        t.log({"key": "k", "task": "t", "encoder": "e", "head": "h", "split": "s", "seed": 0, "status": "ok",
               "metrics": {"r2": 0.5}})
        t.close()
    assert not _mlflow_warnings(w)
    assert time.perf_counter() - t0 < 60
    assert (folder / "mlflow.db").stat().st_size > 0
    assert not (tmp_path / "100%_done A").exists()


HOLD = textwrap.dedent("""
    import sys, time
    from filelock import FileLock
    with FileLock(sys.argv[1]):
        print("HELD", flush=True)
        time.sleep(60)
""")


def test_a_hung_writer_lock_times_out_with_a_message(tmp_path, monkeypatch):
    from geobench.evaluation.records import append_records

    runs = tmp_path / "runs.jsonl"
    lock = str(runs) + ".lock"
    p = subprocess.Popen([sys.executable, "-c", HOLD, lock], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "HELD"
        monkeypatch.setenv("GEOBENCH_LOCK_TIMEOUT", "1")
        t0 = time.perf_counter()
        with pytest.raises(DataError) as e:
            append_records(runs, [{"key": "a"}])
        assert time.perf_counter() - t0 < 10
        assert lock in str(e.value) and "GEOBENCH_LOCK_TIMEOUT" in str(e.value)
    finally:
        p.kill()
        p.wait()
