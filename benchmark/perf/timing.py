"""Timing helpers shared by the sections: medians of repeated runs, fitting N to a time
budget, the numpy write bound, the rows of the table, progress and load, and the
calibration workload run at the start and the end."""
from __future__ import annotations

import math
import os
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np


def timeit(fn: Callable[[], Any], repeats: int, *, warmup: int = 0, budget: float | None = None) -> dict:
    """Run ``fn`` ``repeats`` times (after ``warmup`` untimed runs); median and raw seconds.

    With ``budget`` (seconds), stop early once another repeat would exceed it (at least one
    repeat always runs); ``budget_limited`` says so.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    cpu: list[float] = []
    limited = False
    while len(times) < repeats:
        c = time.process_time()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if budget is not None and len(times) < repeats and sum(times) + times[-1] > budget:
            limited = True
            break
    return {"median_s": statistics.median(times), "times_s": [round(t, 6) for t in times],
            "repeats": len(times), "budget_limited": limited,
            "cpu_s": [round(t, 6) for t in cpu]}  # process CPU time (all threads): less load-sensitive


def fit_n(fn_n: Callable[[int], Any], n_target: int, budget: float, n_probe: int) -> tuple[int, float]:
    """Largest N <= n_target whose single run should fit in ``budget`` s (probe at n_probe)."""
    n_probe = min(n_probe, n_target)
    t = time.perf_counter()
    fn_n(n_probe)
    per_pt = (time.perf_counter() - t) / n_probe
    if per_pt * n_target <= budget:
        return n_target, per_pt
    n = max(1, int(budget / max(per_pt, 1e-12)))
    step = 10 ** max(0, int(math.log10(n)) - 1)  # round down to two significant digits
    return max(n_probe, min(n_target, n // step * step)), per_pt


def write_bound(shape: tuple[int, int], dtype: Any, repeats: int) -> dict:
    """Seconds to fill a freshly allocated array (np.empty + fill, incl. page faults) and to
    fill a reused, already-touched buffer, both ``shape`` of ``dtype``."""
    def fresh():
        a = np.empty(shape, dtype=dtype)
        a.fill(1.0)
        return a

    buf = np.ones(shape, dtype=dtype)
    out = {"fresh": timeit(fresh, repeats, warmup=1), "reused": timeit(lambda: buf.fill(2.0), repeats, warmup=1),
           "shape": list(shape), "dtype": np.dtype(dtype).name,
           "bytes": int(np.prod(shape)) * np.dtype(dtype).itemsize}
    del buf
    return out


def row(section: str, name: str, value: float | None, unit: str, *, times: dict | None = None,
        ref_name: str = "", ref_value: float | None = None, ref_unit: str = "", ratio: float | None = None,
        ratio_meaning: str = "", target: str = "", status: str = "", note: str = "", **extra: Any) -> dict:
    r = {"section": section, "name": name, "value": value, "unit": unit, "ref_name": ref_name,
         "ref_value": ref_value, "ref_unit": ref_unit, "ratio": ratio, "ratio_meaning": ratio_meaning,
         "target": target, "status": status, "note": note}
    if times is not None:
        r["timing"] = times
    r.update(extra)
    return r


def log(msg: str) -> None:
    """Progress on stderr (long sections print their table only at the end)."""
    print(f"[perf]   {msg}", file=sys.stderr, flush=True)


def pass_miss(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - non-POSIX
        return None


def calibrate(mb: int, repeats: int) -> dict:
    """Fixed reference workloads: fresh-array write GB/s, float64 matmul GFLOP/s, Python loop Mops/s."""
    n = mb * 2**20 // 4
    w = timeit(lambda: np.empty(n, dtype=np.float32).fill(1.0), repeats, warmup=1)
    k = 768
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((k, k)), rng.standard_normal((k, k))
    m = timeit(lambda: a @ b, repeats, warmup=1)

    def loop():
        s = 0
        for i in range(1_000_000):
            s += i
        return s

    p = timeit(loop, repeats)
    return {"write_GBps": round(n * 4 / w["median_s"] / 1e9, 3), "matmul_GFLOPs": round(2 * k**3 / m["median_s"] / 1e9, 3),
            "python_Mops": round(1.0 / p["median_s"], 3), "timings": {"write": w, "matmul": m, "python": p}}
