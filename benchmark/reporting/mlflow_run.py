"""One MLflow run that never fails its caller: the shared wrapper behind the grid's MLflow view
(:mod:`geobench.reporting.tracking`) and the pretraining logs.

MLflow is a *view*; ``runs.jsonl`` and the checkpoint records stay the source of truth. Any
MLflow error disables logging with one warning. ``uri`` ``none``/``off``/``false`` or
``GEOBENCH_MLFLOW=0`` turn it off.
"""
from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Iterable

DISABLED = ("none", "off", "false")


def is_disabled(uri: str | None) -> bool:
    """True if ``uri`` or ``$GEOBENCH_MLFLOW`` turns tracking off."""
    return (uri or "").lower() in DISABLED or os.environ.get("GEOBENCH_MLFLOW", "1") == "0"


def sqlite_uri(folder: str | Path) -> str:
    """The default store: ``sqlite:///<folder>/mlflow.db`` (absolute)."""
    return f"sqlite:///{Path(folder).resolve() / 'mlflow.db'}"


def metric_name(s: str) -> str:
    """MLflow allows alphanumerics and ``_-.`` ``:/`` in names; everything else becomes ``_``."""
    from geobench.cache import safe_name

    return safe_name(s, keep="_-.")


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


class MlflowRun:
    """A top-level MLflow run in ``experiment``; :meth:`log` writes to it or to a nested child."""

    def __init__(self, uri: str | None, *, experiment: str, run_name: str, default_uri: str,
                 artifact_location: str | None = None, params: dict | None = None,
                 tags: dict | None = None) -> None:
        self.mlflow = None
        if is_disabled(uri):
            return
        try:
            import mlflow

            for name in ("mlflow", "alembic"):  # after import: mlflow configures its logger then
                logging.getLogger(name).setLevel(logging.ERROR)
            mlflow.set_tracking_uri(uri or default_uri)
            if artifact_location and mlflow.get_experiment_by_name(experiment) is None:
                mlflow.create_experiment(experiment, artifact_location=artifact_location)
            mlflow.set_experiment(experiment)
            mlflow.start_run(run_name=run_name)
            self.mlflow = mlflow
        except Exception as e:  # tracking must never lose a result
            warnings.warn(f"MLflow tracking disabled: {e}", stacklevel=2)
            return
        self.log(params=params, tags=tags)

    @property
    def enabled(self) -> bool:
        return self.mlflow is not None

    def log(self, *, params: dict | None = None, metrics: dict | None = None, step: int | None = None,
            tags: dict | None = None, artifacts: Iterable[str | Path] = (), child: str | None = None) -> None:
        """Log to this run, or to a new nested run named ``child``. Non-finite metrics are skipped."""
        m = self.mlflow
        if m is None:
            return
        try:
            with (m.start_run(run_name=child, nested=True) if child else contextlib.nullcontext()):
                if params:
                    m.log_params({k: str(v)[:500] for k, v in params.items()})
                finite = {k: float(v) for k, v in (metrics or {}).items() if _num(v)}
                if finite:
                    m.log_metrics(finite, step=step)
                for k, v in (tags or {}).items():
                    m.set_tag(k, v)
                for a in artifacts:
                    m.log_artifact(str(a))
        except Exception as e:
            warnings.warn(f"MLflow logging failed{f' for {child}' if child else ''}: {e}", stacklevel=2)

    def close(self) -> None:
        if self.mlflow is not None:
            try:
                self.mlflow.end_run()
            except Exception:
                pass
            self.mlflow = None
