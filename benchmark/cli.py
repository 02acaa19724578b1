"""The ``geobench`` command line: list, data, run, leaderboard, plot, pretrain, reproduce."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from geobench.errors import GeobenchError


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", nargs="+", default=["all"], help="task names, comma/space separated, or 'all' (offline tasks)")
    p.add_argument("--encoder", nargs="+", required=True, help="encoder specs, e.g. wrap sh:L=40, or 'all'")
    p.add_argument("--head", nargs="+", default=["linear"], help="linear, mlp, lightgbm (or 'all')")
    p.add_argument("--split", nargs="+", default=["random"],
                   help="random | spatial_block[:deg=10] | continent[:Africa][:fewshot=0.01]")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    p.add_argument("--results", default=os.environ.get("GEOBENCH_RESULTS", "results"), help="results folder")
    p.add_argument("--force", action="store_true", help="re-run cells already in runs.jsonl")
    p.add_argument("--tune", action="store_true", help="larger hyper-parameter search for the MLP head")
    p.add_argument("--executor", default="serial", choices=["serial", "joblib", "dask"])
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (joblib/dask)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: sqlite in results/; 'none' to disable)")
    p.add_argument("--plugin", action="append", default=[], help="import MODULE to register extra encoders/tasks")
    p.add_argument("--n-points", type=int, default=None, help="override n_points for sampled tasks")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% CI (0 = off)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="geobench", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("list", help="list tasks, encoders and heads")
    p.add_argument("what", nargs="?", default="all", choices=["all", "tasks", "encoders", "heads"])
    p.add_argument("--plugin", action="append", default=[])

    p = sub.add_parser("data", help="list, fetch or verify declared data files")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true", help="all declared files (default for list/verify)")

    p = sub.add_parser("run", help="run (task x encoder x head x split x seed) cells")
    _add_run_args(p)

    p = sub.add_parser("leaderboard", help="write results/leaderboard.csv and .md from runs.jsonl")
    p.add_argument("--results", default=os.environ.get("GEOBENCH_RESULTS", "results"))

    p = sub.add_parser("plot", help="plots from runs.jsonl")
    p.add_argument("kind", choices=["continents", "maps", "africa"])
    p.add_argument("--task", nargs="+", default=["all"])
    p.add_argument("--head", default="linear")
    p.add_argument("--split", default="random")
    p.add_argument("--encoder", nargs="+", default=None)
    p.add_argument("--results", default=os.environ.get("GEOBENCH_RESULTS", "results"))

    p = sub.add_parser("pretrain", help="train SatCLIP or CSP location encoders in this repo")
    p.add_argument("model", choices=["satclip", "csp"])
    p.add_argument("args", nargs=argparse.REMAINDER, help="options, see `geobench pretrain satclip -- --help`")

    p = sub.add_parser("reproduce", help="the full reproduction grid (resumable)")
    p.add_argument("--results", default=os.environ.get("GEOBENCH_RESULTS", "results"))
    p.add_argument("--task", nargs="+", default=["all"], help="a subset of the offline tasks (default all)")
    p.add_argument("--split", nargs="+", default=["all"],
                   help="a subset of the grid's split kinds: random, spatial_block, continent (default all)")
    p.add_argument("--no-report", action="store_true", help="run the cells only; skip the leaderboard, "
                   "figures and docs/results.md")
    p.add_argument("--report-only", action="store_true", help="regenerate the leaderboard, figures and "
                   "docs/results.md from runs.jsonl without running any cell")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--head", nargs="+", default=["linear", "mlp", "lightgbm"])
    p.add_argument("--encoder", nargs="+", default=["all"])
    p.add_argument("--executor", default="joblib", choices=["serial", "joblib", "dask"])
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--tracking-uri", default=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # OpenMP threads that spin while waiting stall 2-thread LightGBM/torch fits on a busy
    # machine by 10x or more; passive waiting costs nothing measurable when it is idle.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        for mod in getattr(args, "plugin", []) or []:
            from geobench.registry import load_plugin

            load_plugin(mod)
        return {"list": cmd_list, "data": cmd_data, "run": cmd_run, "leaderboard": cmd_leaderboard,
                "plot": cmd_plot, "pretrain": cmd_pretrain, "reproduce": cmd_reproduce}[args.cmd](args)
    except GeobenchError as e:
        print(f"geobench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("geobench: interrupted; finished cells are saved in runs.jsonl, re-run to resume", file=sys.stderr)
        return 130


def cmd_list(args) -> int:
    from geobench.encoding import ENCODERS
    from geobench.heads import HEADS
    from geobench.tasks.base import TASKS

    if args.what in ("all", "tasks"):
        print("TASKS")
        print(f"  {'name':<20} {'kind':<15} {'size':>8}  {'fidelity':<14} target")
        for name, e in TASKS.items():
            s = e.spec
            size = "external" if s.needs_external else (f"{s.expected_size:,}" if s.expected_size else "?")
            print(f"  {name:<20} {s.kind:<15} {size:>8}  {s.fidelity:<14} {s.target} [{s.unit}]")
            if s.needs_external:
                print(f"  {'':<20} needs external data: set {s.needs_external}")
            if s.proxy_note:
                print(f"  {'':<20} proxy: {s.proxy_note}")
    if args.what in ("all", "encoders"):
        print("ENCODERS")
        for name, e in ENCODERS.items():
            kind = getattr(e, "kind", "plugin")
            desc = getattr(e, "description", "")
            print(f"  {name:<16} {kind:<16} {desc}")
    if args.what in ("all", "heads"):
        print("HEADS")
        for name, h in HEADS.items():
            print(f"  {name:<16} {(getattr(h, '__doc__', '') or '').strip().splitlines()[0] if getattr(h, '__doc__', None) else ''}")
    return 0


def cmd_data(args) -> int:
    from geobench import data

    names = args.names or list(data.declared())
    if args.action == "list":
        for n in names:
            f = data.get_declared(n)
            state = "cached" if data.is_cached(n) else "missing"
            print(f"{n:<62} {f.size:>10,}  {state:<8} {f.fidelity:<15} {f.source.describe()}")
        return 0
    if args.action == "fetch":
        if not args.names and not args.all:
            print("geobench: error: name files to fetch, or pass --all", file=sys.stderr)
            return 2
        for n in names:
            t = time.perf_counter()
            p = data.fetch(n)
            print(f"ok  {n}  ({time.perf_counter() - t:.1f}s) -> {p}")
        return 0
    bad = 0
    for n in names:
        ok, msg = data.verify(n)
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {n}  {'' if ok else msg}")
    print(f"{len(names) - bad} verified, {bad} failed")
    return 1 if bad else 0


def cmd_run(args) -> int:
    from geobench.provenance import command_line
    from geobench.evaluation.runner import records_frame, run_grid

    opts = {"n_points": args.n_points} if args.n_points else None
    res = run_grid(args.task, args.encoder, args.head, args.split, args.seeds, results_dir=args.results,
                   force=args.force, executor=args.executor, n_jobs=args.jobs, scheduler=args.scheduler,
                   tune=args.tune, tracking_uri=args.tracking_uri, task_options=opts, n_boot=args.bootstrap,
                   command=command_line(), plugins=args.plugin)
    print(f"{len(res.records)} cell(s) run, {res.skipped} already done (use --force to redo), "
          f"{res.wall_seconds:.1f}s")
    if res.records:
        _print_summary(res.records)
        print(f"results: {Path(args.results) / 'runs.jsonl'}  (then `geobench leaderboard`)")
    return 0


def _print_summary(records: list[dict]) -> None:
    from geobench.leaderboard import summarize

    t, _ = summarize(records)
    for _, r in t.iterrows():
        val = "n/a" if r.status != "ok" else f"{r['mean']:.4f} ± {r['std']:.4f} (n={r.n_seeds})"
        print(f"  {r.task:<20} {r.encoder:<22} {r['head']:<9} {r.split:<28} {r.metric:<9} {val}")


def cmd_leaderboard(args) -> int:
    from geobench.leaderboard import write_leaderboard

    csv, md, dropped = write_leaderboard(args.results)
    if dropped:
        print(f"note: {dropped} duplicate row(s) for the same key in runs.jsonl; kept the newest of each")
    print(f"wrote {csv} and {md}")
    print(md.read_text())
    return 0


def cmd_plot(args) -> int:
    from geobench.evaluation.records import read_records

    records = read_records(Path(args.results) / "runs.jsonl")
    tasks = sorted({r["task"] for r in records}) if args.task == ["all"] else args.task
    if args.kind == "continents":
        from geobench.plots import plot_continents_from_runs

        for t in tasks:
            p = plot_continents_from_runs(args.results, t, head=args.head, split=args.split)
            print(f"wrote {p}" if p else f"no '{args.head}'/'{args.split}' results for {t}")
        return 0
    from geobench.reporting import report

    return report.plot_cli(args, records)


def cmd_pretrain(args) -> int:
    from geobench.encoders.pretraining.cli import main as pretrain_main

    rest = [a for a in args.args if a != "--"]
    return pretrain_main(args.model, rest)


def cmd_reproduce(args) -> int:
    from geobench.reporting import report

    return report.reproduce(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
