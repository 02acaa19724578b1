"""Archiving superseded settings: a grid re-run under a new setting (here the CI method) leaves
the older rows in runs.jsonl; archiving moves exactly those lines, byte for byte, keeps every
other line (a torn one included) and leaves the leaderboard unchanged."""
from __future__ import annotations

import pytest

from geobench.evaluation.archive import archive_superseded
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid
from geobench.reporting.leaderboard import summarize


@pytest.fixture()
def runs(tmp_path):
    kw = dict(results_dir=tmp_path, tracking_uri="none", progress=False)
    run_grid(["air_temperature"], ["wrap", "direct"], ["linear", "constant"], ["random"], 2, ci="iid", **kw)
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 2, **kw)  # the newer setting (block CI)
    path = tmp_path / "runs.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"key": "torn"')  # a torn last line: not a record, must stay
    return path


def test_archive_moves_exactly_the_superseded_lines(runs, tmp_path):
    before_lines = runs.read_bytes().splitlines(keepends=True)
    before = read_records(runs, warn=False)
    board, _ = summarize(before)
    old = [r["key"] for r in before if r["encoder"] == "wrap" and r["head"] == "linear" and r["ci_method"] == "iid"]
    assert len(old) == 2
    archive = tmp_path / "archive" / "superseded.jsonl"
    moved, kept = archive_superseded(runs, archive)
    assert (moved, kept) == (2, len(before_lines) - 2)
    moved_lines = archive.read_bytes().splitlines(keepends=True)
    assert sorted(moved_lines) == sorted(ln for ln in before_lines if any(k.encode() in ln for k in old))
    assert [r["key"] for r in read_records(archive)] == old
    after_lines = runs.read_bytes().splitlines(keepends=True)
    assert after_lines == [ln for ln in before_lines if ln not in moved_lines]  # order kept, torn line kept
    after = read_records(runs, warn=False)
    assert {r["ci_method"] for r in after if r["encoder"] == "wrap" and r["head"] == "linear"} == {"block:deg=10"}
    board_after, _ = summarize(after)
    cols = ["head", "split", "task", "encoder", "mean", "std", "n_seeds", "setting"]
    assert board_after[cols].equals(board[cols])  # the same cells and numbers are shown
    assert board_after.superseded.sum() == 0 and board.superseded.sum() == 1
    assert archive_superseded(runs, archive) == (0, kept)  # idempotent


def test_archive_only_the_named_heads(runs, tmp_path):
    assert archive_superseded(runs, tmp_path / "a.jsonl", heads={"mlp"})[0] == 0
    assert archive_superseded(runs, tmp_path / "a.jsonl", heads={"linear"})[0] == 2


def test_leaderboard_command_archives_first(runs, tmp_path, capsys):
    from geobench.cli import main

    assert main(["leaderboard", "--results", str(runs.parent), "--archive-superseded", str(tmp_path / "old.jsonl"),
                 "--archive-heads", "linear"]) == 0
    assert "moved 2 row(s) of superseded settings" in capsys.readouterr().out
    assert "†" not in (runs.parent / "leaderboard.md").read_text()


def test_rows_of_weights_the_encoder_no_longer_loads_are_archived(tmp_path):
    """A re-shipped checkpoint under the same name: rows of the old weights (not yet re-run)
    leave runs.jsonl; rows of the current weights and of weight-free encoders stay."""
    import json

    from geobench.evaluation.archive import stale_weight_keys

    run_grid(["air_temperature"], ["csp-bm", "wrap"], ["linear"], ["random"], 1, results_dir=tmp_path,
             tracking_uri="none", progress=False)
    path = tmp_path / "runs.jsonl"
    rows = [json.loads(ln) for ln in path.read_bytes().splitlines()]
    csp = next(r for r in rows if r["encoder"] == "csp-bm")
    old = json.loads(json.dumps(csp))
    old["identity"]["encoder"]["weights_sha256"] = "0" * 64  # what an earlier checkpoint would have recorded
    old["key"], old["head"] = "old-weights-row", "mlp"  # another head: no newer setting exists for it
    with open(path, "a") as f:
        f.write(json.dumps(old) + "\n")
    recs = read_records(path)
    keys, unknown = stale_weight_keys(recs)
    assert keys == {"old-weights-row"} and unknown == []
    assert stale_weight_keys(recs, heads={"linear"})[0] == set()
    assert archive_superseded(path, tmp_path / "old.jsonl", stale_weights=False)[0] == 0
    assert archive_superseded(path, tmp_path / "old.jsonl") == (1, 2)
    assert [r["key"] for r in read_records(tmp_path / "old.jsonl")] == ["old-weights-row"]
