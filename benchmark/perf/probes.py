"""Section ``probes``: the current MLP and LightGBM heads against their version-1 spellings,
run in this section on the same cells, seeds and workers.

MLP cells: every published MLP comparison cell (``benchmark/reporting/published.csv``, our
counterpart encoder, our split of the published one), one cell of each task those miss and three
spatial-block cells (``EXTRA_MLP_CELLS``), each on seeds 0..2. Per cell and seed the two heads are paired: the test metric (quality), the cell
time (before / after), the current search time against the time the chosen configuration took
inside it (``chosen_fit_s``: bit for bit one fit of it, see :class:`geobench.heads.mlp.MLPHead`)
and whether a budget cap stopped the chosen run. LightGBM: one encoder per applicable task,
seed 0. Everything is run through :func:`geobench.evaluation.runner.run_grid` into a temporary
results folder, or ``--probes-dir`` (kept, so an interrupted section resumes: done cells are
skipped and their recorded times used), on a joblib pool of ``grid_jobs`` workers (default: the
machine's cores).
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np

from geobench.perf.config import Config
from geobench.perf.timing import log, row

LGBM_ENCODER = "satclip-bm"
LOWER_IS_BETTER = {"mse", "mse_z", "rmse", "mae"}  # the other metrics (r2, accuracy, top-k) grow with quality
# tasks the published cells miss, and spatial-block cells (none is published; there the chosen
# model converges in few epochs, so the search's share of the cost is the largest)
EXTRA_MLP_CELLS = (("median_income", "satclip-bm", "random"), ("california_housing", "satclip-bm", "random"),
                   ("biome", "satclip-bm", "spatial_block"),
                   ("california_housing", "satclip-bm", "spatial_block"),
                   ("countries", "sh", "spatial_block"))


def mlp_cells() -> list[tuple[str, str, str]]:
    """(task, encoder spec, split) of the published MLP comparison cells and ``EXTRA_MLP_CELLS``."""
    import pandas as pd

    from geobench.evaluation.grid import block_deg, holdout_split
    from geobench.reporting.comparison import our_counterpart
    from geobench.reporting.published import PUBLISHED_CSV

    pub = pd.read_csv(PUBLISHED_CSV)
    out = []
    for _, r in pub[pub["head"] == "mlp"].iterrows():
        split = "random" if r.split in ("random", "unspecified") else holdout_split(r.task)
        out.append((r.task, our_counterpart(r.encoder), split))
    extra = [(t, e, f"spatial_block:deg={block_deg(t):g}" if s == "spatial_block" else s)
             for t, e, s in EXTRA_MLP_CELLS]  # the grid's block size of the task
    return list(dict.fromkeys(out + extra))


def _by_cell(records: list[dict]) -> dict[tuple, dict]:
    """``{(task, encoder, split, seed): record}`` of ``ok`` records."""
    return {(r["task"], r["encoder"], r["split"], r["seed"]): r for r in records if r.get("status") == "ok"}


def paired(before: list[dict], after: list[dict]) -> list[dict]:
    """One row per (task, encoder, split, seed) present in both: primary metric, sign (+1 higher is
    better), cell seconds before and after, and the after head's search and chosen-fit seconds and
    cap flag."""
    b, a = _by_cell(before), _by_cell(after)
    rows = []
    for key in sorted(set(a) & set(b)):
        ra, rb = a[key], b[key]
        metric = ra["primary_metric"]
        ta, tb = ra.get("timings") or {}, rb.get("timings") or {}
        rows.append({"task": key[0], "encoder": key[1], "split": key[2], "seed": key[3], "metric": metric,
                     "sign": -1.0 if metric in LOWER_IS_BETTER else 1.0,
                     "before": float(rb["metrics"][metric]), "after": float(ra["metrics"][metric]),
                     "before_s": tb.get("cell_s"), "after_s": ta.get("cell_s"),
                     "search_s": ta.get("search_s"), "chosen_fit_s": ta.get("chosen_fit_s"),
                     "at_cap": (ra.get("head_params") or {}).get("best_epoch_at_cap"),
                     "iteration_at_cap": (ra.get("head_params") or {}).get("best_iteration_at_cap")})
    return rows


def quality(rows: list[dict]) -> dict[str, Any]:
    """Per cell (over seeds): mean before / after, the paired difference (after − before, signed so
    that > 0 is better), the seed spread of each head, and whether the difference is within seed
    noise (|mean difference| <= the larger seed std); overall: the mean signed difference, a
    paired t-test and Wilcoxon test over all (cell, seed) pairs, and the count of cells within noise."""
    from scipy import stats

    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["task"], r["encoder"], r["split"]), []).append(r)
    per = []
    for (task, enc, split), rs in cells.items():
        d = np.array([r["sign"] * (r["after"] - r["before"]) for r in rs])
        b, a = np.array([r["before"] for r in rs]), np.array([r["after"] for r in rs])
        noise = max(float(b.std(ddof=1)), float(a.std(ddof=1))) if len(rs) > 1 else float("nan")
        per.append({"task": task, "encoder": enc, "split": split, "metric": rs[0]["metric"], "n_seeds": len(rs),
                    "before_mean": float(b.mean()), "after_mean": float(a.mean()),
                    "better_by": float(d.mean()), "seed_std": noise,
                    "within_noise_or_better": bool(d.mean() >= -noise) if np.isfinite(noise) else None})
    d_all = np.array([r["sign"] * (r["after"] - r["before"]) for r in rows])
    out = {"cells": per, "n_pairs": int(d_all.size), "mean_better_by": float(d_all.mean()) if d_all.size else None}
    if d_all.size >= 3:
        out["paired_t_p"] = float(stats.ttest_1samp(d_all, 0.0).pvalue)
        out["wilcoxon_p"] = float(stats.wilcoxon(d_all).pvalue) if np.any(d_all != 0) else 1.0
    out["cells_within_noise_or_better"] = sum(bool(c["within_noise_or_better"]) for c in per)
    return out


def search_ratio(rows: list[dict], by_kind: bool = True) -> dict[str, Any]:
    """The current search time over the chosen configuration's own fit time, per (cell, seed):
    median, max, the total over all cells (sum of searches / sum of fits) and the share over 2x;
    with ``by_kind`` the same per split kind (``random``, ``spatial_block``, ``continent``)."""
    rs = [r for r in rows if r.get("search_s") and r.get("chosen_fit_s")]
    ratios = [r["search_s"] / r["chosen_fit_s"] for r in rs]
    tot_f = sum(r["chosen_fit_s"] for r in rs)
    out: dict[str, Any] = {"n": len(ratios), "median": statistics.median(ratios) if ratios else None,
                           "max": max(ratios) if ratios else None,
                           "total": sum(r["search_s"] for r in rs) / tot_f if tot_f else None,
                           "share_over_2": (sum(x > 2 for x in ratios) / len(ratios)) if ratios else None}
    if by_kind:
        kinds = sorted({r["split"].split(":")[0] for r in rs})
        out["by_split_kind"] = {k: search_ratio([r for r in rs if r["split"].split(":")[0] == k], by_kind=False)
                                for k in kinds}
    return out


def cell_times(rows: list[dict]) -> dict[str, dict]:
    """Per task: median cell seconds before and after."""
    out: dict[str, dict] = {}
    for task in sorted({r["task"] for r in rows}):
        rs = [r for r in rows if r["task"] == task and r["before_s"] and r["after_s"]]
        if rs:
            out[task] = {"before_s": statistics.median(r["before_s"] for r in rs),
                         "after_s": statistics.median(r["after_s"] for r in rs), "n": len(rs)}
    return out


def _run(tmp: Path, cfg: Config, cells: list[tuple[str, str, str]], heads: list[str], seeds: int) -> list[dict]:
    """Run (or resume) the cells; the records of exactly the planned cells, by key (the current
    code's identities: rows a kept ``--probes-dir`` holds from older code are not paired)."""
    from geobench.evaluation.records import read_records
    from geobench.evaluation.runner import run_grid

    keys: set[str] = set()
    for task, enc, split in cells:
        log(f"probes: {task} x {enc} x {split} x {heads} x {seeds} seed(s) ...")
        res = run_grid([task], [enc], heads, [split], seeds, results_dir=tmp, executor="joblib",
                       n_jobs=cfg.grid_jobs, tracking_uri="none", progress=False, n_boot=0)
        keys.update(res.keys)
    recs = [r for r in read_records(tmp / "runs.jsonl") if r["key"] in keys]
    missing = len(keys - {r["key"] for r in recs if r.get("status") == "ok"})
    if missing:
        log(f"probes: {missing} planned cell(s) without an ok record (failed): left out of the pairs")
    return recs


def section_probes(cfg: Config, tmp: Path) -> tuple[list[dict], dict]:
    """See the module docstring; ``cfg.quick`` runs two small cells, one seed, short budgets."""
    from geobench.heads.base import canonical_head_spec
    from geobench.heads.lightgbm import LightGBMHead
    from geobench.heads.mlp import MLPHead

    if cfg.probes_dir:
        tmp = Path(cfg.probes_dir)
    seeds = 1 if cfg.quick else 3
    cells = [("air_temperature", "wrap", "random")] if cfg.quick else mlp_cells()
    mlp = ["mlp:max_epochs=5", "mlp:search=full:max_epochs=5"] if cfg.quick else ["mlp", MLPHead.V1_SPEC]
    mlp = [canonical_head_spec(h) for h in mlp]  # the records' spelling
    recs = _run(tmp / "mlp", cfg, cells, mlp, seeds)
    after = [r for r in recs if r["head"] == mlp[0]]
    before = [r for r in recs if r["head"] == mlp[1]]
    pairs = paired(before, after)
    q, ratio, times = quality(pairs), search_ratio(pairs), cell_times(pairs)
    at_cap = [bool(r["at_cap"]) for r in pairs if r["at_cap"] is not None]
    lgb_tasks = ["air_temperature"] if cfg.quick else ["air_temperature", "median_income", "california_housing",
                                                        "elevation", "population", "biome"]
    lgb = (["lightgbm:n_estimators=20", "lightgbm:n_estimators=20:max_bin=255"] if cfg.quick
           else ["lightgbm", LightGBMHead.V1_SPEC])
    lgb = [canonical_head_spec(h) for h in lgb]
    lrecs = _run(tmp / "lightgbm", cfg, [(t, LGBM_ENCODER, "random") for t in lgb_tasks], lgb, 1)
    lpairs = paired([r for r in lrecs if r["head"] == lgb[1]], [r for r in lrecs if r["head"] == lgb[0]])
    raw = {"mlp": {"heads": {"after": mlp[0], "before": mlp[1]}, "cells": [list(c) for c in cells], "seeds": seeds,
                   "pairs": pairs, "quality": q, "search_ratio": ratio, "cell_times": times,
                   "at_cap": {"n": len(at_cap), "at_cap": sum(at_cap)}},
           "lightgbm": {"heads": {"after": lgb[0], "before": lgb[1]}, "pairs": lpairs, "cell_times": cell_times(lpairs),
                        "quality": quality(lpairs)}}
    rows = []
    for head, t in (("mlp", times), ("lightgbm", raw["lightgbm"]["cell_times"])):
        for task, v in t.items():
            now = (MLPHead if head == "mlp" else LightGBMHead).version
            rows.append(row("probes", f"{head} cell, {task}: version {now} (version 1 as ref)", v["after_s"], "s",
                            ref_name=f"{head} version 1", ref_value=v["before_s"], ref_unit="s",
                            ratio=v["after_s"] / v["before_s"] if v["before_s"] else None,
                            ratio_meaning=f"v{now} / v1 median cell time (same run)", note=f"{v['n']} paired cell(s)"))
    if ratio["n"]:
        rows.append(row("probes", "mlp search / one fit of the chosen configuration", ratio["median"], "x",
                        target="<= 2x", status="PASS" if ratio["max"] <= 2 else ("MEDIAN PASS" if ratio["median"] <= 2
                                                                                else "MISS"),
                        note=f"median over {ratio['n']} (cell, seed) pairs; max {ratio['max']:.2f}, "
                             f"total {ratio['total']:.2f}, share over 2x {ratio['share_over_2']:.0%}"))
    if q["n_pairs"]:
        rows.append(row("probes", f"mlp v{MLPHead.version} minus v1 test metric (signed: > 0 is better)", q["mean_better_by"], "metric",
                        note=f"{q['n_pairs']} (cell, seed) pairs; {q['cells_within_noise_or_better']}/{len(q['cells'])} "
                             f"cells within seed noise or better; paired t p={q.get('paired_t_p', float('nan')):.3g}, "
                             f"Wilcoxon p={q.get('wilcoxon_p', float('nan')):.3g}"))
    if at_cap:
        share = sum(at_cap) / len(at_cap)
        rows.append(row("probes", f"mlp v{MLPHead.version} chosen runs stopped at a budget cap", share, "share", target="< 10%",
                        status="PASS" if share < 0.1 else "MISS", note=f"{sum(at_cap)} of {len(at_cap)}"))
    return rows, raw
