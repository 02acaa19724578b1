"""MLflow as a *view* of the grid's results (``runs.jsonl`` stays the source of truth).

One parent run "geobench run" per ``geobench run`` invocation in experiment "geobench", one
nested run per cell. The default store is SQLite at ``<results>/mlflow.db`` with artifacts
under ``<results>/mlartifacts``; ``--tracking-uri`` overrides it and ``--tracking-uri none``
disables tracking. Only the driver process calls this module.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from geobench.reporting.mlflow_run import MlflowRun, metric_name, sqlite_uri

EXPERIMENT = "geobench"


class Tracker:
    """Logs records to MLflow; a no-op when disabled or when MLflow fails (with one warning)."""

    def __init__(self, uri: str | None, results_dir: Path, command: str = "") -> None:
        results = Path(results_dir).resolve()
        self.run = MlflowRun(uri, experiment=EXPERIMENT, run_name="geobench run", default_uri=sqlite_uri(results),
                             artifact_location=(results / "mlartifacts").as_uri(),
                             tags={"command": command} if command else None)

    @property
    def enabled(self) -> bool:
        return self.run.enabled

    def log(self, record: dict, predictions: Path | None = None) -> None:
        """One nested run for ``record``: its identity as params (with ``head.*`` parameters),
        metrics, ``<continent>.<metric>`` and ``time.*``, the ``key`` tag and the predictions."""
        if not self.enabled:
            return
        try:
            name = f"{record['task']}/{record['encoder']}/{record['head']}/{record['split']}/seed{record['seed']}"
            params = {k: record[k] for k in ("task", "encoder", "head", "split", "seed", "status")}
            params.update({f"head.{k}": v for k, v in (record.get("head_params") or {}).items()})
            metrics = dict(record.get("metrics") or {})
            for c, d in (record.get("per_continent") or {}).items():
                metrics.update({f"{metric_name(c)}.{k}": v for k, v in d.items()})
            metrics.update({f"time.{k}": v for k, v in (record.get("timings") or {}).items()})
            tags = {"key": record["key"]}
        except Exception as e:  # a malformed record must not stop the grid
            warnings.warn(f"MLflow logging failed for {record.get('key')}: {e}", stacklevel=2)
            return
        self.run.log(child=name, params=params, metrics=metrics, tags=tags,
                     artifacts=[predictions] if predictions is not None else ())

    def close(self) -> None:
        self.run.close()
