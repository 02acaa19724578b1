"""Section ``sh``: spherical-harmonics throughput vs the naive reference, the numpy write
bound and the recorded official SatCLIP throughput."""
from __future__ import annotations

import statistics

import numpy as np

from geobench.perf.config import OFFICIAL, OFFICIAL_SOURCE, TARGETS, Config
from geobench.perf.timing import fit_n, pass_miss, row, timeit, write_bound


def section_sh(cfg: Config) -> tuple[list[dict], dict]:
    from geobench.baselines.sh import _kernel, naive_spherical_harmonics, spherical_harmonics
    from geobench.tasks.sampling import sample_sphere

    N = cfg.sh_n
    x = sample_sphere(N, cfg.seed)
    backend = "numba" if _kernel(None) is not None else "numpy"
    rows, raw = [], {"n": N, "runs": {}, "backend": backend, "threads": cfg.threads}
    for L in cfg.sh_Ls:
        K = L * L
        bounds = {dt: write_bound((N, K), dt, cfg.repeats) for dt in ("float32", "float64")}
        raw["runs"][f"write_bound_L{L}"] = bounds
        f32_fresh = bounds["float32"]["fresh"]["median_s"]
        rows.append(row("sh", f"write bound N x {K} float32, fresh array", N / f32_fresh, "pts/s",
                        times=bounds["float32"]["fresh"], note="np.empty + fill (incl. page faults)"))
        rows.append(row("sh", f"write bound N x {K} float32, reused buffer",
                        N / bounds["float32"]["reused"]["median_s"], "pts/s", times=bounds["float32"]["reused"]))
        # naive reference: N reduced to fit the budget, throughput scaled per point
        n_naive, _ = fit_n(lambda n: naive_spherical_harmonics(x[:n], L), N, cfg.naive_budget, 200)
        t_naive = timeit(lambda: naive_spherical_harmonics(x[:n_naive], L), cfg.repeats)
        naive_pps = n_naive / t_naive["median_s"]
        raw["runs"][f"naive_L{L}"] = {**t_naive, "n": n_naive}
        rows.append(row("sh", f"naive per-(l,m) reference L={L} float64", naive_pps, "pts/s", times=t_naive,
                        note=(f"measured at N={n_naive:,}, scaled per point" if n_naive < N else "")))
        for dt in ("float64", "float32"):
            t = timeit(lambda: spherical_harmonics(x, L, dtype=dt), cfg.repeats, warmup=1)
            pps = N / t["median_s"]
            raw["runs"][f"sh_L{L}_{dt}"] = t
            fresh = bounds[dt]["fresh"]["median_s"]
            ratio_w = t["median_s"] / fresh
            tgt, st = "", ""
            if dt == "float32" and L == 10:
                tgt, st = f">= {TARGETS['sh_L10_f32']:,.0f} pts/s", pass_miss(pps >= TARGETS["sh_L10_f32"])
            if dt == "float32" and L == 40:
                tgt, st = f">= {TARGETS['sh_L40_f32']:,.0f} pts/s", pass_miss(pps >= TARGETS["sh_L40_f32"])
            rows.append(row("sh", f"spherical_harmonics L={L} {dt} (row-major, fresh output)", pps, "pts/s",
                            times=t, ref_name=f"naive L={L}", ref_value=naive_pps, ref_unit="pts/s",
                            ratio=pps / naive_pps, ratio_meaning="speed-up vs naive (same run)",
                            target=tgt, status=st, note=f"backend {backend}, {cfg.threads} thread(s)"))
            if backend != "numpy" and dt == "float32":
                tn = timeit(lambda: spherical_harmonics(x, L, dtype=dt, backend="numpy"), cfg.repeats, warmup=1)
                raw["runs"][f"sh_L{L}_{dt}_numpy"] = tn
                rows.append(row("sh", f"  L={L} {dt} numpy path (reference implementation, 1 thread)",
                                N / tn["median_s"], "pts/s", times=tn, ref_name=f"{backend} backend",
                                ref_value=pps, ref_unit="pts/s", ratio=pps / (N / tn["median_s"]),
                                ratio_meaning=f"{backend} speed-up over the numpy path (same run)"))
            wb_tgt, wb_st = "", ""
            if dt == "float32" and L == 40:
                wb_tgt = f"<= {TARGETS['sh_L40_vs_write']:g}x write bound"
                wb_st = pass_miss(ratio_w <= TARGETS["sh_L40_vs_write"])
            rows.append(row("sh", f"  L={L} {dt} vs fresh-array write bound", t["median_s"], "s",
                            ref_name=f"fresh write N x {K} {dt}", ref_value=fresh, ref_unit="s", ratio=ratio_w,
                            ratio_meaning="time / write-bound time (same run)", target=wb_tgt, status=wb_st))
            key = f"sh_L{L}_analytic"
            if dt == "float64" and key in OFFICIAL:
                off = statistics.median(OFFICIAL[key]["runs_pts_per_s"])
                rows.append(row("sh", f"  L={L} float64 vs official analytic (recorded)", pps, "pts/s",
                                ref_name="official (recorded, N=1e4)", ref_value=off, ref_unit="pts/s",
                                ratio=pps / off, ratio_meaning="speed-up vs recorded official; cross-run",
                                note=OFFICIAL_SOURCE))
        # writing into a reused output buffer (float32), vs the reused-buffer write bound
        buf = np.empty((N, K), dtype=np.float32)
        t = timeit(lambda: spherical_harmonics(x, L, dtype=np.float32, out=buf), cfg.repeats, warmup=1)
        raw["runs"][f"sh_L{L}_float32_out"] = t
        reused = bounds["float32"]["reused"]["median_s"]
        rows.append(row("sh", f"spherical_harmonics L={L} float32 into reused out=", N / t["median_s"], "pts/s",
                        times=t, ref_name="reused-buffer write bound", ref_value=reused, ref_unit="s",
                        ratio=t["median_s"] / reused, ratio_meaning="time / write-bound time (same run)"))
        del buf, bounds
    return rows, raw
