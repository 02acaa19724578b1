"""``geobench list`` (tasks, encoders, heads) and ``geobench data`` (declared data files)."""
from __future__ import annotations

import sys
import time


def add_parsers(sub) -> None:
    p = sub.add_parser("list", help="list tasks, encoders and heads")
    p.add_argument("what", nargs="?", default="all", choices=["all", "tasks", "encoders", "heads"])
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("data", help="list, fetch or verify declared data files")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true", help="all declared files (default for list/verify)")
    p.set_defaults(func=cmd_data)


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
            if s.proxy_note and not s.differences:
                print(f"  {'':<20} proxy: {s.proxy_note}")
            for d in s.differences:  # machine-readable (geobench.tasks.differences); they replace the note
                how = f" (option {d.option})" if d.option else ""
                print(f"  {'':<20} differs in {d.aspect}: paper: {d.paper}; ours: {d.ours}{how}")
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
        for i, n in enumerate(names, 1):
            t = time.perf_counter()
            p = data.fetch(n)
            print(f"[{i}/{len(names)}] ok  {n}  ({time.perf_counter() - t:.1f}s) -> {p}", flush=True)
        return 0
    bad = 0
    for n in names:
        ok, msg = data.verify(n)
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {n}  {'' if ok else msg}")
    print(f"{len(names) - bad} verified, {bad} failed")
    return 1 if bad else 0
