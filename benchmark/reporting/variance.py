"""Split variance vs probe variance: how much of a score's spread over seeds comes from the
train/test split and how much from the probe (the head's initialisation, search and
validation carve).

A split with its own seed (``random:seed=K``) is drawn with K; the cell's ``seed`` then drives
only the head. Crossing split seeds with head seeds gives the records this module reads, e.g.
(``results/variance/``)::

    geobench run --task air_temperature --encoder wrap sh satclip-bm rff --head mlp linear \\
        --split random:seed=0 random:seed=1 random:seed=2 --seeds 3 \\
        --results results/variance --tracking-uri none

One run per (split seed i, head seed j): ``y_ij`` (the primary metric), I split seeds and J head
seeds, split-seed means ``a_i``, head-seed means ``b_j`` and grand mean ``m``. The two-way
decomposition (without replication)::

    V_split = sum_i (a_i - m)^2 / (I - 1)                             variance of split-seed means
    V_head  = sum_j (b_j - m)^2 / (J - 1)                             variance of head-seed means
    V_res   = sum_ij (y_ij - a_i - b_j + m)^2 / ((I - 1) (J - 1))     residual (interaction)

and the variance components of one run (random effects, method of moments, clipped at 0)::

    s2_split = max(0, V_split - V_res / J)
    s2_probe = max(0, V_head - V_res / I) + V_res

Head seed j is a different draw under each split, so the probe's share is its main effect plus
the interaction. ``split share`` = s2_split / (s2_split + s2_probe). A deterministic head (the
linear probe) has V_head = V_res = 0: all of its spread is the split's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["task", "encoder", "head", "split", "metric", "n_split_seeds", "n_head_seeds", "mean", "v_split",
           "v_head", "v_res", "s2_split", "s2_probe", "split_share", "block_ci_width"]


def components(y: np.ndarray) -> dict[str, float]:
    """The decomposition above of an (I split seeds, J head seeds) array, I, J >= 2."""
    y = np.asarray(y, dtype=np.float64)
    n_i, n_j = y.shape
    if n_i < 2 or n_j < 2:
        raise ValueError(f"need at least 2 split seeds and 2 head seeds, got {n_i} x {n_j}")
    v_split, m = float(y.mean(axis=1).var(ddof=1)), float(y.mean())
    # V_head and V_res do not change when a constant is taken from each row: taking the row's
    # first value makes them exactly 0 for a head whose score does not depend on its seed
    z = y - y[:, :1]
    a, b, mz = z.mean(axis=1), z.mean(axis=0), float(z.mean())
    v_head = float(b.var(ddof=1))
    v_res = float(((z - a[:, None] - b[None, :] + mz) ** 2).sum() / ((n_i - 1) * (n_j - 1)))
    s2_split = max(0.0, v_split - v_res / n_j)
    s2_probe = max(0.0, v_head - v_res / n_i) + v_res
    total = s2_split + s2_probe
    return {"mean": m, "v_split": v_split, "v_head": v_head, "v_res": v_res, "s2_split": s2_split,
            "s2_probe": s2_probe, "split_share": s2_split / total if total > 0 else float("nan")}


def _split_parts(split: str) -> tuple[str, int | None]:
    """(the split without its ``seed=`` option, that seed or None)."""
    from geobench.evaluation.splits import SplitSpec, parse_split

    sp = parse_split(split)
    return str(SplitSpec(sp.kind, {k: v for k, v in sp.params.items() if k != "seed"})), sp.params.get("seed")


def variance_table(records: list[dict]) -> pd.DataFrame:
    """One row (COLUMNS) per (task, encoder, head, split without its seed) whose ok records cross
    at least 2 split seeds with the same (at least 2) head seeds: split seeds run with fewer than
    2 head seeds are left out, the head seeds are those run under every remaining split seed.
    Rows are grouped by identity too (an older head version is not mixed in; the newest group is kept)."""
    from geobench.evaluation.identity import digest
    from geobench.evaluation.records import latest_by_key
    from geobench.reporting.leaderboard import ci_widths

    latest, _ = latest_by_key(records)
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in latest:
        if r.get("status") != "ok":
            continue
        split, split_seed = _split_parts(r["split"])
        if split_seed is None:
            continue  # the cell's seed drove the split too: not a crossed design
        ident = digest({k: v for k, v in r["identity"].items() if k not in ("split", "seed")})
        groups.setdefault((r["task"], r["encoder"], r["head"], split), {}).setdefault(ident, []).append(
            {**r, "split_seed": split_seed})
    rows = []
    for name, by_ident in sorted(groups.items()):
        rs = max(by_ident.values(), key=lambda g: max(r.get("timestamp", 0.0) for r in g))
        metric = rs[0].get("primary_metric", "r2")
        cells = {(r["split_seed"], r["seed"]): r["metrics"][metric] for r in rs}
        by_split = {s: {h for s2, h in cells if s2 == s} for s, _ in cells}
        split_seeds = sorted(s for s, hs in by_split.items() if len(hs) >= 2)
        head_seeds = sorted(set.intersection(*(by_split[s] for s in split_seeds))) if split_seeds else []
        if len(split_seeds) < 2 or len(head_seeds) < 2:
            continue
        y = np.array([[cells[(s, h)] for h in head_seeds] for s in split_seeds], dtype=np.float64)
        used = [r for r in rs if r["split_seed"] in split_seeds and r["seed"] in head_seeds]
        rows.append([*name[:3], name[3], metric, len(split_seeds), len(head_seeds), *components(y).values(),
                     ci_widths(used)[1]])
    return pd.DataFrame(rows, columns=COLUMNS)


def variance_markdown(table: pd.DataFrame, digits: int = 4) -> list[str]:
    """Markdown lines: one table per (task, split), encoders x heads, as standard deviations
    (the square roots of the variances, in the metric's units)."""
    out: list[str] = []
    for (task, split, metric), g in table.groupby(["task", "split", "metric"], sort=True):
        n_i, n_j = int(g.n_split_seeds.max()), int(g.n_head_seeds.max())
        out += [f"**{task}**, split `{split}`, {metric}: {n_i} split seeds x {n_j} head seeds per row "
                "(standard deviations, the square roots of the variances).", "",
                "| encoder | head | mean | sd of split-seed means | sd of head-seed means | residual sd "
                "| σ split | σ probe | split share | median block-CI width |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in g.sort_values(["encoder", "head"]).itertuples():
            sd = [f"{np.sqrt(v):.{digits}f}" for v in (r.v_split, r.v_head, r.v_res, r.s2_split, r.s2_probe)]
            share = "–" if np.isnan(r.split_share) else f"{100 * r.split_share:.0f} %"
            width = "–" if np.isnan(r.block_ci_width) else f"{r.block_ci_width:.{digits}f}"
            out.append(f"| {r.encoder} | {r.head} | {r.mean:.{digits - 1}f} | " + " | ".join(sd)
                       + f" | {share} | {width} |")
        out.append("")
    return out


def variance_section(folder: Path) -> list[str]:
    """The results page's section from ``folder/runs.jsonl`` ([] when there is none or no crossed
    records): what was run (the records' own command lines), the formula, the tables."""
    from geobench.evaluation.records import read_records

    runs = Path(folder) / "runs.jsonl"
    if not runs.is_file():
        return []
    records = read_records(runs)
    table = variance_table(records)
    if table.empty:
        return []
    commands = sorted({(r.get("provenance") or {}).get("command", "") for r in records} - {""})
    lines = ["## Split variance vs probe variance", "",
             f"From `{'/'.join(Path(folder).parts[-2:])}/runs.jsonl` (split seed `random:seed=K` crossed with head seed "
             "`--seeds`), produced by:", ""]
    lines += [f"    {c}" for c in commands] + [""]
    lines += ["For each encoder and head, with y_ij the score of split seed i and head seed j: the variance of "
              "the split-seed means (V_split), of the head-seed means (V_head) and the residual V_res "
              "(interaction); the components σ²_split = max(0, V_split − V_res/J) and σ²_probe = "
              "max(0, V_head − V_res/I) + V_res (`geobench.reporting.variance`). A deterministic head "
              "(linear) has no probe variance. The last column is the median width of the runs' 95 % "
              "block-bootstrap intervals: it measures how the score would vary over other places (test "
              "points drawn block by block from a spatially correlated field), which re-drawing the split "
              "of the same points does not show, so it can be far wider than σ split and σ probe.", ""]
    return lines + variance_markdown(table)
