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


def shutdown_pools(kill: bool = False) -> None:
    """Shut down joblib's reusable worker pool, if one was started (``kill``: stop its workers
    now). Left to the interpreter's exit, a Ctrl-C while it waits prints a traceback and exits 0."""
    mod = sys.modules.get("joblib.externals.loky.reusable_executor")
    ex = getattr(mod, "_executor", None)
    if ex is None:
        return
    try:
        ex.shutdown(wait=not kill, kill_workers=kill)
    except KeyboardInterrupt:
        if kill:
            raise
        ex.shutdown(wait=False, kill_workers=True)
        raise


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: finished cells are kept, the pool is stopped, exit 143."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    args = build_parser().parse_args(argv)
    # `kill PID` stops a grid as Ctrl-C does (a grid started with `&` from a script ignores SIGINT:
    # job control is off there, so the shell sets SIGINT to ignored); the caller's handler is
    # restored on return (main also runs in-process, from Python)
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args) -> int:
    """Run the verb; errors exit 2, Ctrl-C 130, SIGTERM 143, each with one line on stderr."""
    # OpenMP threads that spin while waiting stall 2-thread LightGBM/torch fits on a busy
    # machine by 10x or more; passive waiting costs nothing measurable when it is idle.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        try:
            for mod in getattr(args, "plugin", []) or []:
                from geobench.registry import load_plugin

                load_plugin(mod)
            rc = args.func(args)
        except GeobenchError as e:
            print(f"geobench: error: {e}", file=sys.stderr)
            rc = 2
        shutdown_pools()  # here, not at interpreter exit, so that a Ctrl-C meanwhile is handled below
        return rc
    except KeyboardInterrupt as e:
        shutdown_pools(kill=True)
        what = "terminated" if isinstance(e, Terminated) else "interrupted"
        print(f"geobench: {what}; finished cells are saved in runs.jsonl, re-run to resume", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
