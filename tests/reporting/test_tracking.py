"""The grid's MLflow view: a parent run per invocation, a nested run per record."""
from __future__ import annotations

import json
from pathlib import Path

from geobench.reporting.tracking import Tracker

FIX = Path(__file__).parents[1] / "fixtures"


def test_tracker_logs_a_nested_run_per_record(tmp_path):
    import mlflow

    rec = json.loads((FIX / "runs_small.jsonl").read_text().splitlines()[0])
    rec.update(head_params={"alpha": 1.0}, per_continent={"North America": {"r2": 0.5, "n": 12}},
               timings={"fit_s": 0.25})
    pred = tmp_path / "pred.parquet"
    pred.write_bytes(b"x")
    t = Tracker(None, tmp_path, command="geobench run --x")
    assert t.enabled
    t.log(rec, pred)
    t.close()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = mlflow.get_experiment_by_name("geobench")
    assert exp.artifact_location == (tmp_path.resolve() / "mlartifacts").as_uri()
    client = mlflow.MlflowClient()
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert runs["geobench run"].data.tags["command"] == "geobench run --x"
    child = runs[f"air_temperature/direct/linear/{rec['split']}/seed0"]
    assert child.data.tags["mlflow.parentRunId"] == runs["geobench run"].info.run_id
    assert child.data.params == {"task": "air_temperature", "encoder": "direct", "head": "linear",
                                 "split": rec["split"], "seed": "0", "status": "ok", "head.alpha": "1.0"}
    assert child.data.metrics == {"r2": rec["metrics"]["r2"], "North_America.r2": 0.5, "North_America.n": 12.0,
                                  "time.fit_s": 0.25}
    assert child.data.tags["key"] == rec["key"]
    assert [a.path for a in client.list_artifacts(child.info.run_id)] == ["pred.parquet"]


def test_tracker_none_is_a_no_op(tmp_path):
    t = Tracker("none", tmp_path)
    t.log({"key": "k"})
    t.close()
    assert not t.enabled and not (tmp_path / "mlflow.db").exists()
