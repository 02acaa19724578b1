"""Performance measurements: ``python -m geobench.perf [--quick] [--sections sh,encoders,...]``.

Prints a table and writes ``results/perf.json`` (``--out``). The machine is assumed to be
noisy, so every timing is the median of ``--repeats`` (>= 3) runs and is reported next to a
*reference measured in the same run* (a numpy write bound, sklearn, a warm re-run, ...) as
a ratio. A small calibration workload (memory write, matmul, Python loop) runs at the start
and the end; the drift between the two says how stable the machine was. The load average
is recorded per section.

Sections (``--sections``; default ``sh,encoders,heads,cold,memory``; ``grid`` and ``projection``
only on request):

``sh``        spherical-harmonics throughput at N = 1e5, L = 10 / 40, float64 / float32,
              vs the naive per-(l, m) reference, the numpy memory-write bound and the
              official SatCLIP throughput recorded in the fixture README (not measured here).
``encoders``  encode time of every registered encoder at N = 1e5 (area-uniform points).
``heads``     fit time of the linear / mlp / lightgbm heads at N = 1e4, 1e5 and d = 256, 1600
              (SH features, smooth synthetic target); linear vs sklearn RidgeCV.
``cold``      the first ``geobench run --task elevation --encoder wrap`` with an empty cache.
``memory``    peak RSS of one 100k-point x 1,600-feature cell (elevation, sh:L=40, linear).
``grid``      wall time of the linear-probe grid (offline tasks x encoders x 5 seeds), cold
              and warm.
``projection`` the full three-head grid, projected from the per-cell times in runs.jsonl.

Slow measurements are capped (time budgets, a single repeat, a smaller N scaled per point;
the MLP default search at the largest N and LightGBM at the largest N x d run once, reduced);
each such row says so in its note. Every timing also records the process CPU time
(``cpu_s``), which a busy machine inflates less than wall time. Peak memory is the child's
``VmHWM`` (not ``ru_maxrss``, which on Linux inherits the parent's RSS at fork).
``--quick`` shrinks every size for tests; its numbers are meaningless.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

SECTIONS = ("sh", "encoders", "heads", "cold", "memory", "grid", "projection")
DEFAULT_SECTIONS = ("sh", "encoders", "heads", "cold", "memory")

# Throughput of the OFFICIAL code, recorded (not measured here) in
# shared/fixtures/satclip/README.md and shared/fixtures/geoclip/README.md: 2-core AMD EPYC,
# torch 2.13.0+cpu, torch.set_num_threads(2), one batch of 10,000 random coords, float64
# (GeoCLIP float32), median of 5 after 1 warm-up, two separate runs A / B on an idle machine.
OFFICIAL = {
    "sh_L10_analytic": {"runs_pts_per_s": [245_288, 180_702], "n": 10_000, "dtype": "float64",
                        "what": "official SatCLIP SphericalHarmonics L=10, harmonics_calculation='analytic'"},
    "sh_L40_analytic": {"runs_pts_per_s": [3_808, 4_004], "n": 10_000, "dtype": "float64",
                        "what": "official SatCLIP SphericalHarmonics L=40, harmonics_calculation='analytic'"},
    "satclip_sh10_siren": {"runs_pts_per_s": [94_010, 95_194], "n": 10_000, "dtype": "float64",
                           "what": "official SatCLIP location encoder (SH L=10 analytic + SIREN 2x256 -> 256)"},
    "geoclip": {"runs_pts_per_s": [5_563, 5_771], "n": 10_000, "dtype": "float32",
                "what": "official GeoCLIP LocationEncoder (wheel 1.3.0)"},
}
OFFICIAL_SOURCE = ("recorded in shared/fixtures/satclip/README.md and shared/fixtures/geoclip/README.md "
                   "(official code, idle 2-core AMD EPYC, torch 2.13.0+cpu, 2 threads, N=1e4); "
                   "not measured in this run")

TARGETS = {
    "sh_L10_f32": 1.5e6,   # pts/s, float32 row-major, N = 1e5
    "sh_L40_f32": 1.0e5,   # pts/s
    "sh_L40_vs_write": 2.0,  # time / fresh-array write bound
    "grid_warm_s": 15 * 60.0,
    "cold_run_s": 60.0,
    "memory_bytes": 4e9,   # 4 GB = 4e9 bytes
    "grid_3head_s": 3 * 3600.0,
}

_MLP_ONE_CONFIG = {"hidden": 256, "depth": 1, "lr": 1e-3, "weight_decay": 1e-4, "dropout": 0.0}


@dataclass
class Config:
    """Sizes, budgets and options of one perf run (``--quick`` shrinks everything)."""

    quick: bool = False
    repeats: int = 3
    threads: int = 2
    seed: int = 0
    sh_n: int = 100_000
    sh_Ls: tuple[int, ...] = (10, 40)
    naive_budget: float = 8.0       # seconds per naive repeat (N is reduced to fit, scaled per point)
    enc_n: int = 100_000
    enc_budget: float = 30.0        # seconds per encoder repeat (N is reduced to fit, scaled per point)
    encoders: list[str] | None = None
    satclip_ckpt: str | None = None
    heads: tuple[str, ...] = ("linear", "mlp", "lightgbm")
    head_ns: tuple[int, ...] = (10_000, 100_000)
    head_dims: tuple[int, ...] = (256, 1600)
    head_budget: float = 180.0      # seconds per (head, size): fewer repeats when over budget
    head_options: dict = field(default_factory=dict)
    cold_repeats: int = 3
    cold_args: tuple[str, ...] = ()
    memory_n: int = 100_000
    memory_encoder: str = "sh:L=40"
    memory_repeats: int = 1
    grid_tasks: list[str] | None = None
    grid_encoders: list[str] | None = None
    grid_seeds: int = 5
    grid_executor: str = "serial"
    grid_jobs: int | None = None
    grid_repeats: int = 1
    grid_bootstrap: int = 1000
    runs: str = "results/runs.jsonl"  # projection: measured cell times
    projection_workers: int = 2
    tmp: str | None = None
    calib_mb: int = 256

    @classmethod
    def make(cls, quick: bool = False, **over: Any) -> "Config":
        base = cls()
        if quick:
            base = cls(quick=True, sh_n=2_000, naive_budget=0.5, enc_n=500, enc_budget=2.0,
                       head_ns=(200, 500), head_dims=(16, 36), head_budget=5.0,
                       head_options={"mlp": {"params": dict(_MLP_ONE_CONFIG), "max_epochs": 2},
                                     "lightgbm": {"params": {"n_estimators": 5}}},
                       cold_repeats=1, cold_args=("--n-points", "300", "--seeds", "1", "--tracking-uri", "none",
                                                  "--bootstrap", "0"),
                       memory_n=300, memory_encoder="sh:L=10", grid_tasks=["air_temperature"],
                       grid_encoders=["direct", "wrap"], grid_seeds=2, grid_bootstrap=0, calib_mb=16)
        for k, v in over.items():
            if v is not None:
                setattr(base, k, v)
        return base


# ---------------------------------------------------------------------------------------
# timing helpers
# ---------------------------------------------------------------------------------------

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


def area_uniform(n: int, seed: int) -> np.ndarray:
    """``(n, 2)`` (lon, lat) degrees, uniform on the sphere's area (seeded)."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-180.0, 180.0, n)
    lat = np.rad2deg(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    return np.ascontiguousarray(np.c_[lon, lat])


def _fit_n(fn_n: Callable[[int], Any], n_target: int, budget: float, n_probe: int) -> tuple[int, float]:
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


def _row(section: str, name: str, value: float | None, unit: str, *, times: dict | None = None,
         ref_name: str = "", ref_value: float | None = None, ref_unit: str = "", ratio: float | None = None,
         ratio_meaning: str = "", target: str = "", status: str = "", note: str = "", **extra: Any) -> dict:
    r = {"section": section, "name": name, "value": value, "unit": unit, "ref_name": ref_name,
         "ref_value": ref_value, "ref_unit": ref_unit, "ratio": ratio, "ratio_meaning": ratio_meaning,
         "target": target, "status": status, "note": note}
    if times is not None:
        r["timing"] = times
    r.update(extra)
    return r


def _log(msg: str) -> None:
    """Progress on stderr (long sections print their table only at the end)."""
    print(f"[perf]   {msg}", file=sys.stderr, flush=True)


def _status(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - non-POSIX
        return None


# ---------------------------------------------------------------------------------------
# machine, versions, threads, calibration
# ---------------------------------------------------------------------------------------

def machine_info() -> dict:
    import psutil

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover
        affinity = None
    return {"cpu_model": cpu, "logical_cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False),
            "usable_cores": affinity, "memory_bytes": psutil.virtual_memory().total,
            "memory_gb": round(psutil.virtual_memory().total / 1e9, 2), "platform": platform.platform(),
            "python": platform.python_version()}


def versions_info() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from geobench.provenance import git_commit, versions

    out = dict(versions())
    for p in ("scipy", "threadpoolctl", "joblib", "distributed", "psutil", "mlflow"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    out["git_commit"] = git_commit()
    return out


def thread_info(limit: int) -> dict:
    """Thread counts: torch and every BLAS/OpenMP pool (threadpoolctl), by default and
    inside the ``limit_threads(limit)`` used for all in-process measurements."""
    from threadpoolctl import threadpool_info

    from geobench.threads import limit_threads

    import torch  # noqa: F401  (so that its pools are visible and limited)

    def pools():
        return [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "prefix")}
                for p in threadpool_info()]

    default = {"torch": torch.get_num_threads(), "pools": pools()}
    with limit_threads(limit):
        limited = {"torch": torch.get_num_threads(), "pools": pools()}
    env = {k: os.environ.get(k) for k in ("GEOBENCH_THREADS", "GEOBENCH_CORES", "OMP_NUM_THREADS",
                                          "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    return {"limit": limit, "default": default, "measured_under_limit": limited, "env": env}


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


# ---------------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------------

def section_sh(cfg: Config) -> tuple[list[dict], dict]:
    from geobench.baselines.sh import _kernel, naive_spherical_harmonics, spherical_harmonics

    N = cfg.sh_n
    x = area_uniform(N, cfg.seed)
    backend = "numba" if _kernel(None) is not None else "numpy"
    rows, raw = [], {"n": N, "runs": {}, "backend": backend, "threads": cfg.threads}
    for L in cfg.sh_Ls:
        K = L * L
        bounds = {dt: write_bound((N, K), dt, cfg.repeats) for dt in ("float32", "float64")}
        raw["runs"][f"write_bound_L{L}"] = bounds
        f32_fresh = bounds["float32"]["fresh"]["median_s"]
        rows.append(_row("sh", f"write bound N x {K} float32, fresh array", N / f32_fresh, "pts/s",
                         times=bounds["float32"]["fresh"], note="np.empty + fill (incl. page faults)"))
        rows.append(_row("sh", f"write bound N x {K} float32, reused buffer",
                         N / bounds["float32"]["reused"]["median_s"], "pts/s", times=bounds["float32"]["reused"]))
        # naive reference: N reduced to fit the budget, throughput scaled per point
        n_naive, _ = _fit_n(lambda n: naive_spherical_harmonics(x[:n], L), N, cfg.naive_budget, 200)
        t_naive = timeit(lambda: naive_spherical_harmonics(x[:n_naive], L), cfg.repeats)
        naive_pps = n_naive / t_naive["median_s"]
        raw["runs"][f"naive_L{L}"] = {**t_naive, "n": n_naive}
        rows.append(_row("sh", f"naive per-(l,m) reference L={L} float64", naive_pps, "pts/s", times=t_naive,
                         note=(f"measured at N={n_naive:,}, scaled per point" if n_naive < N else "")))
        for dt in ("float64", "float32"):
            t = timeit(lambda: spherical_harmonics(x, L, dtype=dt), cfg.repeats, warmup=1)
            pps = N / t["median_s"]
            raw["runs"][f"sh_L{L}_{dt}"] = t
            fresh = bounds[dt]["fresh"]["median_s"]
            ratio_w = t["median_s"] / fresh
            tgt, st = "", ""
            if dt == "float32" and L == 10:
                tgt, st = f">= {TARGETS['sh_L10_f32']:,.0f} pts/s", _status(pps >= TARGETS["sh_L10_f32"])
            if dt == "float32" and L == 40:
                tgt, st = f">= {TARGETS['sh_L40_f32']:,.0f} pts/s", _status(pps >= TARGETS["sh_L40_f32"])
            rows.append(_row("sh", f"spherical_harmonics L={L} {dt} (row-major, fresh output)", pps, "pts/s",
                             times=t, ref_name=f"naive L={L}", ref_value=naive_pps, ref_unit="pts/s",
                             ratio=pps / naive_pps, ratio_meaning="speed-up vs naive (same run)",
                             target=tgt, status=st, note=f"backend {backend}, {cfg.threads} thread(s)"))
            if backend != "numpy" and dt == "float32":
                tn = timeit(lambda: spherical_harmonics(x, L, dtype=dt, backend="numpy"), cfg.repeats, warmup=1)
                raw["runs"][f"sh_L{L}_{dt}_numpy"] = tn
                rows.append(_row("sh", f"  L={L} {dt} numpy path (reference implementation, 1 thread)",
                                 N / tn["median_s"], "pts/s", times=tn, ref_name=f"{backend} backend",
                                 ref_value=pps, ref_unit="pts/s", ratio=pps / (N / tn["median_s"]),
                                 ratio_meaning=f"{backend} speed-up over the numpy path (same run)"))
            wb_tgt, wb_st = "", ""
            if dt == "float32" and L == 40:
                wb_tgt = f"<= {TARGETS['sh_L40_vs_write']:g}x write bound"
                wb_st = _status(ratio_w <= TARGETS["sh_L40_vs_write"])
            rows.append(_row("sh", f"  L={L} {dt} vs fresh-array write bound", t["median_s"], "s",
                             ref_name=f"fresh write N x {K} {dt}", ref_value=fresh, ref_unit="s", ratio=ratio_w,
                             ratio_meaning="time / write-bound time (same run)", target=wb_tgt, status=wb_st))
            key = f"sh_L{L}_analytic"
            if dt == "float64" and key in OFFICIAL:
                off = statistics.median(OFFICIAL[key]["runs_pts_per_s"])
                rows.append(_row("sh", f"  L={L} float64 vs official analytic (recorded)", pps, "pts/s",
                                 ref_name="official (recorded, N=1e4)", ref_value=off, ref_unit="pts/s",
                                 ratio=pps / off, ratio_meaning="speed-up vs recorded official; cross-run",
                                 note=OFFICIAL_SOURCE))
        # writing into a reused output buffer (float32), vs the reused-buffer write bound
        buf = np.empty((N, K), dtype=np.float32)
        t = timeit(lambda: spherical_harmonics(x, L, dtype=np.float32, out=buf), cfg.repeats, warmup=1)
        raw["runs"][f"sh_L{L}_float32_out"] = t
        reused = bounds["float32"]["reused"]["median_s"]
        rows.append(_row("sh", f"spherical_harmonics L={L} float32 into reused out=", N / t["median_s"], "pts/s",
                         times=t, ref_name="reused-buffer write bound", ref_value=reused, ref_unit="s",
                         ratio=t["median_s"] / reused, ratio_meaning="time / write-bound time (same run)"))
        del buf, bounds
    return rows, raw


def _encoder_list(cfg: Config) -> list[str]:
    from geobench.encoding import ENCODERS

    names = list(cfg.encoders) if cfg.encoders else ENCODERS.names()
    if cfg.satclip_ckpt:
        names.append(f"satclip:ckpt={cfg.satclip_ckpt}")
    return names


def section_encoders(cfg: Config) -> tuple[list[dict], dict]:
    from geobench.encoding import get_encoder

    N = cfg.enc_n
    x = area_uniform(N, cfg.seed + 1)
    rows, raw = [], {"n": N, "encoders": {}}
    measured: dict[str, float] = {}
    for spec in _encoder_list(cfg):
        _log(f"encoder {spec} ...")
        t0 = time.perf_counter()
        try:
            enc = get_encoder(spec)
        except Exception as e:  # weights/data not obtainable: record, keep going
            msg = f"{type(e).__name__}: {e}"
            raw["encoders"][spec] = {"error": msg}
            rows.append(_row("encoders", spec, None, "pts/s", status="ERROR", note=msg[:300]))
            continue
        build_s = time.perf_counter() - t0
        try:
            enc.encode(x[:256])  # warm-up (lazy imports, first-call allocations)
            n, _ = _fit_n(lambda k: enc.encode(x[:k]), N, cfg.enc_budget, min(2_000, N))
            t = timeit(lambda: enc.encode(x[:n]), cfg.repeats, budget=cfg.repeats * cfg.enc_budget)
            out = np.asarray(enc.encode(x[:64]))
        except Exception as e:
            msg = f"{type(e).__name__}: {e}"
            raw["encoders"][spec] = {"error": msg, "build_s": build_s}
            rows.append(_row("encoders", spec, None, "pts/s", status="ERROR", note=msg[:300]))
            continue
        pps = n / t["median_s"]
        measured[enc.meta.get("spec", spec)] = pps
        wb = write_bound((n, enc.dim), out.dtype, cfg.repeats)
        raw["encoders"][spec] = {**t, "n": n, "dim": enc.dim, "dtype": out.dtype.name, "build_s": round(build_s, 4),
                                 "write_bound": wb, "spec": enc.meta.get("spec")}
        notes = [f"build {build_s:.2f}s"]
        if n < N:
            notes.append(f"measured at N={n:,}, scaled per point")
        if t["budget_limited"]:
            notes.append(f"{t['repeats']} repeat(s) (time budget)")
        rows.append(_row("encoders", f"{enc.meta.get('spec', spec)} (d={enc.dim}, {out.dtype.name})", pps, "pts/s",
                         times=t, ref_name="fresh write bound (N x d)", ref_value=wb["fresh"]["median_s"],
                         ref_unit="s", ratio=t["median_s"] / wb["fresh"]["median_s"],
                         ratio_meaning="time / write-bound time (same run)", note="; ".join(notes)))
        base = spec.split(":")[0]
        off_key = {"geoclip": "geoclip", "satclip": "satclip_sh10_siren", "sh_siren_random": "satclip_sh10_siren"}.get(base)
        if off_key:
            off = statistics.median(OFFICIAL[off_key]["runs_pts_per_s"])
            note = OFFICIAL_SOURCE
            if base == "sh_siren_random":
                note = ("same SH L=10 + SIREN 2x256 -> 256 architecture as the official SatCLIP encoder "
                        "(random weights); " + OFFICIAL_SOURCE)
            rows.append(_row("encoders", f"  {base} vs {OFFICIAL[off_key]['what']} (recorded)", pps, "pts/s",
                             ref_name="official (recorded, N=1e4)", ref_value=off, ref_unit="pts/s",
                             ratio=pps / off, ratio_meaning="speed-up vs recorded official; cross-run", note=note))
    return rows, raw


def _head_data(n_total: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from geobench.baselines.sh import spherical_harmonics

    L = int(round(math.sqrt(dim)))
    if L * L != dim:
        from geobench.errors import InputError

        raise InputError(f"perf heads: input dims must be perfect squares (SH L**2), got {dim}")
    x = area_uniform(n_total, seed + 2)
    X = spherical_harmonics(x, L, dtype=np.float32)
    lon, lat = np.deg2rad(x[:, 0]), np.deg2rad(x[:, 1])
    rng = np.random.default_rng(seed + 3)
    y = np.cos(lat) * np.sin(2 * lon) + 0.5 * np.sin(3 * lat) + 0.3 * np.cos(lat) ** 2 + 0.1 * rng.standard_normal(n_total)
    return X, y


def section_heads(cfg: Config) -> tuple[list[dict], dict]:
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from geobench.heads import RANGE_ALPHAS, make_head

    rows, raw = [], {"runs": {}}
    n_max = max(cfg.head_ns)
    n_val_max = max(1, n_max // 4)
    big = (max(cfg.head_ns), max(cfg.head_dims))
    for d in cfg.head_dims:
        X, y = _head_data(n_max + n_val_max, d, cfg.seed)
        Xva_all, yva_all = X[n_max:], y[n_max:]
        for n in cfg.head_ns:
            Xtr, ytr = X[:n], y[:n]
            nv = max(1, n // 4)
            Xva, yva = Xva_all[:nv], yva_all[:nv]
            size = f"N={n:,} d={d}"
            # linear head vs sklearn MinMaxScaler + RidgeCV (the same model), same data, same run
            heads = {}

            def fit_linear():
                heads["linear"] = make_head("linear", "regression", seed=0, n_threads=cfg.threads).fit(Xtr, ytr)

            def fit_ref():
                heads["ref"] = make_pipeline(MinMaxScaler(), RidgeCV(alphas=RANGE_ALPHAS)).fit(Xtr, ytr)

            _log(f"linear + sklearn {size} ...")
            t_lin = timeit(fit_linear, cfg.repeats, budget=cfg.head_budget)  # always: the reference of mlp/lightgbm
            t_ref = timeit(fit_ref, cfg.repeats, budget=cfg.head_budget)
            p_lin, p_ref = heads["linear"].predict(Xva), heads["ref"].predict(Xva)
            agree = float(np.max(np.abs(p_lin - p_ref)) / (np.std(yva) or 1.0))
            alpha_same = heads["linear"].alpha_ == heads["ref"][-1].alpha_
            raw["runs"][f"linear {size}"] = {**t_lin, "alpha": heads["linear"].alpha_}
            raw["runs"][f"sklearn RidgeCV {size}"] = {**t_ref, "alpha": float(heads["ref"][-1].alpha_),
                                                      "max_abs_pred_diff_over_std_y": agree}
            notes = [f"alpha {heads['linear'].alpha_:g} ({'same as' if alpha_same else 'DIFFERS from'} sklearn)",
                     f"max|pred diff|/std(y)={agree:.1e}"]
            if t_lin["budget_limited"] or t_ref["budget_limited"]:
                notes.append(f"repeats {t_lin['repeats']}/{t_ref['repeats']} (time budget)")
            rows.append(_row("heads", f"linear fit {size}", t_lin["median_s"], "s", times=t_lin,
                             ref_name="sklearn MinMaxScaler+RidgeCV(0.1,1,10)", ref_value=t_ref["median_s"],
                             ref_unit="s", ratio=t_lin["median_s"] / t_ref["median_s"],
                             ratio_meaning="time / sklearn time (same run)", note="; ".join(notes)))
            for name in [h for h in cfg.heads if h != "linear"]:
                opts = dict(cfg.head_options.get(name, {}))
                note = []
                reps = cfg.repeats
                # Caps keep the default run near 20 min: the MLP default search (8 configs) at the
                # largest N, and LightGBM at the largest N x d, run once in a reduced form.
                if name == "mlp" and n == big[0] and not cfg.quick:
                    reps = 1
                    opts["params"] = dict(_MLP_ONE_CONFIG)
                    note.append("CAPPED: 1 repeat of ONE config (hidden 256, depth 1, lr 1e-3); "
                                "the default search fits 8 configs (roughly 8x this)")
                elif name == "lightgbm" and (n, d) == big and not cfg.quick:
                    reps = 1
                    opts["params"] = {**opts.get("params", {}), "n_estimators": 200}
                    note.append("CAPPED: 1 repeat, at most 200 boosting rounds (default 2000 with early stopping)")
                fitted = {}

                def fit_head(name=name, opts=opts):
                    fitted["h"] = make_head(name, "regression", seed=0, n_threads=cfg.threads, **opts).fit(
                        Xtr, ytr, Xva, yva)

                _log(f"{name} {size} ...")
                t = timeit(fit_head, reps, budget=cfg.head_budget)
                cp = fitted["h"].chosen_params_
                if name == "mlp":
                    note.append(f"{cp.get('n_configs')} config(s), best epoch {cp.get('best_epoch')}")
                else:
                    note.append(f"best iteration {cp.get('best_iteration')}")
                if opts and not note[0].startswith("CAPPED"):
                    note.append(f"options {opts}")
                if t["budget_limited"]:
                    note.append(f"{t['repeats']} repeat(s) (time budget {cfg.head_budget:g}s)")
                raw["runs"][f"{name} {size}"] = {**t, "options": opts,
                                                 "chosen_params": {k: v for k, v in cp.items()
                                                                   if isinstance(v, (int, float, str, bool))}}
                rows.append(_row("heads", f"{name} fit {size}", t["median_s"], "s", times=t,
                                 ref_name="linear head, same data", ref_value=t_lin["median_s"], ref_unit="s",
                                 ratio=t["median_s"] / t_lin["median_s"], ratio_meaning="time / linear time (same run)",
                                 note="; ".join(note)))
        del X, y
    return rows, raw


# --- subprocess sections ----------------------------------------------------------------

# Peak RSS is read from /proc/self/status VmHWM (the high-water mark of this process's own
# address space). ru_maxrss is NOT used when VmHWM exists: on Linux a child's ru_maxrss starts
# at the parent's RSS at fork/exec time, so a big parent would inflate it.
_HWM = r"""
def _vmhwm_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
"""

_CHILD = _HWM + r"""
import json, resource, sys, time
t0 = time.perf_counter()
from geobench.cli import main
rc = main(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_SELF)
usage = {"vmhwm_kb": _vmhwm_kb(), "self_maxrss_kb": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime,
         "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
         "rc": rc, "seconds_in_python": time.perf_counter() - t0}
open(sys.argv[1], "w").write(json.dumps(usage))
sys.exit(rc)
"""

_GRID_CHILD = _HWM + r"""
import json, resource, sys, time
a = json.loads(sys.argv[2])
from geobench.evaluation.runner import run_grid
res = run_grid(a["tasks"], a["encoders"], ["linear"], ["random"], a["seeds"], results_dir=a["results"],
               force=a["force"], executor=a["executor"], n_jobs=a["jobs"], tracking_uri="none",
               progress=False, n_boot=a["n_boot"])
st = {}
for r in res.records:
    st[r["status"]] = st.get(r["status"], 0) + 1
tim = [r.get("timings", {}) for r in res.records]
out = {"wall_seconds": res.wall_seconds, "n_records": len(res.records), "skipped": res.skipped, "status": st,
       "sum_fit_s": sum(t.get("fit_s", 0) for t in tim), "sum_cell_s": sum(t.get("cell_s", 0) for t in tim),
       "sum_embed_s_unique": sum({(r["task"], r["encoder"]): r.get("timings", {}).get("embed_s", 0)
                                  for r in res.records}.values()),
       "vmhwm_kb": _vmhwm_kb(), "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
       "cpu_s": sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                    for f in ("ru_utime", "ru_stime")),
       "slowest_cells": sorted(([r["task"], r["encoder"], r.get("timings", {}).get("cell_s", 0)] for r in res.records),
                               key=lambda c: -c[2])[:5]}
open(sys.argv[1], "w").write(json.dumps(out))
"""


def _child_env(cache: Path) -> dict:
    env = dict(os.environ)
    env["GEOBENCH_CACHE"] = str(cache)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run_child(code: str, args: list[str], env: dict, timeout: float = 7200) -> dict:
    """Run ``python -c code <json-out> args...``; wall seconds, its JSON report, rc, stderr tail."""
    fd, out = tempfile.mkstemp(suffix=".json", prefix="geobench-perf-")
    os.close(fd)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, out, *args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    wall = time.perf_counter() - t
    try:
        rep = json.loads(Path(out).read_text() or "{}")
    except (OSError, ValueError):
        rep = {}
    finally:
        Path(out).unlink(missing_ok=True)
    res = {"wall_s": wall, "rc": p.returncode, "report": rep}
    if p.returncode != 0:
        res["stderr_tail"] = p.stderr[-2000:]
    return res


def _peak_rss_bytes(rep: dict) -> tuple[int, str]:
    """(bytes, how): the child's VmHWM, else its ru_maxrss (an upper bound, see _HWM)."""
    if rep.get("vmhwm_kb"):
        return 1024 * int(rep["vmhwm_kb"]), "VmHWM of the child (/proc/self/status)"
    return (1024 * max(int(rep.get("self_maxrss_kb", 0)), int(rep.get("children_maxrss_kb", 0))),
            "ru_maxrss of the child (upper bound: includes the parent's RSS at fork)")


def _child_failed(section: str, name: str, run: dict, unit: str = "s") -> dict:
    """The ERROR row of a child process that exited non-zero (the tail of its stderr as note)."""
    return _row(section, name, None, unit, status="ERROR", note=run.get("stderr_tail", "")[-300:])


def _wall_times(runs: list[dict]) -> dict:
    """Median and raw wall times of child runs, in the ``times`` layout of a row."""
    return {"median_s": statistics.median(r["wall_s"] for r in runs),
            "times_s": [round(r["wall_s"], 3) for r in runs], "repeats": len(runs)}


def section_cold(cfg: Config, tmp: Path) -> tuple[list[dict], dict]:
    """The first ``geobench run --task elevation --encoder wrap`` with an empty GEOBENCH_CACHE."""
    args = ["run", "--task", "elevation", "--encoder", "wrap", *cfg.cold_args]
    raw: dict[str, Any] = {"command": "geobench " + " ".join(args), "cold": [], "warm": []}
    cache = None
    for i in range(max(1, cfg.cold_repeats)):
        cache = tmp / f"cold-cache-{i}"
        _log(f"cold run {i + 1} ...")
        r = _run_child(_CHILD, [*args, "--results", str(tmp / f"cold-results-{i}")], _child_env(cache))
        raw["cold"].append(r)
        if r["rc"] != 0:
            return [_child_failed("cold", raw["command"], r)], raw
    # reference: the same command again on the now-warm cache (--force), same run
    for i in range(max(1, cfg.cold_repeats)):
        r = _run_child(_CHILD, [*args, "--force", "--results", str(tmp / f"cold-results-{i}")], _child_env(cache))
        raw["warm"].append(r)
    cold = statistics.median(r["wall_s"] for r in raw["cold"])
    warm = statistics.median(r["wall_s"] for r in raw["warm"])
    note = [f"{len(raw['cold'])} cold run(s), each with a fresh empty cache; wall time incl. interpreter start"]
    if cfg.cold_args:
        note.append(f"extra args {' '.join(cfg.cold_args)}")
    return [_row("cold", "first `geobench run --task elevation --encoder wrap` (empty cache)", cold, "s",
                 times=_wall_times(raw["cold"]),
                 ref_name="same command, warm cache (--force)", ref_value=warm, ref_unit="s", ratio=cold / warm,
                 ratio_meaning="cold / warm (same run)", target=f"<= {TARGETS['cold_run_s']:g} s",
                 status=_status(cold <= TARGETS["cold_run_s"]), note="; ".join(note))], raw


def section_memory(cfg: Config, tmp: Path) -> tuple[list[dict], dict]:
    """Peak RSS of one cell at memory_n points x the memory encoder's features, empty cache."""
    from geobench.encoding import get_encoder

    dim = get_encoder(cfg.memory_encoder).dim
    args = ["run", "--task", "elevation", "--encoder", cfg.memory_encoder, "--head", "linear", "--seeds", "1",
            "--tracking-uri", "none", "--n-points", str(cfg.memory_n)]
    raw: dict[str, Any] = {"command": "geobench " + " ".join(args), "runs": []}
    for i in range(max(1, cfg.memory_repeats)):
        r = _run_child(_CHILD, [*args, "--results", str(tmp / f"mem-results-{i}")], _child_env(tmp / f"mem-cache-{i}"))
        raw["runs"].append(r)
        if r["rc"] != 0:
            return [_child_failed("memory", raw["command"], r, "bytes")], raw
    peak, how = max(_peak_rss_bytes(r["report"]) for r in raw["runs"])
    emb = cfg.memory_n * dim * 4
    wall = statistics.median(r["wall_s"] for r in raw["runs"])
    raw.update(peak_bytes=peak, embedding_float32_bytes=emb, n=cfg.memory_n, dim=dim)
    return [_row("memory", f"peak RSS, one cell: elevation N={cfg.memory_n:,} x {cfg.memory_encoder} (d={dim}), linear",
                 peak, "bytes", ref_name="float32 embedding N x d", ref_value=emb, ref_unit="bytes",
                 ratio=peak / emb, ratio_meaning="peak RSS / embedding bytes",
                 target=f"<= {TARGETS['memory_bytes'] / 1e9:g} GB", status=_status(peak <= TARGETS["memory_bytes"]),
                 note=(f"{how}; empty cache: data prep + embedding + fit + bootstrap; "
                       f"wall {wall:.1f}s, {len(raw['runs'])} run(s)"))], raw


def section_grid(cfg: Config, tmp: Path) -> tuple[list[dict], dict]:
    """Wall time of the linear-probe grid, cold (empty cache) then warm (embeddings cached, force=True)."""
    from geobench.encoding import get_encoder
    from geobench.evaluation.runner import offline_tasks

    tasks = cfg.grid_tasks or offline_tasks()
    excluded = {}
    encoders = []
    for spec in (cfg.grid_encoders or _encoder_list(cfg)):
        try:
            get_encoder(spec)
            encoders.append(spec)
        except Exception as e:  # weights not obtainable: the grid would stop at this encoder
            excluded[spec] = f"{type(e).__name__}: {e}"
    n_cells = len(tasks) * len(encoders) * cfg.grid_seeds
    raw: dict[str, Any] = {"tasks": tasks, "encoders": encoders, "excluded_encoders": excluded,
                           "seeds": cfg.grid_seeds, "executor": cfg.grid_executor, "jobs": cfg.grid_jobs,
                           "n_cells": n_cells, "n_boot": cfg.grid_bootstrap, "cold": [], "warm": []}

    def job(force: bool, results: Path) -> str:
        return json.dumps({"tasks": tasks, "encoders": encoders, "seeds": cfg.grid_seeds, "results": str(results),
                           "force": force, "executor": cfg.grid_executor, "jobs": cfg.grid_jobs,
                           "n_boot": cfg.grid_bootstrap})

    for i in range(max(1, cfg.grid_repeats)):
        cache = tmp / f"grid-cache-{i}"
        # cold: empty cache; warm: the same cache, every cell re-run (force)
        for phase, force, folder in (("cold", False, f"grid-results-{i}"), ("warm", True, f"grid-results-warm-{i}")):
            _log(f"grid {phase} ({n_cells} cells) ...")
            r = _run_child(_GRID_CHILD, [job(force, tmp / folder)], _child_env(cache), timeout=6 * 3600)
            raw[phase].append(r)
            if r["rc"] != 0:
                return [_child_failed("grid", f"linear grid, {phase}", r)], raw
        shutil.rmtree(cache, ignore_errors=True)
    cold = statistics.median(r["wall_s"] for r in raw["cold"])
    warm = statistics.median(r["wall_s"] for r in raw["warm"])
    what = (f"{len(tasks)} task(s) x {len(encoders)} encoder(s) x {cfg.grid_seeds} seed(s) = {n_cells} cells, "
            f"executor {cfg.grid_executor}" + (f" x{cfg.grid_jobs}" if cfg.grid_jobs else ""))
    note = f"{len(raw['cold'])} repeat(s); wall time of the child process"
    if excluded:
        note += f"; excluded (not obtainable): {', '.join(excluded)}"
    return [
        _row("grid", f"linear grid cold (empty cache): {what}", cold, "s", times=_wall_times(raw["cold"]), note=note),
        _row("grid", f"linear grid warm (embeddings cached, force): {what}", warm, "s", times=_wall_times(raw["warm"]),
             ref_name="cold run", ref_value=cold, ref_unit="s", ratio=warm / cold,
             ratio_meaning="warm / cold (same run)", target=f"<= {TARGETS['grid_warm_s'] / 60:g} min",
             status=_status(warm <= TARGETS["grid_warm_s"]), note=note),
    ], raw


def section_projection(cfg: Config) -> tuple[list[dict], dict]:
    """The full three-head grid (offline tasks x registered encoders x 3 heads x the grid's
    splits x ``grid_seeds``), projected from the per-cell wall times (``timings.cell_s``) that
    ``runs.jsonl`` records: median per (head, task) over all encoders and splits run so far,
    times the number of cells, divided by ``projection_workers`` (the joblib default here).
    A (head, task) recorded as not applicable (LightGBM on more than 20 classes) costs nothing."""
    from geobench.encoding import ENCODERS
    from geobench.evaluation.records import latest_by_key, read_records
    from geobench.report import grid_plan
    from geobench.evaluation.runner import offline_tasks

    path = Path(cfg.runs)
    if not path.exists():
        return [_row("projection", "full 3-head grid (projected)", None, "s", status="ERROR",
                     note=f"{path} not found; run the grid first (geobench reproduce)")], {}
    recs, _ = latest_by_key(read_records(path))
    per: dict[tuple[str, str], list[float]] = {}
    not_applicable = set()
    for r in recs:
        if r.get("status") == "not_applicable":
            not_applicable.add((r["head"], r["task"]))
        elif r.get("status") == "ok" and (r.get("timings") or {}).get("cell_s") is not None:
            per.setdefault((r["head"], r["task"]), []).append(float(r["timings"]["cell_s"]))
    n_enc = len(ENCODERS.names())
    raw: dict[str, Any] = {"runs": str(path), "encoders": n_enc, "seeds": cfg.grid_seeds,
                           "workers": cfg.projection_workers, "cells": {}}
    total, missing = 0.0, []
    for head in ("linear", "mlp", "lightgbm"):
        for task, splits in grid_plan(offline_tasks()):
            cells = n_enc * len(splits) * cfg.grid_seeds
            times = per.get((head, task), [])
            if (head, task) in not_applicable:
                med = 0.0
            elif times:
                med = statistics.median(times)
            else:
                med = None
                missing.append(f"{head}/{task}")
            raw["cells"][f"{head}/{task}"] = {"cells": cells, "median_cell_s": med, "measured_cells": len(times)}
            total += cells * (med or 0.0)
    wall = total / max(1, cfg.projection_workers)
    note = (f"median measured cell time per (head, task) x cells ({n_enc} encoders, {cfg.grid_seeds} seeds, "
            f"the grid's splits) / {cfg.projection_workers} workers; from {sum(map(len, per.values()))} timed records")
    if missing:
        note += f"; NOT MEASURED (counted as 0, so a lower bound): {', '.join(missing)}"
    status = _status(wall <= TARGETS["grid_3head_s"])
    if missing and status == "PASS":
        status = "INCOMPLETE"  # a lower bound under the target proves nothing
    raw.update(projected_s=wall, missing=missing)
    return [_row("projection", "full 3-head grid, 5 seeds (projected from measured cell times)", wall, "s",
                 target=f"<= {TARGETS['grid_3head_s'] / 3600:g} h", status=status, note=note)], raw


# ---------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------

def read_previous(out: str | Path) -> dict | None:
    """The earlier result at ``out`` for ``--merge`` (None if there is none); read before any
    measuring so that a corrupt file fails fast instead of losing a finished run."""
    p = Path(out)
    if not p.exists():
        return None
    try:
        old = json.loads(p.read_text())
        if not isinstance(old, dict) or not isinstance(old.get("rows"), list):
            raise ValueError("no 'rows' list")
    except ValueError as e:
        raise ValueError(f"--merge: cannot read the earlier result {p} ({e}); remove it or drop --merge") from None
    return old


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
        "load_average": {"start": _loadavg()}, "sections_raw": {}, "rows": [],
    }
    with limit_threads(cfg.threads):
        result["calibration"] = {"start": calibrate(cfg.calib_mb, cfg.repeats)}
    tmp = Path(tempfile.mkdtemp(prefix="geobench-perf-", dir=cfg.tmp))
    try:
        for s in sections:
            if echo:
                print(f"[perf] {s} ... (load {_loadavg()})", file=sys.stderr, flush=True)
            t = time.perf_counter()
            la = _loadavg()
            try:
                with limit_threads(cfg.threads):
                    if s in ("cold", "memory", "grid"):
                        rows, raw = globals()[f"section_{s}"](cfg, tmp)
                    else:
                        rows, raw = globals()[f"section_{s}"](cfg)
            except Exception as e:  # one broken section must not lose the others
                import traceback

                rows = [_row(s, f"section {s}", None, "", status="ERROR", note=f"{type(e).__name__}: {e}")]
                raw = {"error": traceback.format_exc()}
            raw["seconds"] = round(time.perf_counter() - t, 3)
            raw["load_average"] = {"start": la, "end": _loadavg()}
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
    result["load_average"]["end"] = _loadavg()
    if previous is not None:
        _merge_previous(result, previous)
    result["summary"] = [{"name": r["name"], "value": r["value"], "unit": r["unit"], "target": r["target"],
                          "status": r["status"]} for r in result["rows"] if r["status"]]
    result["total_seconds"] = round(time.perf_counter() - t_start, 2)
    if out is not None:
        atomic_write_json(Path(out), _jsonable(result))
    return result


def _merge_previous(result: dict, old: dict) -> None:
    """Carry over the sections of an earlier run that this run did not measure (``--merge``);
    each carried row keeps a ``from_run`` timestamp so mixed runs stay visible."""
    keep = [s for s in old.get("sections", []) if s not in result["sections"]]
    for r in old.get("rows", []):
        if r["section"] in keep:
            result["rows"].append({**r, "from_run": r.get("from_run", old.get("generated_utc"))})
    for s in keep:
        result["sections_raw"][s] = old.get("sections_raw", {}).get(s, {})
    order = {s: i for i, s in enumerate(SECTIONS)}
    result["rows"].sort(key=lambda r: order.get(r["section"], len(order)))
    result["merged"] = {"sections": keep, "from_run": old.get("generated_utc"),
                        "machine_same": old.get("machine") == result["machine"],
                        "context": {k: old.get(k) for k in ("calibration", "config", "versions", "threads",
                                                            "load_average", "argv")}}
    if not result["merged"]["machine_same"]:
        print("[perf] WARNING: --merge combines runs from different machines", file=sys.stderr)
    result["sections"] = sorted(set(result["sections"]) | set(keep), key=lambda s: order.get(s, len(order)))


def _jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "pts/s":
        return f"{v:,.0f} pts/s"
    if unit == "s":
        return f"{v * 1e3:.3g} ms" if v < 0.1 else (f"{v:.3f} s" if v < 100 else f"{v:,.1f} s")
    if unit == "bytes":
        return f"{v / 1e9:.2f} GB"
    return f"{v:g} {unit}"


def format_table(rows: list[dict]) -> str:
    """A plain-text table: measurement | value | reference | ratio | target | status."""
    lines = []
    for r in rows:
        ref = f"{r['ref_name']}: {_fmt(r['ref_value'], r['ref_unit'])}" if r["ref_name"] else ""
        ratio = "" if r["ratio"] is None else (f"{r['ratio']:,.0f}x" if r["ratio"] >= 1000 else f"{r['ratio']:.3g}x")
        reps = r.get("timing", {}).get("repeats")
        val = _fmt(r["value"], r["unit"]) + (f" (n={reps})" if reps else "")
        lines.append(f"{r['section']:<8} {r['name'][:74]:<74} {val:>24}  {ratio:>8}  {ref[:60]:<60} "
                     f"{r['target']:<22} {r['status']}")
        if r["note"]:
            lines.append(f"{'':<8}   note: {r['note'][:200]}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m geobench.perf", description=__doc__,
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
            grid_executor=a.grid_executor, grid_jobs=a.grid_jobs, grid_repeats=a.grid_repeats, runs=a.runs)
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
        print(f"  {s['status']:<5} {s['name'][:90]:<90} {_fmt(s['value'], s['unit']):>16}  {s['target']}")
    if a.out:
        print(f"wrote {a.out}  ({res['total_seconds']:.0f}s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
