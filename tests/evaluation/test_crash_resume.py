"""Crash safety and resume of ``geobench run`` as a real process.

* SIGKILL partway through a multi-cell run, then restart: no partial line, nothing finished
  is lost or recomputed, and the final file equals an uninterrupted run row for row.
* Two ``geobench run`` processes appending to one ``runs.jsonl`` at the same time.
* ``geobench leaderboard`` over duplicate rows keeps the newest and says so.

Small and cheap on purpose: air_temperature (3,076 stations), parameter-free encoders, the
linear head; the cache is warmed in a fixture so the subprocesses only fit.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid

TASK = "air_temperature"
ENCODERS = ["direct", "wrap", "sh:L=4"]
BOOT = 100
# fields that legitimately differ between two runs of the same command: wall-clock facts, the
# command line, and the source-tree commit (other work may be committed between the runs)
VOLATILE = ("timestamp", "timings")
VOLATILE_PROVENANCE = ("command", "git_commit", "git_diff_sha256")


@pytest.fixture(scope="module")
def warm_cache():
    """Build the task's points and the three embeddings once, in the shared test cache."""
    from geobench.encoding.embed import embed
    from geobench.encoding import get_encoder
    from geobench.tasks.base import load_task

    pts = load_task(TASK)
    for e in ENCODERS:
        embed(get_encoder(e), pts.lonlat, pts.sha256)
    return pts


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GEOBENCH_CORES="2", GEOBENCH_THREADS="2", PYTHONUNBUFFERED="1")
    return env


def _cmd(results: Path, encoders: list[str], seeds: int) -> list[str]:
    return [sys.executable, "-m", "geobench", "run", "--task", TASK, "--encoder", *encoders, "--head", "linear",
            "--split", "random", "--seeds", str(seeds), "--results", str(results), "--tracking-uri", "none",
            "--bootstrap", str(BOOT)]


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _complete_lines(path: Path) -> list[bytes]:
    """All lines of runs.jsonl, asserting there is no partial line and each is valid JSON."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    assert raw == b"" or raw.endswith(b"\n"), "runs.jsonl ends in a partial line"
    lines = raw.splitlines(keepends=True)
    for ln in lines:
        json.loads(ln)
    return lines


def _n_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _comparable(rec: dict) -> str:
    r = {k: v for k, v in rec.items() if k not in VOLATILE}
    r["provenance"] = {k: v for k, v in r["provenance"].items() if k not in VOLATILE_PROVENANCE}
    return json.dumps(r, sort_keys=True)


def _summary(stdout: str) -> tuple[int, int]:
    m = re.search(r"(\d+) cell\(s\) run, (\d+) already done", stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


def test_sigkill_then_resume_equals_uninterrupted(tmp_path, warm_cache):
    seeds = 8
    total = len(ENCODERS) * seeds
    results = tmp_path / "killed"
    runs = results / "runs.jsonl"
    proc = _start(_cmd(results, ENCODERS, seeds))
    try:
        deadline = time.monotonic() + 120
        while _n_lines(runs) < 2:
            assert proc.poll() is None, f"run ended before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no results after 120 s"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    before = _complete_lines(runs)
    n_before = len(before)
    assert 2 <= n_before < total, f"kill came too late ({n_before} of {total} rows)"

    out = subprocess.run(_cmd(results, ENCODERS, seeds), env=_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    n_run, n_done = _summary(out.stdout)
    assert (n_run, n_done) == (total - n_before, n_before)  # only what was missing is computed

    after = _complete_lines(runs)
    assert after[:n_before] == before  # every result finished before the kill is kept, byte for byte
    assert len(after) == total
    keys = [json.loads(ln)["key"] for ln in after]
    assert len(set(keys)) == total  # nothing computed twice

    ref = run_grid([TASK], ENCODERS, ["linear"], ["random"], seeds, results_dir=tmp_path / "ref",
                   tracking_uri="none", progress=False, n_boot=BOOT)
    assert len(ref.records) == total
    got = [_comparable(json.loads(ln)) for ln in after]
    want = [_comparable(r) for r in read_records(tmp_path / "ref" / "runs.jsonl")]
    assert got == want  # row for row, in the same order

    # the restart of a finished grid computes nothing
    again = subprocess.run(_cmd(results, ENCODERS, seeds), env=_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and _summary(again.stdout) == (0, total)
    assert _complete_lines(runs) == after
    # every predictions file referenced by a row is complete and readable
    import pandas as pd

    for ln in after:
        r = json.loads(ln)
        assert len(pd.read_parquet(results / r["predictions"])) == r["n_test"]


def test_two_concurrent_runs_share_one_results_folder(tmp_path, warm_cache):
    seeds = 6
    results = tmp_path / "shared"
    groups = [["direct"], ["wrap", "sh:L=4"]]
    procs = [_start(_cmd(results, g, seeds)) for g in groups]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    for p, (so, se) in zip(procs, outs):
        assert p.returncode == 0, se
    assert [_summary(so) for so, _ in outs] == [(seeds, 0), (2 * seeds, 0)]

    lines = _complete_lines(results / "runs.jsonl")
    recs = [json.loads(ln) for ln in lines]
    assert len(recs) == 3 * seeds
    expect = {(e, s) for e in ENCODERS for s in range(seeds)}
    assert {(r["encoder"], r["seed"]) for r in recs} == expect
    assert all(r["status"] == "ok" and r["metrics"]["r2"] > 0.3 for r in recs)
    # rows from the two processes match those of a single-process run
    ref = run_grid([TASK], ENCODERS, ["linear"], ["random"], seeds, results_dir=tmp_path / "ref",
                   tracking_uri="none", progress=False, n_boot=BOOT)
    by_key = {r["key"]: r["metrics"] for r in ref.records}
    assert {r["key"]: r["metrics"] for r in recs} == by_key


def test_leaderboard_keeps_newest_duplicate_and_says_so(tmp_path, warm_cache, capsys):
    import pandas as pd

    from geobench.cli import main
    from geobench.evaluation.records import append_records

    res = run_grid([TASK], ["wrap"], ["linear"], ["random"], 3, results_dir=tmp_path, tracking_uri="none",
                   progress=False, n_boot=0)
    assert len(res.records) == 3
    # a forced re-run of two cells appends newer rows for the same keys (here with known values)
    newer = []
    for r, v in zip(res.records[:2], (0.25, 0.35)):
        newer.append({**r, "metrics": {**r["metrics"], "r2": v}, "timestamp": r["timestamp"] + 1})
    append_records(tmp_path / "runs.jsonl", newer)
    assert main(["leaderboard", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 duplicate row(s)" in out and "kept the newest" in out
    t = pd.read_csv(tmp_path / "leaderboard.csv")
    (row,) = t.itertuples()
    expected = (0.25 + 0.35 + res.records[2]["metrics"]["r2"]) / 3
    assert row.n_seeds == 3 and row.mean == pytest.approx(expected, abs=1e-6)
