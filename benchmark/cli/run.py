"""``geobench run`` (cells) and ``geobench reproduce`` (the reproduction grid, then the report).

Both parsers are built by :func:`add_run_args`, so every ``run`` flag works for ``reproduce``
and reaches the runner; ``reproduce`` only changes the defaults (the grid's) and adds
``--page``, ``--no-report``, ``--report-only`` and ``--allow-dirty``: ``reproduce`` refuses to run
cells from a source tree with uncommitted changes (see :mod:`geobench.provenance`) unless given
``--allow-dirty``; ``run``, the exploratory command, runs anyway. Either way a dirty tree's
records carry ``provenance.git_diff_sha256``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from geobench.evaluation.records import default_results_dir

# `geobench reproduce` defaults: the declared profile's grid (its heads, encoders and seeds;
# every task and split kind), on a joblib pool
GRID_DEFAULTS = {"task": ["all"], "split": ["all"], "encoder": None, "head": None, "seeds": None,
                 "executor": "joblib", "results": "results"}


def add_run_args(p: argparse.ArgumentParser, *, grid: bool = False) -> None:
    """The flags of ``run``; ``grid=True`` for ``reproduce``, where ``--task`` and ``--split``
    restrict the grid (split *kinds*) and ``--encoder`` is optional."""
    p.add_argument("--task", nargs="+", default=["all"],
                   help="a subset of the grid's tasks (the offline tasks, plus external-data tasks whose data "
                   "folder is set)" if grid else "task names, comma/space separated, or 'all' (offline tasks)")
    p.add_argument("--encoder", nargs="+", required=not grid,
                   help="a subset of the profile's encoders (canonical specs, e.g. wrap sh:L=40)" if grid
                   else "encoder specs, e.g. wrap sh:L=40, or 'all'")
    p.add_argument("--head", nargs="+", default=["linear"],
                   help="a subset of the profile's heads" if grid else
                   "head specs: linear, mlp, lightgbm, constant, with options as for encoders (mlp:max_epochs=50), or 'all'")
    p.add_argument("--split", nargs="+", default=["random"],
                   help="a subset of the grid's split kinds: random, spatial_block, continent" if grid
                   else ("random[:duplicates=grouped] | spatial_block[:deg=10][:buffer=KM] | continent[:Africa][:fewshot=0.01]; "
                         "any takes :seed=N (split seed)"))
    p.add_argument("--seeds", type=int, default=3,
                   help="at most this many seeds per block of the profile" if grid else "number of seeds (0..N-1)")
    p.add_argument("--results", default=str(default_results_dir()),
                   help="results folder (reproduce: the reference grid in results/)" if grid else
                   "results folder (default: $GEOBENCH_RESULTS or geobench-results)")
    p.add_argument("--force", action="store_true", help="re-run cells already in runs.jsonl")
    p.add_argument("--tune", action="store_true", help="larger hyper-parameter search for the MLP head")
    p.add_argument("--executor", default="serial", choices=["serial", "joblib", "dask"], help="how cells are run")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (joblib/dask)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: sqlite in results/; 'none' to disable)")
    p.add_argument("--plugin", action="append", default=[], help="import MODULE to register extra encoders/tasks")
    p.add_argument("--n-points", type=int, default=None, help="override n_points for sampled tasks")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% CI (0 = off)")
    p.add_argument("--ci", default="block", help="how the 95%% CI resamples test points: block (whole lon/lat blocks "
                   "of the task's block size: 10 degrees, 2 for median_income, 1 for california_housing; a "
                   "spatial_block split's own deg), block:deg=D, or iid (one by one; too narrow under spatial "
                   "correlation)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"],
                   help="torch device of the MLP head and the torch encoders (SatCLIP, CSP, GeoCLIP); GPU results "
                   "are not bit-identical to CPU ones (the device is part of the cell's identity) and the GPU "
                   "path is untested")


class _GridHelp(argparse.ArgumentDefaultsHelpFormatter):
    """``reproduce --help``: each option's default, except for flags and unset or empty defaults."""

    def _get_help_string(self, action):
        if action.default is None or action.default == [] or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def add_run_parser(sub) -> None:
    p = sub.add_parser("run", help="run (task x encoder x head x split x seed) cells")
    add_run_args(p)
    p.set_defaults(func=cmd_run)


def add_reproduce_parser(sub) -> None:
    from geobench.evaluation.profiles import PROFILES, describe

    profiles = " ".join(f"Profile {name!r}: {describe(p)}." for name, p in PROFILES.items())
    p = sub.add_parser("reproduce", help="the declared reproduction grid (resumable)", formatter_class=_GridHelp,
                       description="Run the declared reproduction grid (resumable: finished cells are skipped; a "
                       "progress line with an ETA each minute), then write the leaderboard and figures under "
                       "--results and the results page (--page). Every task and split kind of the grid; "
                       f"{profiles}")
    add_run_args(p, grid=True)
    p.set_defaults(func=cmd_reproduce, **GRID_DEFAULTS)
    p.add_argument("--page", default=None, help="the results page to write (default: docs/results.md next to the "
                   "results folder, i.e. RESULTS/../docs/results.md)")
    p.add_argument("--no-report", action="store_true", help="run the cells only; skip the leaderboard, "
                   "figures and the results page")
    p.add_argument("--report-only", action="store_true", help="regenerate the leaderboard, figures and "
                   "the results page from runs.jsonl without running any cell")
    p.add_argument("--allow-dirty", action="store_true", help="run cells even if the geobench sources have "
                   "uncommitted changes (each record then carries provenance.git_diff_sha256, the hash of "
                   "the diff)")
    p.add_argument("--dry-run", action="store_true", help="print the declared cells and how many are still to "
                   "run, per head and task, and exit")
    p.add_argument("--profile", default="paper", help="the declared grid to run (see geobench.evaluation.profiles; "
                   "--head, --encoder, --seeds, --task and --split narrow it)")


def _runner_options(args) -> dict:
    """``run_grid`` keyword arguments from the shared flags (everything but the grid's axes)."""
    from geobench.provenance import command_line

    return dict(results_dir=Path(args.results), force=args.force, executor=args.executor, n_jobs=args.jobs,
                scheduler=args.scheduler, tune=args.tune, tracking_uri=args.tracking_uri,
                task_options={"n_points": args.n_points} if args.n_points else None, n_boot=args.bootstrap,
                command=command_line(), plugins=args.plugin, ci=args.ci, device=args.device)


def note_ignored_n_points(args) -> None:
    """Say on stderr which of the run's tasks have no ``n_points`` option (``--n-points`` is ignored for them)."""
    if not args.n_points:
        return
    import sys

    from geobench.evaluation.plan import expand, offline_tasks, options_for

    without = [t for t in expand(args.task, offline_tasks) if not options_for(t, {"n_points": args.n_points})]
    if without:
        print(f"geobench: note: --n-points is ignored for {', '.join(without)} (no n_points option; "
              "see `geobench list`)", file=sys.stderr)


def cmd_run(args) -> int:
    from geobench.evaluation.runner import run_grid

    note_ignored_n_points(args)
    res = run_grid(args.task, args.encoder, args.head, args.split, args.seeds, **_runner_options(args))
    print(f"{len(res.records)} cell(s) run, {res.skipped} already done (use --force to redo), "
          f"{res.wall_seconds:.1f}s")
    if res.records:
        _print_summary(res.records)
    print(f"results: {Path(args.results) / 'runs.jsonl'}\nleaderboard: geobench leaderboard --results {args.results}")
    return 0


def _print_summary(records: list[dict]) -> None:
    from geobench.reporting.leaderboard import summarize

    t, _ = summarize(records)
    for _, r in t.iterrows():
        spread = f"{r['std']:.4f}" if r.n_seeds > 1 else "–"
        val = "n/a" if r.status != "ok" else f"{r['mean']:.4f} ± {spread} (n={r.n_seeds})"
        print(f"  {r.task:<20} {r.encoder:<22} {r['head']:<9} {r.split:<28} {r.metric:<9} {val}")


def default_page(results: Path) -> Path:
    """Where ``reproduce`` writes the results page by default: ``docs/`` next to the results folder."""
    return Path(results).resolve().parent / "docs" / "results.md"


def _require_external_data(task: str) -> None:
    """A clear error for a registered task whose external data folder is not configured."""
    from geobench.errors import DataError
    from geobench.tasks.base import TASKS

    if task in TASKS.names():
        var = TASKS.get(task).spec.needs_external
        if var and not os.environ.get(var):
            raise DataError(f"task {task!r} needs external data: set {var} to its data folder "
                            f"(see `geobench list` and the task's docstring), or leave it out of --task")


def _check_names(kind: str, names: list[str], valid) -> list[str]:
    from geobench.errors import UnknownNameError
    from geobench.registry import unknown_name_message

    for n in names:
        if n not in valid:
            raise UnknownNameError(unknown_name_message(kind, n, valid))
    return names


def cmd_reproduce(args) -> int:
    """Run (resumably) the profile's grid, task by task, with a progress line and an ETA; log the
    run's measured wall time in ``results/reproduce_log.jsonl``; regenerate every report artefact."""
    from geobench.errors import GeobenchError
    from geobench.evaluation.grid import SPLIT_KINDS, reproduce_tasks
    from geobench.evaluation.plan import expand
    from geobench.evaluation.runner import run_planned
    from geobench.provenance import require_clean_tree
    from geobench.reporting.results_page import narrative_sections

    t0 = time.perf_counter()
    results = Path(args.results)
    page = Path(args.page) if args.page else default_page(results)
    if not args.no_report:
        narrative_sections()  # a missing narrative fails now, not after hours of grid
    tasks = expand(args.task, reproduce_tasks)
    for t in tasks:
        _require_external_data(t)
    tasks = _check_names("reproducible task", tasks, reproduce_tasks())
    kinds = _check_names("reproduce split kind", expand(args.split, lambda: list(SPLIT_KINDS)), SPLIT_KINDS)
    n_run, failed = 0, []
    if not args.report_only:
        if not args.allow_dirty and not args.dry_run:
            require_clean_tree()  # records from uncommitted code cannot be traced to a commit
        progress, plans, failed = _progress(args, _profile_runs(args, tasks, kinds))
        if args.dry_run:
            for (head, task), n in sorted(progress.pending.items()):
                print(f"  to run: {head:<9} {task:<20} {n} cell(s)")
            return 1 if failed else 0
        _log_segment(results, None)  # the checkpoint of a run killed without warning, before it is overwritten
        progress.on_line = _checkpoint_segment(results, args, t0)
        progress.on_line(progress)  # a run killed while planning or embedding leaves its time too
        interrupted = False
        run_kw = {k: v for k, v in _runner_options(args).items() if k not in PLAN_OPTIONS}
        try:
            for (task, heads, *_), cells, todo in plans:
                if task in failed:  # an earlier block of it failed: the task fails whole
                    continue
                try:
                    res = run_planned(cells, todo, on_cell=progress.cell_done, **run_kw)
                except GeobenchError as e:  # report, and go on with the other tasks
                    print(f"{task}: FAILED: {e}", flush=True)
                    failed.append(task)
                    progress.drop_task(task)
                    continue
                n_run += len(res.records)
                print(f"{task} ({'/'.join(heads)}): {len(res.records)} cell(s) run, {res.skipped} already done, "
                      f"{res.wall_seconds:.0f}s", flush=True)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            print(progress.summary(), flush=True)
            extra = {"interrupted": True} if interrupted else {}
            _log_segment(results, _segment_row(args, progress, time.perf_counter() - t0, **extra))
    if not args.no_report:
        _write_report(results, page)
    print(f"reproduce: {n_run} cell(s) run; total wall time {time.perf_counter() - t0:.0f}s"
          + (f"; FAILED tasks: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _profile_runs(args, tasks: list[str], kinds: list[str]) -> list[tuple]:
    """(task, heads, encoders, splits, seeds) of the profile narrowed by the flags, per task and block."""
    from geobench.encoding import resolve_spec
    from geobench.evaluation.grid import grid_plan
    from geobench.evaluation.plan import expand
    from geobench.evaluation.profiles import get_profile, restrict

    profile = get_profile(args.profile)
    heads = expand(args.head, lambda: sorted({h for b in profile.blocks for h in b.heads})) if args.head else None
    encoders = [resolve_spec(e) for e in expand(args.encoder, lambda: [])] if args.encoder else None
    if args.encoder and "all" in args.encoder:
        encoders = None
    blocks = restrict(profile, heads, encoders, args.seeds)
    out = []
    for task, splits in grid_plan(tasks):
        for b in blocks:
            sp = [s for s in b.task_splits(task, splits) if s.split(":")[0] in kinds]
            if sp:
                out.append((task, list(b.heads), list(b.encoders), sp, b.seeds))
    return out


PLAN_OPTIONS = ("tune", "task_options", "ci", "device")  # runner options used by planning only


def _progress(args, runs: list[tuple]):
    """(a :class:`GridProgress` over ``runs``, ``[(run, cells, todo)]`` of the runs that could be
    planned, the tasks that could not): the cells to run, planned once before any is run. A task
    whose planning fails (its data or an encoder's weights) is reported and left out, like a task
    whose cells fail."""
    from geobench.errors import GeobenchError
    from geobench.evaluation.progress import GridProgress, prior_cell_seconds
    from geobench.evaluation.records import read_records
    from geobench.evaluation.runner import plan_todo

    opts = _runner_options(args)
    kw = {k: opts[k] for k in ("results_dir", "force", "n_boot", *PLAN_OPTIONS)}
    ok_runs, failed = [], []
    for run in runs:
        task, heads, encoders, splits, seeds = run
        if task in failed:
            continue
        try:
            cells, todo = plan_todo([task], encoders, heads, splits, seeds, **kw)
        except GeobenchError as e:
            print(f"{task}: FAILED: {e}", flush=True)
            failed.append(task)
            continue
        ok_runs.append((run, cells, todo))
    ok_runs = [r for r in ok_runs if r[0][0] not in failed]  # a task fails whole, its other blocks too
    pending: dict[tuple[str, str], int] = {}
    for _, _, todo in ok_runs:
        for c in todo:
            key = (c.head.split(":")[0], c.task)
            pending[key] = pending.get(key, 0) + 1
    done_before = sum(len(cells) - len(todo) for _, cells, todo in ok_runs)
    prior = prior_cell_seconds(read_records(Path(args.results) / "runs.jsonl", warn=False), pending)
    p = GridProgress(pending, done_before, prior=prior)
    print(f"reproduce --profile {args.profile}: {p.total} declared cell(s), {done_before} already in "
          f"{Path(args.results) / 'runs.jsonl'}, {p.remaining} to run", flush=True)
    return p, ok_runs, failed


SEGMENT_LOG = "reproduce_log.jsonl"  # one JSON line per `reproduce` run: its measured wall time
CURRENT_SEGMENT = ".reproduce_current.{host}.{pid}.json"  # a running one's, rewritten with each progress line
OTHER_HOST_STALE_S = 600.0  # another host's checkpoint untouched this long: its run is gone (rewritten each minute)


def _segment_row(args, progress, wall_s: float, **extra) -> dict:
    from geobench.perf.machine import machine_info
    from geobench.provenance import command_line, git_commit

    m = machine_info()
    machine = {k: m[k] for k in ("cpu_model", "logical_cores", "usable_cores", "memory_gb")}
    return {"machine": machine, "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "profile": args.profile,
            "git_commit": git_commit(), "cells_run": progress.n_done, "cells_done_before": progress.done_before,
            "cells_declared": progress.total, "wall_s": round(wall_s, 1), "cell_s": round(progress.cell_seconds, 1),
            "executor": args.executor, "jobs": args.jobs, "command": command_line(), **extra}


def _checkpoint_segment(results: Path, args, t0: float):
    """A progress callback that keeps ``results/.reproduce_current.json`` up to date, so a run
    killed without warning still leaves its measured time (recovered by the next run). The
    checkpoint names its process (``owner``: pid and host)."""
    import json
    import socket

    from geobench.cache import atomic_path

    def write(progress) -> None:
        row = _segment_row(args, progress, time.perf_counter() - t0, interrupted=True,
                           owner={"pid": os.getpid(), "host": socket.gethostname()})
        with atomic_path(results / CURRENT_SEGMENT.format(host=socket.gethostname(), pid=os.getpid())) as tmp:
            Path(tmp).write_text(json.dumps(row, sort_keys=True))

    return write


def _log_segment(results: Path, row: dict | None) -> None:
    """Append to ``results/reproduce_log.jsonl`` the checkpoints killed runs left (their owner
    process gone; a live run's checkpoint is its own), and this run's final ``row`` if given (at
    its end, replacing its own checkpoint): the declared grid's wall time is the sum over the
    runs that built it."""
    import json

    results.mkdir(parents=True, exist_ok=True)
    rows = []
    for current in sorted(results.glob(".reproduce_current*.json")):  # also the names older versions wrote
        try:
            found = json.loads(current.read_text())
        except ValueError:  # a torn checkpoint: its run's time is lost, say so
            print(f"geobench: warning: {current} is unreadable; that run's wall time is not logged", flush=True)
            found = {}
        owner = found.pop("owner", None) or {}
        if owner.get("pid") == os.getpid():
            if row is not None:
                current.unlink()  # this run's own checkpoint: the final row replaces it
        elif _alive(owner, current):
            print(f"geobench: note: another reproduce (pid {owner['pid']}) is running on {results}; "
                  "its wall time is its own to log", flush=True)
        else:  # the checkpoint of a run killed without warning
            if found:
                rows.append(found)
            current.unlink()
    if row and row["cells_run"]:
        rows.append(row)
    if rows:
        with open(results / SEGMENT_LOG, "a") as f:
            f.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def _alive(owner: dict, checkpoint: Path) -> bool:
    """Whether ``owner`` (pid and host of a checkpoint) is a live process other than this one: on
    this host, by its pid; on another host (a shared results folder), while its ``checkpoint``
    was rewritten within :data:`OTHER_HOST_STALE_S`."""
    import socket

    pid = owner.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    if owner.get("host") != socket.gethostname():
        try:
            return time.time() - checkpoint.stat().st_mtime < OTHER_HOST_STALE_S
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _write_report(results: Path, page: Path) -> None:
    """The leaderboard and figures under ``results``, and the results page at ``page``."""
    from geobench.reporting.figures import write_figures
    from geobench.reporting.leaderboard import write_leaderboard
    from geobench.reporting.results_page import write_results_md

    write_leaderboard(results)
    write_figures(results)
    write_results_md(results, page)
    print(f"results page: {page}")
