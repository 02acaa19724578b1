"""Storage faults (issue 14, items 1, 11, 16): full disks, a ``runs.jsonl`` that is a folder,
and temporary files orphaned by killed writers.

Full disks are injected (``ENOSPC`` or a short ``os.write``); when the tests run as root, one
more test fills a real 1 MB tmpfs.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geobench import cache, data
from geobench.cli import main
from geobench.data import fetching
from geobench.errors import DataError
from geobench.evaluation import records
from geobench.evaluation.records import append_records, read_records
from geobench.evaluation.runner import run_grid

AIR = "air_temperature/stationDataAll.csv"
RUN = dict(tracking_uri="none", progress=False, n_boot=0)
CELL = (["air_temperature"], ["direct"], ["linear"], ["random"], 1)
CLI = ["run", "--task", "air_temperature", "--encoder", "direct", "--head", "linear", "--split", "random",
       "--seeds", "1", "--tracking-uri", "none", "--bootstrap", "0"]


def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _full_disk_on(monkeypatch, name: str, *, short_first: bool):
    """``os.write`` to a file called ``name`` writes half (``short_first``) and then fails with ENOSPC."""
    real = os.write
    calls = []

    def write(fd, b):
        if not _fd_path(fd).endswith(name):
            return real(fd, b)
        calls.append(len(b))
        if short_first and len(calls) == 1:
            return real(fd, bytes(b)[: len(b) // 2])
        _enospc()

    monkeypatch.setattr(os, "write", write)
    return calls


def _row(key: str) -> dict:
    return {"key": key, "task": "t", "encoder": "e", "head": "h", "split": "s", "seed": 0,
            "identity": {}, "setting": "x", "schema_version": records.SCHEMA_VERSION, "pad": "x" * 3000}


# --- item 1: a full disk never tears a row -------------------------------------------

@pytest.mark.parametrize("short_first", [True, False], ids=["short-write", "enospc"])
def test_append_on_full_disk_raises_and_leaves_whole_lines(tmp_path, monkeypatch, short_first):
    path = tmp_path / "res" / "runs.jsonl"
    append_records(path, [_row("a")])
    before = path.read_bytes()
    calls = _full_disk_on(monkeypatch, "runs.jsonl", short_first=short_first)
    with pytest.raises(DataError) as e:
        append_records(path, [_row("b")])
    assert calls, "the fault was not injected"
    msg = str(e.value)
    assert str(path.parent) in msg and "no space" in msg.lower() and "--results" in msg
    assert path.read_bytes() == before  # truncated back: nothing torn left
    monkeypatch.undo()
    append_records(path, [_row("c")])  # the next write lands on a fresh, whole line
    assert [r["key"] for r in read_records(path)] == ["a", "c"]


def test_append_fsync_failure_is_rolled_back(tmp_path, monkeypatch):
    path = tmp_path / "runs.jsonl"
    append_records(path, [_row("a")])
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", lambda fd: _enospc() if _fd_path(fd).endswith("runs.jsonl") else None)
    with pytest.raises(DataError, match="no space"):
        append_records(path, [_row("b")])
    assert path.read_bytes() == before


@pytest.mark.parametrize("short_first", [True, False], ids=["short-write", "enospc"])
def test_cli_run_on_full_disk_fails_and_resumes(tmp_path, monkeypatch, capsys, short_first):
    res = tmp_path / "res"
    _full_disk_on(monkeypatch, "runs.jsonl", short_first=short_first)
    assert main([*CLI, "--results", str(res)]) == 2
    err = capsys.readouterr()
    assert "cell(s) run" not in err.out
    assert "geobench: error:" in err.err and str(res) in err.err and "Traceback" not in err.err
    runs = res / "runs.jsonl"
    assert not runs.exists() or runs.read_bytes() == b""
    monkeypatch.undo()
    assert main([*CLI, "--results", str(res)]) == 0
    assert "1 cell(s) run" in capsys.readouterr().out
    assert len(read_records(runs)) == 1


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (root only); yields a function mounting one at a path."""
    mounted: list[Path] = []

    def mount(p: Path, size: str = "1m") -> Path:
        p.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(p)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.decode().strip()}")
        mounted.append(p)
        return p

    yield mount
    for p in reversed(mounted):
        subprocess.run(["umount", "-l", str(p)], check=False)


def test_real_full_disk_for_runs_jsonl_with_predictions_elsewhere(tmp_path, tmpfs, capsys):
    """The issue's reproduction: runs.jsonl on a full file system, predictions on another mount."""
    res = tmpfs(tmp_path / "res")
    tmpfs(res / "predictions", "16m")
    (res / "runs.jsonl").write_bytes(b"")
    fd = os.open(res / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # fill it up
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    assert main([*CLI, "--results", str(res)]) == 2
    err = capsys.readouterr()
    assert "cell(s) run" not in err.out and "geobench: error:" in err.err and "no space" in err.err.lower()
    assert (res / "runs.jsonl").read_bytes() == b""
    (res / "filler").unlink()
    assert main([*CLI, "--results", str(res)]) == 0
    assert len(read_records(res / "runs.jsonl")) == 1


# --- item 11: no space for predictions, the cache or a fetch; runs.jsonl a folder ----

def test_no_space_for_predictions(tmp_path, monkeypatch):
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _enospc)
    with pytest.raises(DataError) as e:
        run_grid(*CELL, results_dir=tmp_path, **RUN)
    msg = str(e.value)
    assert "predictions" in msg and str(tmp_path) in msg and "no space" in msg.lower() and "--results" in msg
    assert not (tmp_path / "runs.jsonl").exists()  # the cell is not recorded: a re-run redoes it
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_no_space_for_the_embedding_cache(tmp_path, monkeypatch, empty_cache):
    from geobench.encoding import get_encoder
    from geobench.encoding.embed import embed

    monkeypatch.setattr(np, "save", _enospc)
    with pytest.raises(DataError) as e:
        embed(get_encoder("direct"), np.array([[1.0, 2.0], [3.0, 4.0]]), "ab" * 32)
    msg = str(e.value)
    assert str(empty_cache) in msg and "no space" in msg.lower() and "GEOBENCH_CACHE" in msg
    assert not [p for p in empty_cache.rglob("*.tmp")]


@pytest.mark.parametrize("origin", ["mirror", "download"])
def test_no_space_for_a_fetch(monkeypatch, empty_cache, origin):
    if origin == "mirror":
        monkeypatch.setattr(fetching.shutil, "copyfile", _enospc)
    else:
        monkeypatch.delenv("GEOBENCH_DATA")
        monkeypatch.setattr(fetching, "_download", _enospc)
    with pytest.raises(DataError) as e:
        data.fetch(AIR)
    msg = str(e.value)
    assert str(empty_cache) in msg and "no space" in msg.lower() and "GEOBENCH_CACHE" in msg
    assert "network" not in msg  # not blamed on the network


def test_runs_jsonl_is_a_folder(tmp_path, capsys):
    (tmp_path / "runs.jsonl").mkdir()
    with pytest.raises(DataError) as e:
        run_grid(*CELL, results_dir=tmp_path, **RUN)
    assert "runs.jsonl" in str(e.value) and "folder" in str(e.value) and "--results" in str(e.value)
    with pytest.raises(DataError, match="folder"):
        append_records(tmp_path / "runs.jsonl", [_row("a")])
    assert main([*CLI, "--results", str(tmp_path)]) == 2
    assert "geobench: error:" in capsys.readouterr().err


# --- item 16: temporary files of dead writers are removed ----------------------------

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _tmp_name(dest: str, pid: int) -> str:
    host = cache.safe_name(socket.gethostname(), keep="-")
    return f".{dest}.k3j4h5g6.{host}-{pid}.tmp"


def test_atomic_path_names_its_writer(tmp_path):
    with cache.atomic_path(tmp_path / "x.bin") as tmp:
        assert tmp.name.startswith(".x.bin.") and tmp.name.endswith(f"-{os.getpid()}.tmp")
        tmp.write_bytes(b"1")


def test_stale_tmp_of_dead_writer_removed_on_next_write(tmp_path):
    d = tmp_path / "emb"
    d.mkdir()
    dead = d / _tmp_name("a.npy", _dead_pid())
    live = d / _tmp_name("b.npy", os.getpid())
    other_host = d / f".c.npy.k3j4h5g6.some-other-host-{_dead_pid()}.tmp"
    old_legacy, new_legacy = d / ".d.npy.ab12cd34.tmp", d / ".e.npy.ab12cd34.tmp"
    for p in (dead, live, other_host, old_legacy, new_legacy):
        p.write_bytes(b"x" * 100)
    day_ago = time.time() - 2 * 86400
    os.utime(old_legacy, (day_ago, day_ago))
    cache.atomic_write_bytes(d / "f.npy", b"new")
    assert not dead.exists() and not old_legacy.exists()
    assert live.exists() and other_host.exists() and new_legacy.exists()  # maybe still being written
    assert (d / "f.npy").read_bytes() == b"new"


def test_run_removes_stale_tmp_in_results_and_cache(tmp_path, empty_cache):
    pred = tmp_path / "predictions" / "air_temperature" / "direct"
    pred.mkdir(parents=True)
    emb = empty_cache / "emb" / "_stale_probe"
    emb.mkdir(parents=True)
    stale = [pred / _tmp_name("x.parquet", _dead_pid()), emb / _tmp_name("y.npy", _dead_pid())]
    kept = pred / _tmp_name("z.parquet", os.getpid())
    for p in (*stale, kept):
        p.write_bytes(b"x")
    run_grid(*CELL, results_dir=tmp_path, **RUN)
    assert not any(p.exists() for p in stale) and kept.exists()
    json.loads((tmp_path / "runs.jsonl").read_text().splitlines()[-1])
