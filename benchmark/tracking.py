"""MLflow as a *view* of the results (``runs.jsonl`` stays the source of truth).

One parent run per ``geobench run`` invocation, one nested run per cell. The default store
is SQLite at ``<results>/mlflow.db`` with artifacts under ``<results>/mlartifacts``;
``--tracking-uri`` overrides it and ``--tracking-uri none`` disables tracking. Only the
driver process calls this module.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

EXPERIMENT = "geobench"


def default_uri(results_dir: Path) -> str:
    return f"sqlite:///{Path(results_dir).resolve() / 'mlflow.db'}"


class Tracker:
    """Logs records to MLflow; a no-op when disabled or when MLflow fails (with one warning)."""

    def __init__(self, uri: str | None, results_dir: Path, command: str = "") -> None:
        self.enabled = (uri or "").lower() not in ("none", "off", "false") and os.environ.get(
            "GEOBENCH_MLFLOW", "1") != "0"
        self.parent = None
        if not self.enabled:
            return
        try:
            import mlflow

            for name in ("mlflow", "alembic"):  # after import: mlflow configures its logger then
                logging.getLogger(name).setLevel(logging.ERROR)

            self.mlflow = mlflow
            mlflow.set_tracking_uri(uri or default_uri(results_dir))
            art = (Path(results_dir).resolve() / "mlartifacts").as_uri()
            if mlflow.get_experiment_by_name(EXPERIMENT) is None:
                mlflow.create_experiment(EXPERIMENT, artifact_location=art)
            mlflow.set_experiment(EXPERIMENT)
            self.parent = mlflow.start_run(run_name="geobench run")
            if command:
                mlflow.set_tag("command", command)
        except Exception as e:  # tracking must never lose a result
            warnings.warn(f"MLflow tracking disabled: {e}", stacklevel=2)
            self.enabled = False

    def log(self, record: dict, predictions: Path | None = None) -> None:
        if not self.enabled:
            return
        m = self.mlflow
        try:
            name = f"{record['task']}/{record['encoder']}/{record['head']}/{record['split']}/seed{record['seed']}"
            with m.start_run(run_name=name, nested=True):
                params = {k: record[k] for k in ("task", "encoder", "head", "split", "seed", "status")}
                params.update({f"head.{k}": v for k, v in (record.get("head_params") or {}).items()})
                m.log_params({k: str(v)[:500] for k, v in params.items()})
                metrics = {k: float(v) for k, v in (record.get("metrics") or {}).items() if _num(v)}
                for c, d in (record.get("per_continent") or {}).items():
                    key = _metric_name(c)
                    metrics.update({f"{key}.{k}": float(v) for k, v in d.items() if _num(v)})
                metrics.update({f"time.{k}": float(v) for k, v in (record.get("timings") or {}).items() if _num(v)})
                if metrics:
                    m.log_metrics(metrics)
                m.set_tag("key", record["key"])
                if predictions is not None:
                    m.log_artifact(str(predictions))
        except Exception as e:
            warnings.warn(f"MLflow logging failed for {record.get('key')}: {e}", stacklevel=2)

    def close(self) -> None:
        if self.enabled and self.parent is not None:
            try:
                self.mlflow.end_run()
            except Exception:
                pass


def _metric_name(s: str) -> str:
    """MLflow allows alphanumerics and _-. :/ in names."""
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in s)


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
