"""Archiving superseded settings: a grid re-run under a new setting (here the CI method) leaves
the older rows in runs.jsonl; archiving moves exactly those lines, byte for byte, keeps every
other line (a torn one included) and leaves the leaderboard unchanged. Partial re-runs, other
task points and stale weights are handled as documented."""
from __future__ import annotations

import json

import pytest

from geobench.errors import InputError
from geobench.evaluation.archive import archive_superseded, current_weights, stale_weight_keys
from geobench.evaluation.identity import head_identity
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid
from geobench.reporting.leaderboard import summarize

KW = dict(tracking_uri="none", progress=False)


@pytest.fixture()
def runs(tmp_path):
    run_grid(["air_temperature"], ["wrap", "direct"], ["linear", "constant"], ["random"], 2, ci="iid",
             results_dir=tmp_path, **KW)
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 2, results_dir=tmp_path, **KW)  # block CI
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
    moved, kept = archive_superseded(runs, archive, dry_run=True)
    assert [r["key"] for r in moved] == old and not archive.exists() and runs.read_bytes() == b"".join(before_lines)
    moved, kept = archive_superseded(runs, archive)
    assert ([r["key"] for r in moved], kept) == (old, len(before_lines) - 2)
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
    assert archive_superseded(runs, archive)[0] == []  # idempotent


def test_archive_only_the_named_heads(runs, tmp_path):
    assert archive_superseded(runs, tmp_path / "a.jsonl", heads={"mlp"})[0] == []
    assert len(archive_superseded(runs, tmp_path / "a.jsonl", heads={"linear"})[0]) == 2


def test_partial_reruns_and_other_task_points_archive_nothing(tmp_path):
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 3, ci="iid", results_dir=tmp_path, **KW)
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 2, results_dir=tmp_path, **KW)  # seeds 0-1 of 3
    path = tmp_path / "runs.jsonl"
    assert archive_superseded(path, tmp_path / "a.jsonl")[0] == []
    run_grid(["elevation"], ["wrap"], ["linear"], ["random"], 1, ci="iid", results_dir=tmp_path, **KW)
    run_grid(["elevation"], ["wrap"], ["linear"], ["random"], 1, results_dir=tmp_path, task_options={"n_points": 500},
             **KW)  # a small exploratory run under the same name: other points, not a replacement
    assert archive_superseded(path, tmp_path / "a.jsonl")[0] == []
    with pytest.raises(InputError, match="must not be the runs file"):
        archive_superseded(path, path)


def test_leaderboard_command_archives_first(runs, tmp_path, capsys):
    from geobench.cli import main

    assert main(["leaderboard", "--results", str(runs.parent), "--archive-superseded", str(tmp_path / "old.jsonl"),
                 "--archive-heads", "linear", "--dry-run"]) == 0
    assert "would move 2 row(s)" in capsys.readouterr().out and not (tmp_path / "old.jsonl").exists()
    assert main(["leaderboard", "--results", str(runs.parent), "--archive-superseded", str(tmp_path / "old.jsonl"),
                 "--archive-heads", "linear"]) == 0
    out = capsys.readouterr().out
    assert "moved 2 row(s)" in out and "linear / air_temperature / wrap: 2 row(s)" in out
    assert "†" not in (runs.parent / "leaderboard.md").read_text()


def test_rows_of_weights_the_encoder_no_longer_loads_are_archived(tmp_path):
    """A re-shipped checkpoint under the same name: rows of the old weights (not yet re-run)
    leave runs.jsonl; rows of the current weights and of weight-free encoders stay."""
    run_grid(["air_temperature"], ["csp-bm", "wrap"], ["linear"], ["random"], 1, results_dir=tmp_path, **KW)
    path = tmp_path / "runs.jsonl"
    rows = [json.loads(ln) for ln in path.read_bytes().splitlines()]
    old = json.loads(json.dumps(next(r for r in rows if r["encoder"] == "csp-bm")))
    old["identity"]["encoder"]["weights_sha256"] = "0" * 64  # what an earlier checkpoint would have recorded
    old["key"], old["head"] = "old-weights-row", "mlp"  # another head: no newer setting exists for it
    old["identity"]["head"] = head_identity("mlp", False)  # the current MLP: not a retired head
    with open(path, "a") as f:
        f.write(json.dumps(old) + "\n")
    recs = read_records(path)
    current, unknown = current_weights(recs)
    assert set(current) == {"csp-bm"} and unknown == []
    assert stale_weight_keys(recs, current) == {"old-weights-row"}
    assert stale_weight_keys(recs, current, heads={"linear"}) == set()
    assert archive_superseded(path, tmp_path / "old.jsonl", stale_weights=False)[0] == []
    moved, kept = archive_superseded(path, tmp_path / "old.jsonl")
    assert [r["key"] for r in moved] == ["old-weights-row"] and kept == 2
    assert [r["key"] for r in read_records(tmp_path / "old.jsonl")] == ["old-weights-row"]


def test_same_points_under_older_option_spelling_are_superseded(runs, tmp_path):
    """Rows written before task options were spelled out in full (``options: {}``) are on the
    same points as the new rows (same points sha256): a complete re-run supersedes them."""
    lines = runs.read_bytes().splitlines(keepends=True)
    out = []
    for ln in lines:
        try:
            r = json.loads(ln)
        except json.JSONDecodeError:
            out.append(ln)
            continue
        if r.get("ci_method") != "iid":
            r["identity"]["task"]["options"] = {"spelled": "out"}  # same points, other spelling
        out.append((json.dumps(r) + "\n").encode())
    runs.write_bytes(b"".join(out))
    assert len(archive_superseded(runs, tmp_path / "a.jsonl")[0]) == 2


def test_rows_of_a_retired_head_version_are_archived_replaced_or_not(tmp_path):
    """A version-1 MLP row (the head's algorithm has changed since), and a current-version row written
    before a default changed (here the plateau patience), leave runs.jsonl even where no current
    row replaces them; rows of the current head identity stay."""
    from geobench.evaluation.archive import retired_head_keys

    run_grid(["air_temperature"], ["wrap"], ["linear", "mlp:max_epochs=3", "constant"], ["random"], 1,
             results_dir=tmp_path, **KW)
    path = tmp_path / "runs.jsonl"
    recs = read_records(path)
    old = json.loads(json.dumps(next(r for r in recs if r["head"].startswith("mlp"))))
    old["identity"]["head"]["version"] = 1
    old["key"] = old["key"] + "-v1"
    older = {**old, "key": old["key"] + "-none", "identity": {**old["identity"], "head": {
        **old["identity"]["head"], "version": None}}}  # written before versions were recorded
    defaults = json.loads(json.dumps(next(r for r in recs if r["head"].startswith("mlp"))))
    defaults["key"] += "-old-defaults"
    from geobench.heads.mlp import MLPHead

    assert defaults["identity"]["head"]["params"]["patience"] == 3
    assert defaults["identity"]["head"]["version"] == MLPHead.version
    defaults["identity"]["head"]["params"]["patience"] = 10
    const = json.loads(json.dumps(next(r for r in recs if r["head"] == "constant")))
    const["key"] += "-none"
    const["identity"]["head"]["version"] = None  # an unchanged head (version 1) written before versions: stays
    with open(path, "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in (old, older, defaults, const)))
    recs = read_records(path)
    assert retired_head_keys(recs) == {old["key"], older["key"], defaults["key"]}
    assert retired_head_keys(recs, heads={"linear"}) == set()
    moved, kept = archive_superseded(path, tmp_path / "archive.jsonl", stale_weights=False)
    assert sorted(r["key"] for r in moved) == sorted([old["key"], older["key"], defaults["key"]]) and kept == 4
    assert archive_superseded(path, tmp_path / "b.jsonl", retired_heads=False)[0] == []


def test_rows_whose_task_now_builds_to_other_points_are_archived(tmp_path):
    """Points schema 2 changed the last bits of the sampled tasks' points: a row recorded on the
    old points (same task name, version and options) is another cell now and leaves runs.jsonl;
    so does a row of an older task version. A task that cannot be built here is kept."""
    from geobench.evaluation.archive import current_points, stale_points_keys

    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 1, results_dir=tmp_path, **KW)
    path = tmp_path / "runs.jsonl"
    row = read_records(path)[0]

    def variant(suffix: str, **task) -> dict:
        r = json.loads(json.dumps(row))
        r["key"] += suffix
        r["identity"]["task"].update(task)
        return r

    old_bits = variant("-old-bits", points_sha256="0" * 64)
    old_version = variant("-v0", version=0)
    elsewhere = variant("-plugin", name="no_such_task_here")
    external = variant("-inat", name="inaturalist_2018")  # its folder may be another copy: not checked
    with open(path, "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in (old_bits, old_version, elsewhere, external)))
    recs = read_records(path)
    with pytest.warns(UserWarning, match="not checked for stale points"):
        current, unknown = current_points(recs)
    assert current[("air_temperature", 1, json.dumps(row["identity"]["task"]["options"], sort_keys=True))] == \
        (1, row["identity"]["task"]["points_sha256"])
    assert len(unknown) == 2 and "external data folder" in unknown[0] and "no_such_task_here" in unknown[1]
    assert stale_points_keys(recs, current) == {old_bits["key"], old_version["key"]}
    assert stale_points_keys(recs, current, heads={"mlp"}) == set()
    with pytest.warns(UserWarning, match="not checked"):
        moved, kept = archive_superseded(path, tmp_path / "archive.jsonl")
    assert sorted(r["key"] for r in moved) == sorted([old_bits["key"], old_version["key"]]) and kept == 3
    with pytest.warns(UserWarning, match="not checked"):
        assert archive_superseded(path, tmp_path / "b.jsonl")[0] == []


@pytest.mark.parametrize("how", ["warns", "coarse_mask"])
def test_a_build_that_falls_back_here_archives_nothing(tmp_path, monkeypatch, how):
    """A machine that builds a task otherwise (it cannot fetch countries/land-10m.json, so the
    land mask falls back to the coarse grid, with a warning; or a cached build made so) is not
    evidence that the recorded points are stale: the rows stay and the build is named."""
    import dataclasses
    import warnings as w

    import geobench.tasks.base as base
    from geobench.evaluation.archive import current_points

    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 1, results_dir=tmp_path, **KW)
    path = tmp_path / "runs.jsonl"
    row = read_records(path)[0]
    other = json.loads(json.dumps(row))
    other["key"] += "-other-points"
    other["identity"]["task"]["points_sha256"] = "1" * 64
    with open(path, "a") as f:
        f.write(json.dumps(other) + "\n")
    real = base.load_task

    def elsewhere(name, **opts):
        p = real(name, **opts)
        if how == "warns":
            w.warn("land mask: countries/land-10m.json unavailable; using the elevation grid")
            return p
        return dataclasses.replace(p, inputs={**p.inputs, "countries/land-10m.json": base.UNAVAILABLE})

    monkeypatch.setattr(base, "load_task", elsewhere)
    with pytest.warns(UserWarning, match="not checked for stale points, its rows are kept"):
        current, unknown = current_points(read_records(path))
    assert current == {} and len(unknown) == 1 and ("land-10m" in unknown[0] or "elevation" in unknown[0])
    with pytest.warns(UserWarning, match="not checked"):
        assert archive_superseded(path, tmp_path / "archive.jsonl")[0] == []
