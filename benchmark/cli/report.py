"""``geobench leaderboard`` and ``geobench plot``: outputs derived from ``runs.jsonl``."""
from __future__ import annotations

from pathlib import Path

from geobench.evaluation.records import default_results_dir


def add_parsers(sub) -> None:
    p = sub.add_parser("leaderboard", help="write results/leaderboard.csv and .md from runs.jsonl")
    p.add_argument("--results", default=str(default_results_dir()),
                   help="results folder (default: $GEOBENCH_RESULTS or geobench-results; the committed grid: results)")
    p.add_argument("--archive-superseded", metavar="FILE", default=None,
                   help="first move the rows of superseded settings (a re-run grid's older head versions, "
                   "weights or CI method), rows of weights an encoder no longer loads (a re-shipped "
                   "checkpoint) and rows of a retired head identity (an older version or older defaults of the "
                   "head; replaced or not) from runs.jsonl to FILE, "
                   "byte for byte")
    p.add_argument("--archive-heads", nargs="+", default=None, help="only these heads' rows (default: all)")
    p.add_argument("--dry-run", action="store_true", help="with --archive-superseded: list what would move, move nothing")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("plot", help="plots from runs.jsonl")
    p.add_argument("kind", choices=["continents", "maps", "africa"])
    p.add_argument("--task", nargs="+", default=["all"])
    p.add_argument("--head", default="linear")
    p.add_argument("--split", default="random")
    p.add_argument("--encoder", nargs="+", default=None)
    p.add_argument("--results", default=str(default_results_dir()),
                   help="results folder (default: $GEOBENCH_RESULTS or geobench-results; the committed grid: results)")
    p.set_defaults(func=cmd_plot)


def runs_file(results: str | Path) -> Path:
    """``results/runs.jsonl``, or a DataError naming the folder when it has none (a mistyped
    ``--results`` must not create a folder with an empty board)."""
    from geobench.errors import DataError

    runs = Path(results) / "runs.jsonl"
    if not runs.is_file():
        raise DataError(f"no runs.jsonl in {Path(results)} ({'folder exists' if Path(results).is_dir() else 'no such folder'}); "
                        "pass --results the folder `geobench run` wrote to")
    return runs


def cmd_leaderboard(args) -> int:
    from geobench.reporting.leaderboard import write_leaderboard

    runs = runs_file(args.results)
    if args.archive_superseded:
        from geobench.evaluation.archive import archive_superseded, summary_lines

        heads = set(args.archive_heads) if args.archive_heads else None
        moved, kept = archive_superseded(runs, Path(args.archive_superseded), heads, dry_run=args.dry_run)
        verb = "would move" if args.dry_run else "moved"
        print("\n".join([f"{verb} {len(moved)} row(s) of superseded settings, retired heads, stale weights or stale points to "
                         f"{args.archive_superseded}; {kept} line(s) stay", *summary_lines(moved)]))
        if args.dry_run:
            return 0
    csv, md, dropped = write_leaderboard(args.results)
    if dropped:
        print(f"note: {dropped} duplicate row(s) for the same key in runs.jsonl; kept the newest of each")
    print(f"wrote {csv} and {md}")
    print(md.read_text())
    return 0


def cmd_plot(args) -> int:
    from geobench.evaluation.records import read_records

    results = Path(args.results)
    records = read_records(runs_file(results)) if args.kind != "maps" else []
    if args.kind == "continents":
        from geobench.reporting.continents import plot_continents_from_runs

        if not records:
            print(f"no results in {results / 'runs.jsonl'}; nothing to plot (run `geobench run` first)")
        tasks = sorted({r["task"] for r in records}) if args.task == ["all"] else args.task
        for t in tasks:
            p = plot_continents_from_runs(results, t, head=args.head, split=args.split)
            print(f"wrote {p}" if p else f"no '{args.head}'/'{args.split}' results for {t}")
    elif args.kind == "maps":
        from geobench.reporting.figures import MAP_ENCODERS
        from geobench.reporting.maps import plot_embedding_maps

        for p in plot_embedding_maps(results / "maps", tuple(args.encoder or MAP_ENCODERS)):
            print(f"wrote {p}")
    else:
        from geobench.reporting.africa import plot_africa_ecoregions

        p = plot_africa_ecoregions(results, records, head=args.head)
        print(f"wrote {p}" if p else "no ecoregions Africa few-shot results; run the grid first")
    return 0
