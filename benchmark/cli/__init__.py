"""The ``geobench`` command line: list, data, run, leaderboard, plot, pretrain, reproduce."""
from __future__ import annotations

import argparse
import os
import sys

from geobench.errors import GeobenchError

from geobench.cli import catalog, pretrain, report, run


def build_parser() -> argparse.ArgumentParser:
    """The ``geobench`` parser; each verb's sub-parser sets ``func``, the function that runs it."""
    ap = argparse.ArgumentParser(prog="geobench", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    catalog.add_parsers(sub)  # list, data
    run.add_run_parser(sub)
    report.add_parsers(sub)  # leaderboard, plot
    pretrain.add_parser(sub)
    run.add_reproduce_parser(sub)
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
        return args.func(args)
    except GeobenchError as e:
        print(f"geobench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("geobench: interrupted; finished cells are saved in runs.jsonl, re-run to resume", file=sys.stderr)
        return 130
