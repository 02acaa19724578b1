"""`geobench reproduce --profile`: the declared grid, narrowed by the flags, with a progress line,
an ETA, the measured total and a log of the run's wall time."""
from __future__ import annotations

import json
import os
import time

from geobench.cli import main
from geobench.evaluation.records import read_records

BASE = ["reproduce", "--task", "air_temperature", "--split", "random", "--executor", "serial", "--no-report",
        "--tracking-uri", "none", "--allow-dirty"]


def _count_plans(monkeypatch) -> list:
    """Record the task list of every ``plan_todo`` call (planning loads the task and its splits)."""
    from geobench.evaluation import runner

    calls, real = [], runner.plan_todo

    def plan_todo(tasks, *a, **kw):
        calls.append(list(tasks))
        return real(tasks, *a, **kw)

    monkeypatch.setattr(runner, "plan_todo", plan_todo)
    return calls


def test_profile_blocks_are_narrowed_by_the_flags(tmp_path, capsys, monkeypatch):
    plans = _count_plans(monkeypatch)
    args = [*BASE, "--encoder", "wrap", "direct", "--head", "linear", "mlp", "--seeds", "1",
            "--results", str(tmp_path)]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    # linear: every encoder (wrap, direct); mlp: key encoders only (wrap; direct is not one)
    assert "3 declared cell(s), 0 already in" in out and "3 to run" in out
    assert "to run: linear    air_temperature      2 cell(s)" in out and "mlp       air_temperature      1" in out
    assert not (tmp_path / "runs.jsonl").exists()
    assert plans == [["air_temperature"]] * 2  # one plan per block (linear; mlp)
    assert main(args) == 0
    assert plans == [["air_temperature"]] * 4  # the run plans once, for its progress and its cells
    out = capsys.readouterr().out
    recs = read_records(tmp_path / "runs.jsonl")
    assert sorted((r["head"], r["encoder"]) for r in recs) == [("linear", "direct"), ("linear", "wrap"),
                                                              ("mlp", "wrap")]
    assert "progress: 3/3 cells done (3 in this run), 0 to go" in out and "ETA 0:00:00" in out
    assert "measured: 3 cell(s) in" in out
    (log,) = [json.loads(line) for line in (tmp_path / "reproduce_log.jsonl").read_text().splitlines()]
    assert log["cells_run"] == 3 and log["cells_declared"] == 3 and log["profile"] == "paper"
    assert log["wall_s"] > 0 and log["cell_s"] > 0
    # the hardware the time was measured on (runs may be on different machines)
    assert log["machine"]["logical_cores"] == os.cpu_count() and log["machine"]["memory_gb"] > 0
    from geobench.perf.projection import wall_by_machine

    (name, (n, w)), = wall_by_machine([log]).items()
    assert (n, w) == (1, log["wall_s"]) and f"{log['machine']['memory_gb']} GB" in name
    assert list(wall_by_machine([log, {"wall_s": 5.0}])) == [name, "machine not recorded"]
    assert main(args) == 0  # resumed: nothing to run, nothing logged
    assert "3 declared cell(s), 3 already in" in capsys.readouterr().out
    assert len((tmp_path / "reproduce_log.jsonl").read_text().splitlines()) == 1
    assert not list(tmp_path.glob(".reproduce_current*"))  # the checkpoint is gone once logged


def test_a_run_killed_without_warning_still_logs_its_time(tmp_path, capsys):
    """The running segment is checkpointed with each progress line; the next run logs it."""
    args = [*BASE, "--encoder", "wrap", "--head", "linear", "--seeds", "1", "--results", str(tmp_path)]
    killed = {"cells_run": 7, "wall_s": 123.0, "interrupted": True, "profile": "paper"}
    (tmp_path / ".reproduce_current.json").write_text(json.dumps(killed))
    assert main(args) == 0
    rows = [json.loads(line) for line in (tmp_path / "reproduce_log.jsonl").read_text().splitlines()]
    assert rows[0] == killed and rows[1]["cells_run"] == 1 and "interrupted" not in rows[1]
    assert not list(tmp_path.glob(".reproduce_current*"))


def test_flags_outside_the_profile_are_refused(tmp_path, capsys):
    assert main([*BASE, "--encoder", "direct", "--head", "mlp", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "nothing of profile 'paper' matches" in err and "use `geobench run`" in err
    assert main([*BASE, "--profile", "papr", "--results", str(tmp_path)]) == 2
    assert "Did you mean 'paper'" in capsys.readouterr().err


def test_a_task_that_cannot_be_planned_fails_alone(tmp_path, capsys, monkeypatch):
    """Planning loads each task and builds its encoders; a task whose data or weights fail there is
    reported as FAILED and the other tasks still run (exit code 1)."""
    from geobench.errors import DataError
    from geobench.evaluation import runner

    real = runner.plan_todo

    def plan_todo(tasks, *a, **kw):
        if tasks == ["median_income"]:
            raise DataError("median_income: a declared file failed its sha256 check; fetch it again")
        return real(tasks, *a, **kw)

    monkeypatch.setattr(runner, "plan_todo", plan_todo)
    args = ["reproduce", "--task", "median_income", "air_temperature", "--split", "random", "--executor", "serial",
            "--no-report", "--tracking-uri", "none", "--allow-dirty", "--encoder", "wrap", "--head", "linear",
            "--seeds", "1", "--results", str(tmp_path)]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "median_income: FAILED: median_income: a declared file failed" in out and "FAILED tasks: median_income" in out
    assert [r["task"] for r in read_records(tmp_path / "runs.jsonl")] == ["air_temperature"]


def test_a_task_whose_second_block_fails_is_not_counted_or_run(tmp_path, capsys, monkeypatch):
    """Planning goes block by block (linear, then MLP/LightGBM). When a later block of a task
    fails, the task fails whole: none of its cells is counted, listed or run. A task failing at
    run time leaves the count too, so the progress reaches "0 to go"."""
    from geobench.errors import DataError
    from geobench.evaluation import runner

    real_plan, real_run = runner.plan_todo, runner.run_planned

    def plan_todo(tasks, encoders, heads, *a, **kw):
        if tasks == ["median_income"] and "mlp" in heads:
            raise DataError("median_income: an MLP block cannot be planned")
        return real_plan(tasks, encoders, heads, *a, **kw)

    monkeypatch.setattr(runner, "plan_todo", plan_todo)
    args = ["reproduce", "--task", "median_income", "california_housing", "air_temperature", "--split", "random",
            "--executor", "serial", "--no-report", "--tracking-uri", "none", "--allow-dirty", "--encoder", "wrap",
            "--head", "linear", "mlp", "--seeds", "1", "--results", str(tmp_path)]
    assert main([*args, "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "4 declared cell(s), 0 already in" in out and "4 to run" in out and "median_income " not in out

    def run_planned(cells, todo, **kw):
        if cells[0].task == "california_housing":
            raise DataError("california_housing: the disk is full")
        return real_run(cells, todo, **kw)

    monkeypatch.setattr(runner, "run_planned", run_planned)
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "FAILED tasks: median_income, california_housing" in out
    assert "progress: 2/2 cells done (2 in this run), 0 to go" in out
    assert sorted((r["task"], r["head"]) for r in read_records(tmp_path / "runs.jsonl")) == \
        [("air_temperature", "linear"), ("air_temperature", "mlp")]


def test_the_checkpoint_of_a_live_run_is_left_to_it(tmp_path, capsys):
    """Two runs on one results folder: the checkpoint of a reproduce still running (its pid alive
    on this host) is neither logged as interrupted nor removed; a dead owner's is logged, without
    the owner field."""
    import socket
    import subprocess

    args = [*BASE, "--encoder", "wrap", "--head", "linear", "--seeds", "1", "--results", str(tmp_path)]
    live = subprocess.Popen(["sleep", "60"])
    try:
        other = {"cells_run": 3, "wall_s": 50.0, "interrupted": True, "profile": "paper",
                 "owner": {"pid": live.pid, "host": socket.gethostname()}}
        (tmp_path / f".reproduce_current.{live.pid}.json").write_text(json.dumps(other))
        assert main(args) == 0
        assert f"another reproduce (pid {live.pid}) is running" in capsys.readouterr().out
        (mine,) = [json.loads(line) for line in (tmp_path / "reproduce_log.jsonl").read_text().splitlines()]
        assert mine["cells_run"] == 1 and "owner" not in mine
        assert json.loads((tmp_path / f".reproduce_current.{live.pid}.json").read_text()) == other
    finally:
        live.kill()
        live.wait()
    # now its owner is gone: the next run logs it as a killed run's time
    assert main([*args, "--force"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "reproduce_log.jsonl").read_text().splitlines()]
    assert rows[1] == {k: v for k, v in other.items() if k != "owner"} and rows[2]["cells_run"] == 1
    assert not list(tmp_path.glob(".reproduce_current*"))


def test_another_hosts_checkpoint_is_left_while_fresh(tmp_path, capsys):
    """A results folder shared between machines: another host's pid cannot be checked, so its
    checkpoint is left to it while it is being rewritten (fresh), and logged once it is stale."""
    from geobench.cli.run import OTHER_HOST_STALE_S

    args = [*BASE, "--encoder", "wrap", "--head", "linear", "--seeds", "1", "--results", str(tmp_path)]
    theirs = {"cells_run": 4, "wall_s": 70.0, "interrupted": True, "profile": "paper",
              "owner": {"pid": 4242, "host": "another-machine"}}
    path = tmp_path / ".reproduce_current.another-machine.4242.json"
    path.write_text(json.dumps(theirs))
    assert main(args) == 0
    assert "another reproduce (pid 4242) is running" in capsys.readouterr().out
    assert json.loads(path.read_text()) == theirs  # neither logged nor removed
    old = time.time() - OTHER_HOST_STALE_S - 60
    os.utime(path, (old, old))
    assert main([*args, "--force"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "reproduce_log.jsonl").read_text().splitlines()]
    assert {k: v for k, v in theirs.items() if k != "owner"} in rows and not path.exists()
