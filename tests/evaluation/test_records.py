"""runs.jsonl appends whole lines under a lock; readers skip torn lines; leaderboard dedupes."""
from __future__ import annotations

import multiprocessing as mp

import pytest

from geobench.evaluation.records import append_records, done_keys, latest_by_key, read_records


def row(key: str, **extra) -> dict:
    """A minimal current-layout result row."""
    ident = {"task": "t", "key": key}
    return {"key": key, "task": "t", "encoder": "e", "head": "linear", "split": "random", "seed": 0, "status": "ok",
            "schema_version": 2, "identity": ident, "setting": "s", **extra}


def _writer(path, who, n):
    for i in range(n):
        append_records(path, [row(f"{who}-{i}", pad="x" * 5000)])


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "runs.jsonl"
    ctx = mp.get_context("spawn")
    ps = [ctx.Process(target=_writer, args=(path, w, 40)) for w in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    recs = read_records(path)
    assert len(recs) == 160 and len({r["key"] for r in recs}) == 160


def test_torn_trailing_line_is_skipped_and_next_append_starts_fresh(tmp_path):
    path = tmp_path / "runs.jsonl"
    append_records(path, [row("a")])
    with open(path, "a") as f:
        f.write('{"key": "b", "sta')  # a killed foreign writer
    with pytest.warns(UserWarning, match="skipped 1"):
        assert [r["key"] for r in read_records(path)] == ["a"]
    append_records(path, [row("c")])
    with pytest.warns(UserWarning):
        assert [r["key"] for r in read_records(path)] == ["a", "c"]
    assert done_keys(path) == {"a", "c"}


def test_latest_by_key_keeps_newest():
    recs = [{"key": "k", "v": 1}, {"key": "j", "v": 2}, {"key": "k", "v": 3}]
    kept, dropped = latest_by_key(recs)
    assert dropped == 1 and {r["key"]: r["v"] for r in kept} == {"k": 3, "j": 2}
