"""One MLflow run that never fails its caller: the shared wrapper behind the grid's MLflow view
(:mod:`geobench.reporting.tracking`) and the pretraining logs.

MLflow is a *view*; ``runs.jsonl`` and the checkpoint records stay the source of truth. Any
MLflow error disables logging with one warning. ``uri`` ``none``/``off``/``false`` or
``GEOBENCH_MLFLOW=0`` turn it off.

Faults: a SQLite store is created under a file lock (``mlflow.db.lock``), so concurrent first
runs do not race in MLflow's schema migration; a broken store's warning says to move the file
aside; an http(s) tracking server is probed first (``PROBE_S`` seconds), so an unreachable one
disables tracking at once instead of retrying for minutes, and later requests time out sooner
(``MLFLOW_HTTP_REQUEST_TIMEOUT``/``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` defaults, unless set).
"""
from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Iterable

DISABLED = ("none", "off", "false")
PROBE_S = 3.0  # seconds to connect to an http(s) tracking server before giving up
STORE_LOCK_S = 120.0  # seconds to wait for another process creating the same SQLite store
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "15", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}


def is_disabled(uri: str | None) -> bool:
    """True if ``uri`` or ``$GEOBENCH_MLFLOW`` turns tracking off."""
    return (uri or "").lower() in DISABLED or os.environ.get("GEOBENCH_MLFLOW", "1") == "0"


def sqlite_uri(folder: str | Path) -> str:
    """The default store: ``sqlite:///<folder>/mlflow.db`` (absolute), with the characters a
    URL reads specially (``%``, ``?``, ``#``) escaped, so ``100%`` in a path stays a path."""
    path = str(Path(folder).resolve() / "mlflow.db")
    return "sqlite:///" + path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite://`` URI, else None."""
    if not uri.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    db = make_url(uri).database
    return Path(db) if db and db != ":memory:" else None


def unreachable(uri: str) -> str | None:
    """Why the http(s) tracking server of ``uri`` cannot be reached within ``PROBE_S`` s, or None."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(uri)
    if u.scheme not in ("http", "https"):
        return None
    try:
        with socket.create_connection((u.hostname or "localhost", u.port or (443 if u.scheme == "https" else 80)),
                                      timeout=PROBE_S):
            return None
    except OSError as e:
        return f"cannot reach the MLflow tracking server {u.hostname}:{u.port or ''} ({e.strerror or e})"


def metric_name(s: str) -> str:
    """MLflow allows alphanumerics and ``_-.`` ``:/`` in names; everything else becomes ``_``."""
    from geobench.cache import safe_name

    return safe_name(s, keep="_-.")


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


@contextlib.contextmanager
def _store_lock(db: Path | None):
    """Hold ``<db>.lock`` while a SQLite store is opened (and created); a no-op for other stores."""
    if db is None:
        yield
        return
    from filelock import FileLock

    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock", timeout=STORE_LOCK_S):
        yield


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
        uri = uri or default_uri
        why = unreachable(uri)
        if why:
            warnings.warn(f"MLflow tracking disabled: {why}; start the server, fix --tracking-uri, or pass "
                          "--tracking-uri none (runs.jsonl is written either way)", stacklevel=2)
            return
        if uri.startswith(("http:", "https:")):
            for k, v in HTTP_DEFAULTS.items():
                os.environ.setdefault(k, v)
        db = sqlite_path(uri)
        try:
            import mlflow

            for name in ("mlflow", "alembic"):  # after import: mlflow configures its logger then
                logging.getLogger(name).setLevel(logging.ERROR)
            with _store_lock(db):  # one process at a time creates (migrates) a new SQLite store
                mlflow.set_tracking_uri(uri)
                if artifact_location and mlflow.get_experiment_by_name(experiment) is None:
                    mlflow.create_experiment(experiment, artifact_location=artifact_location)
                mlflow.set_experiment(experiment)
                mlflow.start_run(run_name=run_name)
            self.mlflow = mlflow
        except Exception as e:  # tracking must never lose a result
            fix = (f"; if the store {db} is broken, move it aside (mv '{db}' '{db}.broken') and run again "
                   "(runs.jsonl is unaffected)") if db is not None and db.exists() else ""
            warnings.warn(f"MLflow tracking disabled: {_first_line(e)}{fix}", stacklevel=2)
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
