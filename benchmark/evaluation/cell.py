"""Fitting one cell in a worker: split, fit the head, predict, score, and build its record."""
from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geobench.evaluation.plan import Cell
from geobench.evaluation.records import RunRecord


@dataclass(frozen=True)
class Job:
    """Everything a worker needs for one cell, all picklable (the cell carries no encoder object)."""

    cell: Cell
    encoder_meta: dict
    emb_path: str
    n_threads: int = 2
    embed_seconds: float = 0.0
    n_boot: int = 1000
    plugins: tuple[str, ...] = ()  # --plugin modules, imported again inside each worker
    command: str = ""  # the command line that ran the grid, for the record's provenance
    driver_pid: int = 0  # the process that runs the grid; a worker that is its child exits when it dies


_WATCHED: set[int] = set()  # driver pids this worker process already watches


def watch_driver(driver_pid: int, period: float = 1.0) -> None:
    """In a worker process that is a child of ``driver_pid`` (joblib/loky, a local Dask cluster),
    start a daemon thread that ends the process once the driver is gone (the worker is then
    re-parented), so a SIGKILLed driver leaves no workers behind. A no-op in the driver itself
    and in workers started elsewhere (a remote Dask cluster)."""
    if not driver_pid or driver_pid in _WATCHED or os.getpid() == driver_pid or os.getppid() != driver_pid:
        return
    _WATCHED.add(driver_pid)

    def watch() -> None:
        while os.getppid() == driver_pid:
            time.sleep(period)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="geobench-watch-driver").start()


def fit_cell(job: Job) -> tuple[dict, pd.DataFrame | None]:
    """Worker: split, fit, predict and score one cell; returns (record dict, per-point test
    predictions or None; the driver writes them to the record's ``predictions`` path).
    Pure apart from reading caches."""
    from geobench.errors import NotApplicableError
    from geobench.evaluation.intervals import FEW_BLOCKS, MIN_BLOCKS, ci_blocks
    from geobench.evaluation.splits import apply_split, n_shared_coords, parse_split
    from geobench.heads import make_head, not_applicable_reason
    from geobench.heads.base import HEADS, parse_head_spec
    from geobench.registry import load_plugin
    from geobench.tasks.base import load_task
    from geobench.threads import limit_threads

    t0 = time.perf_counter()
    watch_driver(job.driver_pid)
    for mod in job.plugins:
        load_plugin(mod)
    c = job.cell
    points = load_task(c.task, **c.task_options)
    spec, df, y = points.spec, points.df, points.y
    X = np.load(job.emb_path, mmap_mode="r")
    n_classes = len(points.classes) if points.classes else None
    try:
        tr, va, te = apply_split(df, parse_split(c.split), c.seed)
    except NotApplicableError as e:  # e.g. continent:Africa on a US-only task: recorded, the grid goes on
        return new_record(job, points, 0, 0, 0).not_applicable(str(e)).to_dict(), None
    head_name, head_opts = parse_head_spec(c.head)
    fit_on_val = not getattr(HEADS.get(head_name), "uses_validation", True) and not spec.protocol
    if fit_on_val:  # the head selects on train alone: it fits on train + val (rows in task order)
        tr, va = np.union1d(tr, va).astype(np.int64), va[:0]
    record = new_record(job, points, tr.size, va.size, te.size)
    if not spec.protocol:  # test points whose coordinates the head was fit on (duplicates across the parts)
        record.provenance["n_test_coords_in_train"] = n_shared_coords(df, te, tr)
    reason = not_applicable_reason(head_name, spec.kind, n_classes)
    if reason:
        return record.not_applicable(reason).to_dict(), None
    if spec.protocol:  # a task with its own evaluation protocol (iNaturalist)
        return _fit_protocol(job, points, X, record, head_name).to_dict(), None
    warnings_: list[str] = []
    ceiling: dict = {}
    if spec.kind == "classification":
        seen = np.isin(y[te], np.unique(y[tr]))
        unseen = np.unique(y[te][~seen])
        # classes absent from training can never be predicted: the best reachable accuracy
        ceiling = {"n_unseen_classes": int(unseen.size), "accuracy_ceiling": float(seen.mean()) if te.size else None}
        if unseen.size:
            warnings_.append(f"{unseen.size} class(es) occur in test but not in train ({c.split}); "
                             "they can never be predicted")
    with limit_threads(job.n_threads):
        head = make_head(head_name, spec.kind, seed=c.seed, n_threads=job.n_threads, tune=c.tune,
                         n_classes=n_classes, **head_opts)
        Xtr, Xva, Xte = (np.asarray(X[i]) for i in (tr, va, te))
        t_fit = time.perf_counter()
        head.fit(Xtr, y[tr], eval_set=[(Xva, y[va])] if va.size else None)
        fit_s = time.perf_counter() - t_fit
        t_pred = time.perf_counter()
        out = head.predict(Xte) if spec.kind == "regression" else head.predict_scores(Xte)
        pred_s = time.perf_counter() - t_pred
    ci_method = c.identity.get("ci", "iid") if job.n_boot else None
    blocks = ci_blocks(ci_method, df["lon"].to_numpy()[te], df["lat"].to_numpy()[te])
    lonlat = df[["lon", "lat"]].to_numpy(np.float64)
    metrics, per_cont, ci, pred_col, geo = score(spec.kind, spec.primary_metric, y, tr, te, out,
                                                 df["continent"].to_numpy()[te], n_classes, c.seed, job.n_boot,
                                                 blocks, lonlat=lonlat)
    if blocks is not None:
        record.ci_blocks = n_blocks = int(np.unique(blocks).size)
        if n_blocks < MIN_BLOCKS:
            warnings_.append(f"the test set lies in {n_blocks} block of the {ci_method} bootstrap: "
                             "its interval is undefined, ci95 is null")
        elif n_blocks < FEW_BLOCKS:
            warnings_.append(f"the {ci_method} bootstrap resamples only {n_blocks} test blocks: a rough interval")
    head_params = dict(getattr(head, "chosen_params_", {}) or {})
    if fit_on_val:
        head_params["fit_on"] = "train+val"
    head_timings = dict(getattr(head, "timings_", {}) or {})  # e.g. the MLP search: timings, not parameters
    record.metrics, record.per_continent, record.head_params = {**metrics, **ceiling}, per_cont, head_params
    record.ci95, record.ci_method, record.warnings = {spec.primary_metric: ci}, ci_method, warnings_
    record.geo = geo
    record.timings = {"embed_s": job.embed_seconds, "fit_s": round(fit_s, 4), "predict_s": round(pred_s, 4),
                      "search_s": head_timings.pop("search_s", None), **head_timings,
                      "cell_s": round(time.perf_counter() - t0, 4)}
    record.predictions = c.predictions_file
    preds = pd.DataFrame({"row": te, "lon": df["lon"].to_numpy()[te], "lat": df["lat"].to_numpy()[te],
                          "continent": df["continent"].to_numpy()[te], "y": y[te], "pred": pred_col})
    preds.attrs["key"] = c.key  # stored in the Parquet metadata: a reader checks the file belongs to its row
    return record.to_dict(), preds


def new_record(job: Job, points, n_train: int, n_val: int, n_test: int) -> RunRecord:
    """The record of ``job`` before any fitting: identity, sizes and provenance."""
    from geobench.provenance import git_commit, git_diff_sha256, versions

    c, spec = job.cell, points.spec
    diff = git_diff_sha256()  # only for a dirty tree: tells apart runs from different uncommitted edits
    return RunRecord(
        key=c.key, identity=c.identity, setting=c.setting, task=c.task, task_version=spec.version, task_options=c.task_options, kind=spec.kind,
        encoder=c.encoder, encoder_meta=job.encoder_meta, head=c.head, split=c.split, seed=c.seed,
        split_seed=_split_seed(c.split, c.seed),
        n_train=int(n_train), n_val=int(n_val), n_test=int(n_test), primary_metric=spec.primary_metric,
        provenance={"versions": versions(), "git_commit": git_commit(),
                    **({"git_diff_sha256": diff} if diff else {}), "data_checksums": points.inputs,
                    "points_sha256": points.sha256, "weights_sha256": job.encoder_meta.get("weights_sha256"),
                    "n_duplicate_points": points.meta.get("n_duplicate_points"), "n_threads": job.n_threads,
                    "mkl_cbwr": _mkl_mode(), "command": job.command,
                    "continent_assigned_by_nearest": points.meta.get("continent_assigned_by_nearest")})


def _mkl_mode() -> str | None:
    """The process's ``MKL_CBWR``, or a note that it was set after torch was loaded (the mode MKL
    runs in is then not known)."""
    import geobench

    mode = os.environ.get("MKL_CBWR")
    return f"{mode} (set after torch was imported: may not be in effect)" if geobench.MKL_CBWR_LATE else mode


def _split_seed(split: str, seed: int) -> int | None:
    from geobench.evaluation.splits import parse_split

    try:
        return parse_split(split).split_seed(seed)
    except Exception:  # pragma: no cover - the plan validated the split
        return None


def _fit_protocol(job: Job, points, X, record: RunRecord, head: str) -> RunRecord:
    """A task's own protocol (declared on its TaskSpec) instead of split + head."""
    from geobench.errors import NotApplicableError
    from geobench.tasks.base import resolve_protocol
    from geobench.threads import limit_threads

    evaluate = resolve_protocol(points.spec)
    t0 = time.perf_counter()
    try:
        with limit_threads(job.n_threads):
            res = evaluate(points, np.asarray(X), head=head, seed=job.cell.seed,
                           n_threads=job.n_threads)
    except NotApplicableError as e:
        return record.not_applicable(str(e))
    record.metrics, record.head_params, record.warnings = res.metrics, res.head_params, list(res.warnings)
    record.n_train, record.n_val, record.n_test = res.n_train, res.n_val, res.n_test
    record.timings = {"embed_s": job.embed_seconds, "fit_s": round(time.perf_counter() - t0, 4)}
    return record


def score(kind: str, primary: str, y: np.ndarray, tr: np.ndarray, te: np.ndarray, out: np.ndarray,
          cont_te: np.ndarray, n_classes: int | None, seed: int, n_boot: int, blocks: np.ndarray | None = None,
          lonlat: np.ndarray | None = None) -> tuple[dict, dict, list | None, np.ndarray, dict | None]:
    """(metrics, per-continent metrics, bootstrap CI of ``primary`` or None, per-point prediction
    column, geo block or None) of test predictions ``out`` (regression values, or (n, n_classes)
    scores). ``blocks`` (one label per test point) makes the CI a block bootstrap; None: i.i.d.
    ``lonlat``: every point's (lon, lat) degrees, indexed like ``y``; given, the geo block
    (:func:`geobench.evaluation.geobias.geo_scores`) is computed."""
    from geobench.evaluation import metrics as M

    yt = y[te]
    if kind == "regression":
        mean, std = float(np.mean(y[tr])), float(np.std(y[tr]))

        def fn(a: np.ndarray, b: np.ndarray) -> dict:
            return M.regression_metrics(a, b, train_mean=mean, train_std=std)

        pred_col = np.asarray(out, dtype=np.float64)
    else:
        major = int(np.argmax(np.bincount(y[tr].astype(np.int64))))  # the constant head's class (ties: lowest)

        def fn(a: np.ndarray, b: np.ndarray) -> dict:
            return M.classification_metrics(a, b, n_classes=n_classes, majority_class=major)

        pred_col = np.asarray(out).argmax(axis=1)
    metrics = fn(yt, out)
    per_cont = {}
    for c in sorted(set(cont_te)):
        m = cont_te == c
        per_cont[c] = {**fn(yt[m], out[m]), "n": int(m.sum())}
    ci = None
    if n_boot:
        with warnings.catch_warnings():  # too few blocks: the caller records why there is no interval
            warnings.simplefilter("ignore", UserWarning)
            ci = M.bootstrap_ci(yt, out, primary, n_boot=n_boot, seed=seed, blocks=blocks)  # vectorised by name
        ci = None if ci[0] is None else list(ci)
    geo = None
    if lonlat is not None and te.size and tr.size:
        from geobench.evaluation.geobias import geo_scores

        geo = geo_scores(kind, yt, pred_col, lonlat[te], lonlat[tr], per_cont, lambda m: fn(yt[m], out[m]))
    return metrics, per_cont, ci, pred_col, geo
