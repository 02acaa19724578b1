"""Two views across heads: the gap between a nonlinear probe (MLP, LightGBM) and the linear one
per encoder, and the skill of every encoder over LightGBM on the raw coordinates (``direct``), the
strongest label-only-from-coordinates reference. Means over seeds of the grid cells the
leaderboard shows; differences are paired by seed."""
from __future__ import annotations

import numpy as np
import pandas as pd

from geobench.evaluation.profiles import KEY_ENCODERS
from geobench.reporting.stats import compare

COORD_REFERENCE = ("direct", "lightgbm")  # (encoder, head): LightGBM on (lon, lat) degrees


def head_gap(sv: pd.DataFrame, head: str = "mlp", kind: str = "random",
             encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """One row per (encoder, task) with 2+ seeds under both ``head`` and ``linear`` (split kind
    ``kind``; ``sv`` from :func:`geobench.reporting.claims.seed_values`): ``gap`` = mean over the
    common seeds of head − linear (primary metric), its 95 % interval, Holm-adjusted p (paired t
    over seeds, Holm across the encoder's tasks) and verdict (win: the head is better)."""
    g = sv[(sv["kind"] == kind) & sv["encoder"].isin(encoders) & sv["head"].isin([head, "linear"])]
    rows = []
    for enc, ge in g.groupby("encoder", sort=True):
        pairs = {}
        for task, t in ge.groupby("task", sort=True):
            w = t.pivot_table(index="seed", columns="head", values="value").dropna()
            if head in w and "linear" in w and len(w) >= 2:
                pairs[task] = (w[head].to_numpy(), w["linear"].to_numpy())
        for r in compare(pairs) if pairs else []:
            rows.append({"encoder": enc, "task": r.task, "gap": r.mean_diff, "n": r.n,
                         "ci_lo": None if r.ci95 is None else r.ci95[0], "ci_hi": None if r.ci95 is None else r.ci95[1],
                         "p_holm": r.p_holm, "verdict": r.verdict})
    return pd.DataFrame(rows, columns=["encoder", "task", "gap", "n", "ci_lo", "ci_hi", "p_holm", "verdict"])


def coordinate_skill(records: list[dict], head: str = "linear", kind: str = "random",
                     reference: tuple[str, str] = COORD_REFERENCE) -> pd.DataFrame:
    """encoder x regression task: the mean over common seeds of 1 − MSE(encoder, ``head``) /
    MSE(``reference``), under split kind ``kind``. > 0: the encoder's probe beats LightGBM on the
    raw coordinates; NaN where the two share no seed."""
    from geobench.reporting.claims import seed_values

    m = seed_values(records, "rmse")  # regression rows only: classification has no rmse
    m = m[m["kind"] == kind]
    m = m.assign(mse=m["value"] ** 2)
    ref = m[(m["encoder"] == reference[0]) & (m["head"] == reference[1])].set_index(["task", "seed"])["mse"]
    ours = m[m["head"] == head]
    if ref.empty or ours.empty:
        return pd.DataFrame()
    j = ours.join(ref.rename("ref"), on=["task", "seed"], how="inner")
    if j.empty:
        return pd.DataFrame()
    j["skill"] = 1.0 - j["mse"] / j["ref"]
    return j.pivot_table(index="encoder", columns="task", values="skill", aggfunc="mean")


def _fmt(v: float) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:+.3f}"


def head_gap_lines(records: list[dict]) -> list[str]:
    """Markdown: the MLP- and LightGBM-minus-linear gaps per key encoder and task (random split),
    and each encoder's skill over LightGBM on raw coordinates per regression task (random split)."""
    from geobench.reporting.claims import seed_values

    sv = seed_values(records)
    out: list[str] = []
    for head in ("mlp", "lightgbm"):
        gaps = head_gap(sv, head) if not sv.empty else pd.DataFrame()
        if gaps.empty:
            continue
        tasks = sorted(gaps["task"].unique())
        out += [f"**{head} minus linear** (random split; primary metric, mean over common seeds; * = significant, "
                "paired t over seeds, Holm across the encoder's tasks)", "",
                "| encoder | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
        for enc, g in gaps.groupby("encoder", sort=True):
            by = g.set_index("task")
            cells = [(_fmt(by.at[t, "gap"]) + ("*" if by.at[t, "verdict"] in ("win", "loss") else ""))
                     if t in by.index else "–" for t in tasks]
            out.append(f"| {enc} | " + " | ".join(cells) + " |")
        out.append("")
    skill = coordinate_skill(records)
    if not skill.empty:
        out += ["**Skill over LightGBM on the raw coordinates** (linear head, random split): 1 − MSE / MSE of "
                "`direct` + `lightgbm`, mean over common seeds; > 0 beats a tree model on (lon, lat).", "",
                "| encoder | " + " | ".join(skill.columns) + " |", "|---|" + "---|" * len(skill.columns)]
        for enc, row in skill.sort_index().iterrows():
            out.append(f"| {enc} | " + " | ".join(_fmt(v) for v in row) + " |")
        out.append("")
    return (["## Head gap and skill over raw coordinates", ""] + out) if out else []
