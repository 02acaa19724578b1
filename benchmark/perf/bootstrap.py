"""Section ``bootstrap``: the 95 % interval of one cell, 1000 resamples of 100k test points, by the
spatial block bootstrap (10-degree blocks, the default) against the i.i.d. bootstrap of the same
points in the same run, for R^2, accuracy (30 classes, a scores matrix) and macro-F1 (800 labels)."""
from __future__ import annotations

import numpy as np

from geobench.perf.config import Config
from geobench.perf.timing import log, row, timeit


def section_bootstrap(cfg: Config) -> tuple[list[dict], dict]:
    from geobench.evaluation.intervals import block_bootstrap_ci
    from geobench.evaluation.metrics import bootstrap_ci

    n = cfg.sh_n  # 1e5 (2,000 with --quick)
    rng = np.random.default_rng(cfg.seed)
    ll = np.column_stack([rng.uniform(-180, 180, n), rng.uniform(-60, 75, n)])
    y = rng.normal(size=n) * 3 + 10
    cases = {"r2": (y, y + rng.normal(scale=2.0, size=n))}
    yc = rng.integers(0, 30, n)
    s = rng.normal(size=(n, 30))
    s[np.arange(n), yc] += 1.0
    cases["accuracy"] = (yc, s)
    y800 = rng.integers(0, 800, n)
    cases["macro_f1"] = (y800, np.where(rng.random(n) < 0.6, y800, rng.integers(0, 800, n)))
    rows, raw = [], {"n": n, "n_boot": 1000, "runs": {}}
    for metric, (a, b) in cases.items():
        log(f"bootstrap {metric} N={n:,} ...")
        t_block = timeit(lambda: block_bootstrap_ci(a, b, metric, ll, 10.0, seed=0), cfg.repeats)
        t_iid = timeit(lambda: bootstrap_ci(a, b, metric, seed=0), cfg.repeats)
        raw["runs"][metric] = {"block": t_block, "iid": t_iid}
        rows.append(row("bootstrap", f"block bootstrap {metric} N={n:,} x 1000", t_block["median_s"], "s",
                        times=t_block, ref_name="i.i.d. bootstrap, same points", ref_value=t_iid["median_s"],
                        ref_unit="s", ratio=t_block["median_s"] / t_iid["median_s"],
                        ratio_meaning="time / i.i.d. time (same run)", note="10-degree blocks"))
    return rows, raw
