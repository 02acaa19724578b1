"""`geobench reproduce` shares the `run` flags (and passes them to the runner) and writes the
results page where --page says, with the narrative's caveat sections."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from geobench.cli import build_parser, main

FIX = Path(__file__).parents[1] / "fixtures"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    ap = build_parser()
    (sub,) = [a for a in ap._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def _options(p: argparse.ArgumentParser) -> set[str]:
    return {s for a in p._actions for s in a.option_strings}


def test_reproduce_accepts_every_run_flag():
    sub = _subparsers()
    run, rep = _options(sub["run"]), _options(sub["reproduce"])
    assert run <= rep
    assert rep - run == {"--page", "--no-report", "--report-only", "--allow-dirty", "--profile", "--dry-run"}
    args = sub["reproduce"].parse_args([])  # the profile's grid, no --encoder needed
    assert (args.profile, args.seeds, args.head, args.encoder, args.executor, args.task, args.split, args.page) == \
        ("paper", None, None, None, "joblib", ["all"], ["all"], None)


def _capture_run_grid(monkeypatch) -> list:
    """Capture the runner's fit phase (``run_planned``: its planned cells and options), which both
    ``run`` (through ``run_grid``) and ``reproduce`` (after planning once for its progress) call."""
    calls = []

    def fake(*a, **kw):
        calls.append((a, kw))
        return SimpleNamespace(records=[], skipped=0, wall_seconds=0.0)

    monkeypatch.setattr("geobench.evaluation.runner.run_planned", fake)
    return calls


def test_reproduce_passes_the_run_flags_to_the_runner(tmp_path, monkeypatch, capsys):
    calls = _capture_run_grid(monkeypatch)
    flags = ["--task", "air_temperature", "--split", "random", "--encoder", "wrap", "--head", "linear",
             "--seeds", "2", "--results", str(tmp_path), "--n-points", "300", "--bootstrap", "7", "--tune",
             "--force", "--executor", "dask", "--jobs", "3", "--scheduler", "tcp://host:1",
             "--tracking-uri", "none", "--plugin", "json"]
    assert main(["run", *flags]) == 0
    assert main(["reproduce", *flags, "--no-report", "--allow-dirty"]) == 0
    (run_args, run_kw), (rep_args, rep_kw) = calls
    run_kw.pop("command"), rep_kw.pop("command"), run_kw.pop("t_start")
    assert run_kw.pop("progress") and rep_kw.get("progress", True)  # the bar, on by default
    assert run_kw.pop("on_cell") is None and callable(rep_kw.pop("on_cell"))  # reproduce counts cells for its progress
    assert rep_args == run_args  # the same planned cells (and all to run: --force) ...
    cells, todo = rep_args
    assert todo == cells and [(c.task, c.encoder, c.head, c.split, c.seed) for c in cells] == \
        [("air_temperature", "wrap", "linear", "random:train=0.6:val=0.2", s) for s in (0, 1)]
    assert cells[0].tune and cells[0].task_options == {}  # planned with the planning flags (no n_points option)
    assert rep_kw == run_kw  # ... and the same fit options
    assert rep_kw["n_boot"] == 7 and rep_kw["force"] and rep_kw["scheduler"] == "tcp://host:1"
    assert rep_kw["plugins"] == ["json"] and rep_kw["executor"] == "dask" and rep_kw["n_jobs"] == 3
    assert not (tmp_path / "leaderboard.csv").exists()


def test_reproduce_report_only_writes_the_page_given_by_page(tmp_path, monkeypatch, capsys):
    from geobench.reporting.results_page import narrative_sections

    monkeypatch.setattr("geobench.reporting.figures.MAP_ENCODERS", ())  # no embedding maps: fast
    calls = _capture_run_grid(monkeypatch)
    res = tmp_path / "copy" / "results"
    res.mkdir(parents=True)
    shutil.copy(FIX / "runs_small.jsonl", res / "runs.jsonl")
    page = tmp_path / "site" / "results.md"
    assert main(["reproduce", "--report-only", "--results", str(res), "--page", str(page)]) == 0
    out = capsys.readouterr().out
    assert f"results page: {page}" in out and "reproduce: 0 cell(s) run" in out and not calls
    md = page.read_text()
    for heading in narrative_sections():
        assert f"## {heading}\n" in md
    assert "## How to read these results" in md and "| wrap |" in md
    assert (res / "leaderboard.csv").exists() and not (res.parent / "docs").exists()


def test_reproduce_help_shows_the_grid_defaults_and_the_page(tmp_path):
    out = subprocess.run([sys.executable, "-m", "geobench", "reproduce", "--help"], capture_output=True,
                         text=True, check=True).stdout
    flat = " ".join(out.split())
    for text in ("--n-points", "--bootstrap", "--plugin", "--tune", "--force", "--scheduler",
                 "(default: paper)", "(default: joblib)", "Profile 'paper': linear x [every encoder, sh:L=40,",
                 "mlp/lightgbm x [satclip-bm,", "sh_siren_random, sh, sh:L=40, rff, wrap, constant] x", "x 3 seeds",
                 "--page PAGE", "RESULTS/../docs/results.md"):
        assert text in flat


@pytest.mark.parametrize("argv", [["run", "--task", "air_temperature"], ["reproduce", "--split", "spatial"]])
def test_bad_invocations_still_fail(argv, tmp_path, capsys):
    if argv[0] == "run":  # --encoder stays required for run
        with pytest.raises(SystemExit):
            main(argv)
    else:
        assert main([*argv, "--encoder", "wrap", "--no-report", "--results", str(tmp_path)]) == 2
        assert "split kind" in capsys.readouterr().err
