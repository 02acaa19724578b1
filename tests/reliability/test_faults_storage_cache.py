"""Cache faults (issue 14, items 3 and 19): power loss (fsync before rename, a zero-byte or
garbled cache entry is a miss), ``--force`` recomputing embeddings, and a read-only cache."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from geobench import cache
from geobench.encoding import get_encoder
from geobench.encoding.embed import embedding_path
from geobench.errors import DataError
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid
from geobench.tasks.base import load_task

RUN = dict(tracking_uri="none", progress=False, n_boot=0)
CELL = (["air_temperature"], ["direct"], ["linear"], ["random"], 1)


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A private cache holding the air_temperature points and its `direct` embedding."""
    d = tmp_path_factory.mktemp("cache")
    old = os.environ.get("GEOBENCH_CACHE")
    os.environ["GEOBENCH_CACHE"] = str(d)
    run_grid(*CELL, results_dir=d.parent / "warm-results", **RUN)
    yield d
    if old is None:
        os.environ.pop("GEOBENCH_CACHE", None)
    else:
        os.environ["GEOBENCH_CACHE"] = old


def _emb_path() -> Path:
    pts = load_task("air_temperature")
    return embedding_path(get_encoder("direct"), pts.sha256)


# --- item 3: power loss --------------------------------------------------------------

def test_atomic_write_fsyncs_file_then_renames_then_fsyncs_folder(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                 real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(b))), real_replace(a, b)))
    dest = tmp_path / "sub" / "x.json"
    cache.atomic_write_json(dest, {"a": 1})
    kinds = [k for k, _ in events]
    assert kinds == ["fsync", "replace", "fsync"], events
    assert events[0][1].endswith(".tmp") and events[2][1] == str(dest.parent)


@pytest.mark.parametrize("damage", ["zero-byte-npy", "truncated-npy", "zero-byte-sidecar", "null-sidecar",
                                    "zero-byte-points"])
def test_unreadable_cache_entry_is_a_miss(warm_cache, tmp_path, damage):
    emb = _emb_path()
    good = np.load(emb)
    target = {"zero-byte-npy": emb, "truncated-npy": emb, "zero-byte-sidecar": emb.with_suffix(".json"),
              "null-sidecar": emb.with_suffix(".json"),
              "zero-byte-points": next((warm_cache / "points").glob("air_temperature-*.parquet"))}[damage]
    content = {"truncated-npy": emb.read_bytes()[:200], "null-sidecar": b"null"}.get(damage, b"")
    target.write_bytes(content)  # what a power loss before the data reached the disk leaves
    res = run_grid(*CELL, results_dir=tmp_path, **RUN)
    assert len(res.records) == 1 and res.records[0]["status"] == "ok"
    np.testing.assert_array_equal(np.load(emb), good)  # rebuilt
    assert target.stat().st_size > len(content)


def test_force_recomputes_embeddings(warm_cache, tmp_path):
    emb = _emb_path()
    good = np.load(emb)
    cache.atomic_save_npy(emb, np.zeros_like(good))  # valid shape, wrong content
    first = run_grid(*CELL, results_dir=tmp_path, **RUN)
    assert np.load(emb).max() == 0  # without --force the cache is trusted
    forced = run_grid(*CELL, results_dir=tmp_path, force=True, **RUN)
    np.testing.assert_array_equal(np.load(emb), good)
    assert forced.records[0]["metrics"]["r2"] != first.records[0]["metrics"]["r2"]


# --- item 19: a read-only cache -------------------------------------------------------

@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """Make a folder read-only: chmod for a normal user; as root (where chmod does not stop
    writes) a read-only bind mount; if that is impossible too, make writes under it fail."""
    undo = []

    def make(d: Path) -> str:
        if os.geteuid() != 0:
            subprocess.run(["chmod", "-R", "a-w", str(d)], check=True)
            undo.append(["chmod", "-R", "u+w", str(d)])
            return "chmod"
        r = subprocess.run(["mount", "--bind", str(d), str(d)], capture_output=True)
        if r.returncode == 0:
            undo.append(["umount", "-l", str(d)])
            if subprocess.run(["mount", "-o", "remount,bind,ro", str(d)], capture_output=True).returncode == 0:
                return "mount"
        _deny_writes_under(d, monkeypatch)
        return "patched"

    yield make
    for cmd in reversed(undo):
        subprocess.run(cmd, check=False)


def _deny_writes_under(d: Path, monkeypatch) -> None:
    import tempfile

    real_access, real_mkstemp = os.access, tempfile.mkstemp

    def access(p, mode, *a, **k):
        if mode & os.W_OK and str(Path(p).resolve()).startswith(str(d)):
            return False
        return real_access(p, mode, *a, **k)

    def mkstemp(*a, dir=None, **k):
        if dir is not None and str(Path(dir).resolve()).startswith(str(d)):
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*a, dir=dir, **k)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_read_only_complete_cache_is_used(warm_cache, tmp_path, read_only):
    _emb_path()  # the embedding is there
    how = read_only(warm_cache)
    if how != "patched":
        with pytest.raises(OSError):
            (warm_cache / "probe").write_bytes(b"x")
    res = run_grid(*CELL, results_dir=tmp_path / "r1", **RUN)
    assert len(res.records) == 1 and res.records[0]["status"] == "ok"
    assert len(read_records(tmp_path / "r1" / "runs.jsonl")) == 1
    # a cell that does need a write says so, naming the cache and the fix
    with pytest.raises(DataError) as e:
        run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 1, results_dir=tmp_path / "r2", **RUN)
    assert str(warm_cache) in str(e.value) and "GEOBENCH_CACHE" in str(e.value)
