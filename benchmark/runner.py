"""The two-phase benchmark grid.

1. **Plan** every (task, encoder, head, split, seed) cell and drop those already in
   ``runs.jsonl`` (before any data is loaded).
2. **Embed** each unique (encoder, task) once into the embedding cache (driver process).
3. **Fit** each cell as a small job on an executor (serial / joblib / Dask). A job reads
   its embedding by path, splits, fits a head, predicts, and returns a record plus its
   per-point test predictions. Only the driver writes ``runs.jsonl``, the predictions
   Parquet files and MLflow, one cell at a time as results arrive.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from . import records as rec
from .errors import InputError


@dataclass(frozen=True)
class Job:
    """One fit cell; everything a worker needs, all picklable."""

    key: str
    task: str
    task_options: dict
    encoder: str
    encoder_meta: dict
    emb_path: str
    head: str
    split: str
    seed: int
    tune: bool = False
    n_threads: int = 2
    embed_seconds: float = 0.0
    n_boot: int = 1000
    plugins: tuple[str, ...] = ()  # --plugin modules, imported again inside each worker


@dataclass
class GridResult:
    records: list[dict] = field(default_factory=list)
    skipped: int = 0
    wall_seconds: float = 0.0


def _expand(values: Iterable[str], all_names: Callable[[], list[str]]) -> list[str]:
    out: list[str] = []
    for v in values:
        for part in (v.split(",") if isinstance(v, str) else [v]):
            if isinstance(part, str):
                part = part.strip()
                if not part:
                    continue
                if part == "all":
                    out.extend(all_names())
                    continue
            out.append(part)
    seen, uniq = set(), []
    for o in out:  # dedupe strings by value, encoder objects by identity
        k = o if isinstance(o, str) else id(o)
        if k not in seen:
            seen.add(k)
            uniq.append(o)
    return uniq


def offline_tasks() -> list[str]:
    """Registered tasks whose data is declared (not needing external data)."""
    from .tasks_api import TASKS

    return [n for n, e in TASKS.items() if not e.spec.needs_external]


def options_for(task: str, task_options: dict | None) -> dict:
    """The subset of ``task_options`` that ``task`` accepts (e.g. ``n_points`` only for sampled tasks)."""
    from .tasks_api import get_spec

    defaults = get_spec(task).defaults
    return {k: v for k, v in (task_options or {}).items() if k in defaults}


def plan(tasks: list[str], encoders: list[Any], heads: list[str], splits: list[str], seeds: list[int],
         *, task_options: dict | None = None) -> list[tuple]:
    """Validate every name and return the cells as (task, encoder_spec, encoder_obj, head, split, seed, key)."""
    from .encoding import get_encoder, resolve_spec
    from .heads import HEADS
    from .splits import parse_split
    from .tasks_api import TASKS

    for t in tasks:
        TASKS.get(t)
    for h in heads:
        HEADS.get(h)
    split_strs = [str(parse_split(s)) for s in splits]
    enc_specs: list[tuple[str, Any]] = []
    for e in encoders:
        if isinstance(e, str):
            enc_specs.append((resolve_spec(e), None))
        else:
            obj = get_encoder(e)
            enc_specs.append((obj.meta["spec"], obj))
    cells = []
    for t in tasks:
        for spec, obj in enc_specs:
            for h in heads:
                for s in split_strs:
                    for seed in seeds:
                        cells.append((t, spec, obj, h, s, int(seed),
                                      rec.record_key(t, spec, h, s, int(seed), options_for(t, task_options))))
    return cells


def run_grid(tasks: Iterable[str], encoders: Iterable[Any], heads: Iterable[str] = ("linear",),
             splits: Iterable[str] = ("random",), seeds: Iterable[int] | int = 3, *,
             results_dir: str | Path = "results", force: bool = False, executor: str = "serial",
             n_jobs: int | None = None, scheduler: str | None = None, tune: bool = False,
             tracking_uri: str | None = None, task_options: dict | None = None,
             progress: bool = True, n_boot: int = 1000, command: str = "",
             plugins: Iterable[str] = ()) -> GridResult:
    """Run the grid; returns the records produced by this call (skipped cells are not re-run)."""
    from .executor import threads_per_worker

    t_start = time.perf_counter()
    results_dir = Path(results_dir)
    runs_path = results_dir / "runs.jsonl"
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(dict.fromkeys(int(s) for s in seeds))
    if not seeds:
        raise InputError("no seeds to run: --seeds must be at least 1 (seeds run 0..N-1)")
    from .tasks_api import TASKS

    tasks = _expand(tasks, offline_tasks)
    encoders = _expand(encoders, _all_encoders)
    heads = _expand(heads, lambda: ["linear", "mlp", "lightgbm"])
    splits = list(splits)
    cells = plan(tasks, encoders, heads, splits, seeds, task_options=task_options)
    done = set() if force else rec.done_keys(runs_path)
    todo = [c for c in cells if c[-1] not in done]
    result = GridResult(skipped=len(cells) - len(todo))
    if not todo:
        result.wall_seconds = time.perf_counter() - t_start
        return result

    if executor != "serial" and not n_jobs:
        from .executor import default_cores

        n_jobs = default_cores()  # resolved once, for both the pool size and the threads per worker
    n_threads = threads_per_worker(executor, n_jobs)
    jobs = _embed_phase(todo, task_options or {}, tune, n_threads, n_boot, progress)
    if plugins:
        from dataclasses import replace

        jobs = [replace(j, plugins=tuple(plugins)) for j in jobs]
    from .tracking import Tracker

    tracker = Tracker(tracking_uri, results_dir, command=command)
    from .executor import run_jobs
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc="fit", disable=not progress)
    try:
        for record, preds in run_jobs(fit_cell, jobs, executor=executor, n_jobs=n_jobs, scheduler=scheduler):
            record["provenance"]["command"] = command
            pred_path = None
            if preds is not None:
                pred_path = write_predictions(results_dir, record, preds)
                record["predictions"] = str(pred_path.relative_to(results_dir))
            rec.append_records(runs_path, [record])
            tracker.log(record, pred_path)
            result.records.append(record)
            bar.update(1)
    finally:
        bar.close()
        tracker.close()
    result.wall_seconds = time.perf_counter() - t_start
    return result


def _all_encoders() -> list[str]:
    from .encoding import ENCODERS

    return ENCODERS.names()


def _embed_phase(todo: list[tuple], task_options: dict, tune: bool, n_threads: int, n_boot: int,
                 progress: bool) -> list[Job]:
    from .embed import embed
    from .encoding import get_encoder
    from .tasks_api import load_task

    jobs: list[Job] = []
    by_task: dict[str, list[tuple]] = {}
    for c in todo:
        by_task.setdefault(c[0], []).append(c)
    for task, cells in by_task.items():
        opts = options_for(task, task_options)
        points = load_task(task, **opts)
        encs: dict[str, tuple[str, dict, float]] = {}
        for t, spec, obj, head, split, seed, key in cells:
            if spec not in encs:
                enc = obj if obj is not None else get_encoder(spec)
                path, side = embed(enc, points.lonlat, points.sha256)
                meta = {k: v for k, v in enc.meta.items() if isinstance(v, (str, int, float, bool, type(None)))}
                encs[spec] = (str(path), meta, side.get("embed_seconds", 0.0))
            path, meta, secs = encs[spec]
            jobs.append(Job(key, task, opts, spec, meta, path, head, split, seed, tune, n_threads,
                            secs, n_boot))
    return jobs


def fit_cell(job: Job) -> tuple[dict, pd.DataFrame | None]:
    """Worker: split, fit, predict and score one cell. Pure apart from reading caches."""
    from . import metrics as M
    from .heads import make_head, not_applicable_reason
    from .provenance import git_commit, versions
    from .splits import apply_split, parse_split
    from .tasks_api import load_task
    from .threads import limit_threads

    t0 = time.perf_counter()
    for mod in job.plugins:
        from .registry import load_plugin

        load_plugin(mod)
    points = load_task(job.task, **job.task_options)
    spec = points.spec
    df = points.df
    X = np.load(job.emb_path, mmap_mode="r")
    split = parse_split(job.split)
    tr, va, te = apply_split(df, split, job.seed)
    y = points.y
    n_classes = len(points.classes) if points.classes else None
    record: dict[str, Any] = {
        "key": job.key, "task": job.task, "task_version": spec.version, "task_options": job.task_options,
        "kind": spec.kind, "encoder": job.encoder, "encoder_meta": job.encoder_meta, "head": job.head,
        "split": job.split, "seed": job.seed, "n_train": int(tr.size), "n_val": int(va.size), "n_test": int(te.size),
        "primary_metric": spec.primary_metric, "timestamp": time.time(),
        "provenance": {"versions": versions(), "git_commit": git_commit(), "data_checksums": points.inputs,
                       "points_sha256": points.sha256, "weights_sha256": job.encoder_meta.get("weights_sha256"),
                       "n_duplicate_points": points.meta.get("n_duplicate_points"),
                       "n_threads": job.n_threads,
                       "continent_assigned_by_nearest": points.meta.get("continent_assigned_by_nearest")},
    }
    reason = not_applicable_reason(job.head, spec.kind, n_classes)
    if reason:
        record.update(status="not_applicable", reason=reason, metrics={}, per_continent={}, head_params={})
        return record, None
    if "image_feature_row" in df.columns:  # image + location task (iNaturalist)
        return _fit_inat(job, points, X, record), None
    warnings_: list[str] = []
    if spec.kind == "classification":
        unseen = np.setdiff1d(np.unique(y[te]), np.unique(y[tr]))
        if unseen.size:
            msg = (f"{unseen.size} class(es) occur in test but not in train ({job.split}); "
                   "they can never be predicted")
            warnings_.append(msg)
    with limit_threads(job.n_threads):
        head = make_head(job.head, spec.kind, seed=job.seed, n_threads=job.n_threads, tune=job.tune,
                         n_classes=n_classes)
        Xtr, Xva, Xte = (np.asarray(X[i]) for i in (tr, va, te))
        t_fit = time.perf_counter()
        head.fit(Xtr, y[tr], Xva if va.size else None, y[va] if va.size else None)
        fit_s = time.perf_counter() - t_fit
        t_pred = time.perf_counter()
        if spec.kind == "regression":
            out = head.predict(Xte)
        else:
            out = head.predict_scores(Xte)
        pred_s = time.perf_counter() - t_pred
    metrics, per_cont, ci, pred_col = _score(spec.kind, y, tr, te, out, df["continent"].to_numpy()[te],
                                             n_classes, job.seed, job.n_boot)
    head_params = dict(getattr(head, "chosen_params_", {}) or {})
    search_s = head_params.pop("search_seconds", None)  # a timing, not a parameter
    record.update(status="ok", metrics=metrics, per_continent=per_cont, ci95={spec.primary_metric: ci},
                  head_params=head_params, warnings=warnings_,
                  timings={"embed_s": job.embed_seconds, "fit_s": round(fit_s, 4), "predict_s": round(pred_s, 4),
                           "search_s": search_s, "cell_s": round(time.perf_counter() - t0, 4)})
    preds = pd.DataFrame({"row": te, "lon": df["lon"].to_numpy()[te], "lat": df["lat"].to_numpy()[te],
                          "continent": df["continent"].to_numpy()[te], "y": y[te], "pred": pred_col})
    return record, preds


def _fit_inat(job: Job, points, X, record: dict) -> dict:
    """iNaturalist protocols on the official split; the split spec is not used (recorded as such)."""
    from .inat import PROTOCOL_BY_HEAD, evaluate_inat
    from .tasks_api import TASKS  # noqa: F401  (registry loaded)
    from geobench.tasks.inaturalist import features_for_points
    from .threads import limit_threads

    protocol = PROTOCOL_BY_HEAD.get(job.head)
    if protocol is None:
        record.update(status="not_applicable", reason=f"head {job.head!r} has no iNaturalist protocol "
                      f"(use {', '.join(PROTOCOL_BY_HEAD)})", metrics={}, per_continent={}, head_params={})
        return record
    df = points.df
    is_test = (df["split"] == "val").to_numpy()
    t0 = time.perf_counter()
    with limit_threads(job.n_threads):
        metrics = evaluate_inat(features_for_points(df), np.asarray(X), points.y, is_test, protocol,
                                n_classes=len(points.classes), seed=job.seed)
    record.update(status="ok", metrics=metrics, per_continent={}, head_params={"protocol": protocol},
                  n_train=int((~is_test).sum()), n_val=0, n_test=int(is_test.sum()),
                  warnings=["official train/val split used; the split option is ignored for this task"],
                  timings={"embed_s": job.embed_seconds, "fit_s": round(time.perf_counter() - t0, 4)})
    return record


def _score(kind, y, tr, te, out, cont_te, n_classes, seed, n_boot):
    from . import metrics as M

    yt = y[te]
    if kind == "regression":
        mean, std = float(np.mean(y[tr])), float(np.std(y[tr]))

        def fn(a, b):
            return M.regression_metrics(a, b, train_mean=mean, train_std=std)

        pred_col = np.asarray(out, dtype=np.float64)
        primary = "r2"
    else:
        def fn(a, b):
            return M.classification_metrics(a, b, n_classes=n_classes)

        pred_col = np.asarray(out).argmax(axis=1)
        primary = "accuracy"
    metrics = fn(yt, out)
    per_cont = {}
    for c in sorted(set(cont_te)):
        m = cont_te == c
        per_cont[c] = {**fn(yt[m], out[m]), "n": int(m.sum())}
    ci = M.bootstrap_ci(yt, out, primary, n_boot=n_boot, seed=seed) if n_boot else None  # vectorised by name
    return metrics, per_cont, (list(ci) if ci is not None else None), pred_col


def write_predictions(results_dir: Path, record: dict, preds: pd.DataFrame) -> Path:
    """Per-point test predictions: ``results/predictions/<task>/<encoder>/<head>__<split>__seed<k>.parquet``."""
    from .cache import atomic_path

    safe = lambda s: "".join(ch if ch.isalnum() or ch in "-_=." else "_" for ch in s)  # noqa: E731
    p = (results_dir / "predictions" / record["task"] / safe(record["encoder"])
         / f"{record['head']}__{safe(record['split'])}__seed{record['seed']}.parquet")
    with atomic_path(p) as tmp:
        preds.to_parquet(tmp, index=False)
    return p


def records_frame(records: list[dict]) -> pd.DataFrame:
    """Flatten records into one row per cell (metrics as columns)."""
    rows = []
    for r in records:
        row = {k: r.get(k) for k in ("task", "encoder", "head", "split", "seed", "status", "n_train", "n_test")}
        row.update({f"{k}": v for k, v in (r.get("metrics") or {}).items()})
        row["reason"] = r.get("reason")
        rows.append(row)
    return pd.DataFrame(rows)
