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


def _table(pairs: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], value: str) -> pd.DataFrame:
    """Paired t over seeds per (encoder, task) of ``pairs``, Holm across the whole table (one
    family: every starred cell of a table is controlled together); the mean difference in
    ``value``."""
    keys = {f"{e}\t{t}": v for (e, t), v in pairs.items()}
    rows = []
    for r in compare(keys) if keys else []:
        enc, task = r.task.split("\t")
        rows.append({"encoder": enc, "task": task, value: r.mean_diff, "n": r.n,
                     "ci_lo": None if r.ci95 is None else r.ci95[0], "ci_hi": None if r.ci95 is None else r.ci95[1],
                     "p_holm": r.p_holm, "verdict": r.verdict})
    return pd.DataFrame(rows, columns=["encoder", "task", value, "n", "ci_lo", "ci_hi", "p_holm", "verdict"])


def head_gap(sv: pd.DataFrame, head: str = "mlp", kind: str = "random",
             encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """One row per (encoder, task) with 2+ seeds under both ``head`` and ``linear`` (split kind
    ``kind``; ``sv`` from :func:`geobench.reporting.claims.seed_values`): ``gap`` = mean over the
    common seeds of head − linear (primary metric), its 95 % interval, Holm-adjusted p (paired t
    over seeds, Holm across every cell of the table) and verdict (win: the head is better)."""
    g = sv[(sv["kind"] == kind) & sv["encoder"].isin(encoders) & sv["head"].isin([head, "linear"])]
    pairs = {}
    for (enc, task), t in g.groupby(["encoder", "task"], sort=True):
        w = t.pivot_table(index="seed", columns="head", values="value").dropna()
        if head in w and "linear" in w and len(w) >= 2:
            pairs[(enc, task)] = (w[head].to_numpy(), w["linear"].to_numpy())
    return _table(pairs, "gap")


def coordinate_skill(records: list[dict], head: str = "linear", kind: str = "random",
                     reference: tuple[str, str] = COORD_REFERENCE) -> pd.DataFrame:
    """One row per (encoder, regression task) sharing 2+ seeds with ``reference`` under split
    kind ``kind``: ``skill`` = the mean over common seeds of 1 − MSE(encoder, ``head``) /
    MSE(``reference``) (> 0: the probe beats LightGBM on the raw coordinates), with the paired
    t-test of the reference's MSE against the encoder's over those seeds (Holm across the table;
    ``win``: the encoder's MSE is lower)."""
    from geobench.reporting.claims import seed_values

    m = seed_values(records, "rmse")  # regression rows only: classification has no rmse
    m = m[m["kind"] == kind]
    m = m.assign(mse=m["value"] ** 2)
    ref = m[(m["encoder"] == reference[0]) & (m["head"] == reference[1])].set_index(["task", "seed"])["mse"]
    ours = m[m["head"] == head]
    if ref.empty or ours.empty:
        return pd.DataFrame()
    j = ours.join(ref.rename("ref"), on=["task", "seed"], how="inner").sort_values("seed")
    pairs, skill = {}, {}
    for (enc, task), t in j.groupby(["encoder", "task"], sort=True):
        if len(t) >= 2:
            pairs[(enc, task)] = (t["ref"].to_numpy(), t["mse"].to_numpy())
            skill[(enc, task)] = float((1.0 - t["mse"] / t["ref"]).mean())
    out = _table(pairs, "mse_diff")
    out.insert(2, "skill", [skill[(e, t)] for e, t in zip(out["encoder"], out["task"])])
    return out


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
        out += [f"**{head} minus linear** (random split; primary metric, mean over common seeds; * = significant, "
                "paired t over seeds, Holm across every cell of the table)"]
        out += _grid(gaps, "gap")
    skill = coordinate_skill(records)
    if not skill.empty:
        out += ["**Skill over LightGBM on the raw coordinates** (linear head, random split): 1 − MSE / MSE of "
                "`direct` + `lightgbm`, mean over common seeds; > 0 beats a tree model on (lon, lat); * = the MSEs "
                "differ significantly (paired t over seeds, Holm across the table)."]
        out += _grid(skill, "skill")
    return (["## Head gap and skill over raw coordinates", ""] + out) if out else []


def _grid(df: pd.DataFrame, value: str) -> list[str]:
    """An encoder x task markdown table of ``value``, starred where the verdict is significant."""
    tasks = sorted(df["task"].unique())
    lines = ["", "| encoder | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    for enc, g in df.groupby("encoder", sort=True):
        by = g.set_index("task")
        cells = [(_fmt(by.at[t, value]) + ("*" if by.at[t, "verdict"] in ("win", "loss") else ""))
                 if t in by.index else "–" for t in tasks]
        lines.append(f"| {enc} | " + " | ".join(cells) + " |")
    return lines + [""]
