"""Section ``encoders``: encode time of every registered encoder (area-uniform points)."""
from __future__ import annotations

import statistics
import time

import numpy as np

from geobench.perf.config import OFFICIAL, OFFICIAL_SOURCE, Config
from geobench.perf.timing import fit_n, log, row, timeit, write_bound


def encoder_list(cfg: Config) -> list[str]:
    from geobench.encoding.encoder import default_encoders

    names = list(cfg.encoders) if cfg.encoders else default_encoders()
    if cfg.satclip_ckpt:
        names.append(f"satclip:ckpt={cfg.satclip_ckpt}")
    return names


def section_encoders(cfg: Config) -> tuple[list[dict], dict]:
    from geobench.encoding import get_encoder
    from geobench.tasks.sampling import sample_sphere

    N = cfg.enc_n
    x = sample_sphere(N, cfg.seed + 1)
    rows, raw = [], {"n": N, "encoders": {}}
    measured: dict[str, float] = {}
    for spec in encoder_list(cfg):
        log(f"encoder {spec} ...")
        t0 = time.perf_counter()
        try:
            enc = get_encoder(spec)
        except Exception as e:  # weights/data not obtainable: record, keep going
            msg = f"{type(e).__name__}: {e}"
            raw["encoders"][spec] = {"error": msg}
            rows.append(row("encoders", spec, None, "pts/s", status="ERROR", note=msg[:300]))
            continue
        build_s = time.perf_counter() - t0
        try:
            enc.encode(x[:256])  # warm-up (lazy imports, first-call allocations)
            n, _ = fit_n(lambda k: enc.encode(x[:k]), N, cfg.enc_budget, min(2_000, N))
            t = timeit(lambda: enc.encode(x[:n]), cfg.repeats, budget=cfg.repeats * cfg.enc_budget)
            out = np.asarray(enc.encode(x[:64]))
        except Exception as e:
            msg = f"{type(e).__name__}: {e}"
            raw["encoders"][spec] = {"error": msg, "build_s": build_s}
            rows.append(row("encoders", spec, None, "pts/s", status="ERROR", note=msg[:300]))
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
        rows.append(row("encoders", f"{enc.meta.get('spec', spec)} (d={enc.dim}, {out.dtype.name})", pps, "pts/s",
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
            rows.append(row("encoders", f"  {base} vs {OFFICIAL[off_key]['what']} (recorded)", pps, "pts/s",
                            ref_name="official (recorded, N=1e4)", ref_value=off, ref_unit="pts/s",
                            ratio=pps / off, ratio_meaning="speed-up vs recorded official; cross-run", note=note))
    return rows, raw
