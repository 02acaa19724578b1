"""``python -m geobench.perf``: running the sections (:func:`run`), the argument parser and
:func:`main`."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from geobench.perf.bootstrap import section_bootstrap
from geobench.perf.cold import section_cold
from geobench.perf.config import DEFAULT_SECTIONS, OFFICIAL, OFFICIAL_SOURCE, SECTIONS, TARGETS, Config
from geobench.perf.encoders import section_encoders
from geobench.perf.grid import section_grid
from geobench.perf.heads import section_heads
from geobench.perf.linear import section_linear
from geobench.perf.machine import machine_info, thread_info, versions_info
from geobench.perf.memory import section_memory
from geobench.perf.probes import section_probes
from geobench.perf.projection import section_projection
from geobench.perf.report import fmt_value, format_table, jsonable, merge_previous, read_previous
from geobench.perf.sh import section_sh
from geobench.perf.timing import calibrate, loadavg, row

# Every section, in SECTIONS order; cold, memory, grid and probes also take the run's temporary folder.
SECTION_FUNCS: dict[str, Callable[..., tuple[list[dict], dict]]] = {
    "sh": section_sh, "encoders": section_encoders, "heads": section_heads, "linear": section_linear, "bootstrap": section_bootstrap,
    "cold": section_cold,
    "memory": section_memory, "grid": section_grid, "probes": section_probes, "projection": section_projection,
}


def run(sections: list[str], cfg: Config, out: str | Path | None = None, *, echo: bool = True,
        argv: list[str] | None = None, previous: dict | None = None) -> dict:
    """Run the sections; return (and write to ``out`` unless None) the full result dict.
    ``previous``: an earlier result (:func:`read_previous`) whose other sections are kept."""
    from geobench.cache import atomic_write_json
    from geobench.threads import limit_threads

    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        from geobench.errors import UnknownNameError
        from geobench.registry import unknown_name_message

        raise UnknownNameError(unknown_name_message("perf section", bad[0], SECTIONS))
    t_start = time.perf_counter()
    result: dict[str, Any] = {
        "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "argv": sys.argv[1:] if argv is None else list(argv),
        "quick": cfg.quick, "sections": sections, "config": {k: v for k, v in vars(cfg).items()},
        "machine": machine_info(), "versions": versions_info(), "threads": thread_info(cfg.threads),
        "env": {k: os.environ.get(k) for k in ("GEOBENCH_DATA", "GEOBENCH_CACHE", "GEOBENCH_THREADS", "GEOBENCH_CORES")},
        "recorded_official": {"source": OFFICIAL_SOURCE, **OFFICIAL}, "targets": TARGETS,
        "load_average": {"start": loadavg()}, "sections_raw": {}, "rows": [],
    }
    with limit_threads(cfg.threads):
        result["calibration"] = {"start": calibrate(cfg.calib_mb, cfg.repeats)}
    tmp = Path(tempfile.mkdtemp(prefix="geobench-perf-", dir=cfg.tmp))
    try:
        for s in sections:
            if echo:
                print(f"[perf] {s} ... (load {loadavg()})", file=sys.stderr, flush=True)
            t = time.perf_counter()
            la = loadavg()
            try:
                with limit_threads(cfg.threads):
                    if s in ("cold", "memory", "grid", "probes"):
                        rows, raw = SECTION_FUNCS[s](cfg, tmp)
                    else:
                        rows, raw = SECTION_FUNCS[s](cfg)
            except Exception as e:  # one broken section must not lose the others
                import traceback

                rows = [row(s, f"section {s}", None, "", status="ERROR", note=f"{type(e).__name__}: {e}")]
                raw = {"error": traceback.format_exc()}
            raw["seconds"] = round(time.perf_counter() - t, 3)
            raw["load_average"] = {"start": la, "end": loadavg()}
            result["sections_raw"][s] = raw
            result["rows"].extend(rows)
            if echo:
                print(format_table([r for r in rows]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with limit_threads(cfg.threads):
        result["calibration"]["end"] = calibrate(cfg.calib_mb, cfg.repeats)
    c0, c1 = result["calibration"]["start"], result["calibration"]["end"]
    result["calibration"]["drift_end_over_start"] = {k: round(c1[k] / c0[k], 3) for k in
                                                     ("write_GBps", "matmul_GFLOPs", "python_Mops")}
    result["load_average"]["end"] = loadavg()
    if previous is not None:
        merge_previous(result, previous)
    result["summary"] = [{"name": r["name"], "value": r["value"], "unit": r["unit"], "target": r["target"],
                          "status": r["status"]} for r in result["rows"] if r["status"]]
    result["total_seconds"] = round(time.perf_counter() - t_start, 2)
    if out is not None:
        atomic_write_json(Path(out), jsonable(result))
    return result


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m geobench.perf", description=sys.modules[__package__].__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (for tests); numbers are meaningless")
    ap.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                    help=f"comma-separated, from {','.join(SECTIONS)} (default {','.join(DEFAULT_SECTIONS)})")
    ap.add_argument("--out", default="results/perf.json", help="JSON output path ('' = do not write)")
    ap.add_argument("--merge", action="store_true",
                    help="keep the sections of an existing --out that this run does not measure")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per timing (median; >= 3 for real runs)")
    ap.add_argument("--threads", type=int, default=None, help="thread limit (default $GEOBENCH_THREADS or 2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random points")
    ap.add_argument("--tmp", default=None, help="parent folder for temporary caches (default: system temp)")
    g = ap.add_argument_group("sizes and budgets")
    g.add_argument("--sh-n", type=int, default=None, help="points for the sh section (default 1e5)")
    g.add_argument("--enc-n", type=int, default=None, help="points for the encoders section (default 1e5)")
    g.add_argument("--head-n", default=None, help="comma-separated training sizes (default 10000,100000)")
    g.add_argument("--head-dims", default=None, help="comma-separated input dims, squares (default 256,1600)")
    g.add_argument("--heads", default=None, help="heads to time (default linear,mlp,lightgbm; linear always runs)")
    g.add_argument("--head-budget", type=float, default=None, help="seconds per head x size (default 180)")
    g.add_argument("--enc-budget", type=float, default=None, help="seconds per encoder repeat (default 30)")
    g.add_argument("--naive-budget", type=float, default=None, help="seconds per naive-SH repeat (default 8)")
    g.add_argument("--encoders", default=None, help="comma-separated encoder specs (default: all registered)")
    g.add_argument("--satclip-ckpt", default=None, help="also time satclip:ckpt=PATH (e.g. the fixture checkpoint)")
    g.add_argument("--cold-repeats", type=int, default=None, help="cold first runs (default 3)")
    g.add_argument("--memory-n", type=int, default=None, help="points of the memory cell (default 100000)")
    g = ap.add_argument_group("grid section (only with --sections grid)")
    g.add_argument("--grid-tasks", default=None, help="comma-separated (default: the offline tasks)")
    g.add_argument("--grid-encoders", default=None, help="comma-separated (default: all obtainable)")
    g.add_argument("--grid-seeds", type=int, default=None, help="seeds (default 5)")
    g.add_argument("--grid-executor", default=None, choices=["serial", "joblib", "dask"])
    g.add_argument("--grid-jobs", type=int, default=None)
    g.add_argument("--grid-repeats", type=int, default=None, help="cold+warm pairs (default 1: a cold grid is expensive)")
    g.add_argument("--runs", default=None, help="projection: runs.jsonl with measured cell times (default results/runs.jsonl)")
    g.add_argument("--probes-dir", default=None, help="probes: a results folder kept between runs, so an interrupted "
                   "probes section resumes (default: a temporary folder)")
    return ap


def _csv(s: str | None, conv=str):
    return None if s is None else [conv(p.strip()) for p in s.split(",") if p.strip()]


def main(argv: list[str] | None = None) -> int:
    from geobench.errors import GeobenchError
    from geobench.threads import default_threads

    a = build_parser().parse_args(argv)
    # as in the CLI: idle OpenMP threads (torch's, numba's) must not spin while another runtime
    # works; set before torch or numba load their OpenMP runtime.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        if a.repeats < 1:
            raise ValueError("--repeats must be >= 1")
        cfg = Config.make(
            a.quick, repeats=a.repeats, threads=a.threads or default_threads(), seed=a.seed, tmp=a.tmp,
            sh_n=a.sh_n, enc_n=a.enc_n, head_ns=tuple(_csv(a.head_n, int)) if a.head_n else None,
            head_dims=tuple(_csv(a.head_dims, int)) if a.head_dims else None, head_budget=a.head_budget,
            heads=tuple(_csv(a.heads)) if a.heads else None,
            enc_budget=a.enc_budget, naive_budget=a.naive_budget, encoders=_csv(a.encoders),
            satclip_ckpt=a.satclip_ckpt, cold_repeats=a.cold_repeats, memory_n=a.memory_n,
            grid_tasks=_csv(a.grid_tasks), grid_encoders=_csv(a.grid_encoders), grid_seeds=a.grid_seeds,
            grid_executor=a.grid_executor, grid_jobs=a.grid_jobs, grid_repeats=a.grid_repeats, runs=a.runs,
            probes_dir=a.probes_dir)
        sections = _csv(a.sections) or list(DEFAULT_SECTIONS)
        previous = read_previous(a.out) if a.merge and a.out else None
        res = run(sections, cfg, a.out or None, argv=sys.argv[1:] if argv is None else argv, previous=previous)
    except (GeobenchError, ValueError) as e:
        print(f"geobench.perf: error: {e}", file=sys.stderr)
        return 2
    print()
    print(f"SUMMARY ({'QUICK: sizes are tiny, numbers meaningless; ' if cfg.quick else ''}"
          f"load average start {res['load_average']['start']} end {res['load_average']['end']}; "
          f"calibration drift end/start {res['calibration']['drift_end_over_start']})")
    for s in res["summary"]:
        print(f"  {s['status']:<5} {s['name'][:90]:<90} {fmt_value(s['value'], s['unit']):>16}  {s['target']}")
    if a.out:
        print(f"wrote {a.out}  ({res['total_seconds']:.0f}s)")
    return 0

