"""End-to-end runs on real data: the runner, records, leaderboard, plots, MLflow, API."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geobench.reporting.leaderboard import COLUMNS, write_leaderboard
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid

STRIP = ("timestamp", "timings", "provenance", "predictions")


def _metrics(res, enc):
    return [r["metrics"] for r in res.records if r["encoder"] == enc]


@pytest.fixture(scope="module")
def air(tmp_path_factory):
    d = tmp_path_factory.mktemp("air")
    res = run_grid(["air_temperature"], ["direct", "wrap", "random"], ["linear"], ["random"], 3,
                   results_dir=d, tracking_uri="none", progress=False, n_boot=200)
    return d, res


def test_wrap_beats_direct_and_random_is_chance(air):
    _, res = air
    r2 = {e: np.mean([m["r2"] for m in _metrics(res, e)]) for e in ("direct", "wrap", "random")}
    assert r2["wrap"] > r2["direct"] + 0.3 and r2["direct"] > 0.3
    # Chance level for a least-squares probe on p pure-noise features with n training points is
    # about -p / (n - p) (the fit absorbs noise); the control must sit there, not above 0.
    r = res.records[0]
    p, n = 256, r["n_train"]
    assert r2["random"] < 0.02 and abs(r2["random"] - (-p / (n - p))) < 0.1


def test_records_are_complete(air):
    d, res = air
    r = res.records[0]
    for k in ("key", "task", "encoder", "head", "split", "seed", "metrics", "per_continent", "ci95",
              "head_params", "timings", "provenance", "n_train", "n_test", "task_version"):
        assert k in r
    prov = r["provenance"]
    assert prov["data_checksums"]["air_temperature/stationDataAll.csv"].startswith("92d8456d")
    assert prov["git_commit"] and prov["versions"]["numpy"]
    assert "alpha" in json.dumps(r["head_params"])
    lo, hi = r["ci95"]["r2"]
    assert lo <= r["metrics"]["r2"] <= hi
    # per-continent n adds up to the test n
    assert sum(c["n"] for c in r["per_continent"].values()) == r["n_test"]
    preds = pd.read_parquet(d / r["predictions"])
    assert len(preds) == r["n_test"] and {"lon", "lat", "y", "pred", "continent"} <= set(preds.columns)


def test_same_seed_bit_identical_and_rerun_skips(air):
    d, res = air
    again = run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 3, results_dir=d,
                     tracking_uri="none", progress=False, n_boot=200)
    assert again.records == [] and again.skipped == 3
    forced = run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 3, results_dir=d / "f",
                      tracking_uri="none", progress=False, n_boot=200)
    assert [r["metrics"] for r in forced.records] == _metrics(res, "wrap")
    seeds = {json.dumps(m, sort_keys=True) for m in _metrics(res, "wrap")}
    assert len(seeds) == 3  # different seeds -> different splits -> different metrics


def test_leaderboard_columns(air):
    d, _ = air
    csv, md, dropped = write_leaderboard(d)
    t = pd.read_csv(csv)
    assert list(t.columns) == COLUMNS and dropped == 0
    assert set(t.encoder) == {"direct", "wrap", "random"} and (t.n_seeds == 3).all()
    assert "| wrap |" in md.read_text()


def test_resume_equals_uninterrupted(tmp_path):
    args = (["air_temperature"], ["direct", "wrap"], ["linear"], ["random", "spatial_block"])
    kw = dict(tracking_uri="none", progress=False, n_boot=100)
    run_grid(*args, 2, results_dir=tmp_path / "a", **kw)
    # "interrupted": only part of the grid done, then the full command again
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["spatial_block"], 1, results_dir=tmp_path / "b", **kw)
    run_grid(*args, 2, results_dir=tmp_path / "b", **kw)

    def rows(p):
        recs = read_records(p / "runs.jsonl")
        return sorted((json.dumps({k: v for k, v in r.items() if k not in STRIP}, sort_keys=True) for r in recs))

    assert rows(tmp_path / "a") == rows(tmp_path / "b")


def test_countries_sh_beats_direct(tmp_path):
    res = run_grid(["countries"], ["direct", "sh:L=10"], ["linear"], ["random"], 1, results_dir=tmp_path,
                   tracking_uri="none", progress=False, n_boot=0, task_options={"n_points": 20000})
    acc = {r["encoder"]: r["metrics"]["accuracy"] for r in res.records}
    assert acc["sh"] > acc["direct"] + 0.1  # sh:L=10 is sh (L=10 is the default)


def test_mlflow_shows_runs(tmp_path):
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 2, results_dir=tmp_path, progress=False,
             n_boot=0)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["geobench"])
    assert len(runs) == 3  # one parent + two nested
    nested = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(nested) == 2 and nested["metrics.r2"].notna().all()


def test_evaluate_api_with_callable(tmp_path):
    import geobench

    def enc(lonlat):
        lon, lat = np.deg2rad(lonlat).T
        return np.stack([np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)], 1)

    df = geobench.evaluate(enc, name="mywrap", tasks=["air_temperature"], seeds=2, results_dir=tmp_path,
                           progress=False, n_boot=0)
    assert len(df) == 2 and (df.r2 > 0.7).all() and set(df.encoder) == {"mywrap"}


def test_plot_continents(air, tmp_path):
    from geobench.reporting.continents import plot_continents_from_runs

    d, _ = air
    p = plot_continents_from_runs(d, "air_temperature")
    assert p is not None and p.stat().st_size > 10_000


def test_inaturalist_protocols(tmp_path, monkeypatch, empty_cache):
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "inat2018"
    monkeypatch.setenv("GEOBENCH_INAT_DIR", str(fixture))
    res = run_grid(["inaturalist_2018"], ["wrap"], ["linear", "mlp", "lightgbm"], ["random"], 1,
                   results_dir=tmp_path, tracking_uri="none", progress=False, n_boot=0)
    by_head = {r["head"]: r for r in res.records}
    assert by_head["lightgbm"]["status"] == "not_applicable"
    for h, proto in (("linear", "product"), ("mlp", "dual")):
        r = by_head[h]
        assert r["status"] == "ok" and r["head_params"]["protocol"] == proto
        m = r["metrics"]
        assert 0 <= m["top1"] <= m["top3"] <= m["top5"] <= m["top10"] <= 1 and "img_top1" in m


def test_reproduce_subset_resumes_and_rejects_unknown_names(tmp_path, capsys, monkeypatch):
    from geobench.cli import main

    args = ["reproduce", "--task", "air_temperature", "--split", "random", "--encoder", "direct,wrap",
            "--head", "linear", "--seeds", "2", "--executor", "serial", "--no-report",
            "--results", str(tmp_path), "--tracking-uri", "none", "--allow-dirty"]  # a working copy may be dirty
    assert main(args) == 0
    recs = read_records(tmp_path / "runs.jsonl")
    assert len(recs) == 4 and {r["split"] for r in recs} == {"random:train=0.6:val=0.2"}
    assert not (tmp_path / "leaderboard.csv").exists()  # --no-report
    capsys.readouterr()
    assert main(args) == 0  # resumed: every cell already done
    assert "0 cell(s) run, 4 already done" in capsys.readouterr().out
    assert len(read_records(tmp_path / "runs.jsonl")) == 4
    # --report-only: the leaderboard, figures and results.md next to the results folder, no cell run
    monkeypatch.setattr("geobench.reporting.figures.MAP_ENCODERS", ("sh:L=10",))
    res_dir = tmp_path / "results"
    res_dir.mkdir()
    (res_dir / "runs.jsonl").write_bytes((tmp_path / "runs.jsonl").read_bytes())
    assert main(["reproduce", "--report-only", "--results", str(res_dir)]) == 0
    assert "reproduce: 0 cell(s) run" in capsys.readouterr().out
    md = (tmp_path / "docs" / "results.md").read_text()
    assert "| wrap |" in md and "air_temperature" in md and (res_dir / "leaderboard.csv").exists()
    assert (res_dir / "figures" / "embedding_globes.png").exists()
    assert len(read_records(res_dir / "runs.jsonl")) == 4
    assert main([*args[:2], "air_temprature", *args[3:]]) != 0
    assert "Did you mean 'air_temperature'" in capsys.readouterr().err
    assert main([*args[:4], "spatial", *args[5:]]) != 0
    assert "split kind" in capsys.readouterr().err


def test_reproduce_includes_inaturalist_only_when_its_data_is_configured(tmp_path, monkeypatch, empty_cache,
                                                                        capsys):
    from geobench.cli import main
    from geobench.evaluation.grid import grid_plan, reproduce_tasks

    monkeypatch.delenv("GEOBENCH_INAT_DIR", raising=False)
    assert "inaturalist_2018" not in reproduce_tasks()
    assert main(["reproduce", "--task", "inaturalist_2018", "--encoder", "wrap", "--results", str(tmp_path)]) != 0
    assert "needs external data: set GEOBENCH_INAT_DIR" in capsys.readouterr().err
    monkeypatch.setenv("GEOBENCH_INAT_DIR", str(Path(__file__).resolve().parents[1] / "fixtures" / "inat2018"))
    assert reproduce_tasks()[-1] == "inaturalist_2018"
    assert grid_plan(["inaturalist_2018"]) == [("inaturalist_2018", ["random"])]

    assert main(["reproduce", "--task", "inaturalist_2018", "--encoder", "wrap", "--head", "linear", "--seeds", "1",
                 "--executor", "serial", "--no-report", "--results", str(tmp_path), "--tracking-uri", "none",
                 "--allow-dirty"]) == 0
    (rec,) = read_records(tmp_path / "runs.jsonl")
    assert rec["task"] == "inaturalist_2018" and rec["status"] == "ok" and rec["head_params"]["protocol"] == "product"
