"""Findings computed from the leaderboard table: who generalises to Africa, the price of spatial
extrapolation, L=10 vs L=40, pretrained vs untrained SatCLIP, the heads, and the best encoder per
task. Only cells of the reproduction grid count (see :func:`geobench.evaluation.grid.in_plan`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from geobench.evaluation.grid import in_plan


def _pivot(ok: pd.DataFrame, head: str, split_kind: str) -> pd.DataFrame:
    """encoder x task means for one head and split kind (the grid has one split per kind and task)."""
    g = ok[(ok["head"] == head) & (ok.split.str.split(":").str[0] == split_kind)]
    return g.pivot_table(index="encoder", columns="task", values="mean")


def _compare(ok: pd.DataFrame, a: str, b: str, head: str, split_kind: str, what: str) -> str | None:
    p = _pivot(ok, head, split_kind)
    if a not in p.index or b not in p.index:
        return None
    both = p.loc[[a, b]].dropna(axis=1)
    if both.empty:
        return None
    wins = int((both.loc[a] > both.loc[b]).sum())
    detail = ", ".join(f"{t} {both.loc[a, t]:.3f} vs {both.loc[b, t]:.3f}" for t in both.columns)
    return f"- {what}: `{a}` beats `{b}` on {wins} of {both.shape[1]} tasks ({head}, {split_kind}: {detail})."


# Encoders whose embedding carries information from imagery (trained on it, or featurising it).
IMAGE_INFORMED = ("satclip", "satclip-bm", "csp", "csp-bm", "geoclip", "mosaiks")


def findings(table: pd.DataFrame) -> list[str]:
    """Short statements computed from the leaderboard table."""
    ok = table[(table.status == "ok") & np.array([in_plan(t, s) for t, s in zip(table.task, table.split)], bool)]
    ok = ok.dropna(subset=["mean"])
    img = lambda e: e.split(":")[0] in IMAGE_INFORMED  # noqa: E731
    out = []
    # 1. who generalises to Africa: mean rank over the hold-out tasks, linear head
    hold = _pivot(ok, "linear", "continent").dropna(axis=0)
    if not hold.empty:
        rank = hold.rank(ascending=False).mean(axis=1).sort_values()
        top = ", ".join(f"`{e}` ({r:.1f})" for e, r in rank.head(3).items())
        out.append(f"- **Africa hold-out** (linear, {hold.shape[1]} tasks: {', '.join(hold.columns)}): the best "
                   f"mean ranks among {hold.shape[0]} encoders are {top}; the worst is `{rank.index[-1]}` "
                   f"({rank.iloc[-1]:.1f}).")
        for t in hold.columns:
            learned = hold[t][[e for e in hold.index if img(e)]]
            free = hold[t][[e for e in hold.index if not img(e)]]
            if not learned.empty and not free.empty:
                out.append(f"  - {t}: best image-informed `{learned.idxmax()}` {learned.max():.3f}, best "
                           f"coordinate-only `{free.idxmax()}` {free.max():.3f}.")
    # 2. the price of spatial extrapolation: random minus spatial-block, averaged over tasks
    rnd, blk = _pivot(ok, "linear", "random"), _pivot(ok, "linear", "spatial_block")
    common = rnd.index.intersection(blk.index)
    if len(common):
        tasks = rnd.columns.intersection(blk.columns)
        drop = (rnd.loc[common, tasks] - blk.loc[common, tasks]).dropna(axis=0).mean(axis=1).dropna().sort_values()
        if len(tasks) and not drop.empty:
            out.append(f"- **Random vs spatial-block** (linear, mean over {len(tasks)} tasks of random minus "
                       f"block score): smallest drop `{drop.index[0]}` {drop.iloc[0]:.3f}, largest `{drop.index[-1]}` "
                       f"{drop.iloc[-1]:.3f}; median {drop.median():.3f}.")
    # 3. L=10 vs L=40 (the paper: L=10 generalises better to unseen regions, L=40 fits finer detail)
    for a, b in (("satclip-bm", "satclip-bm:L=40"), ("sh", "sh:L=40")):
        for kind in ("random", "continent"):
            line = _compare(ok, a, b, "linear", kind, "L=10 vs L=40")
            if line:
                out.append(line)
    # 4. does our pretraining help? the trained SatCLIP against its untrained twin
    for kind in ("random", "spatial_block", "continent"):
        line = _compare(ok, "satclip-bm", "sh_siren_random", "linear", kind, "pretrained (here) vs untrained SatCLIP")
        if line:
            out.append(line)
    # 5. heads: MLP / LightGBM against the linear probe on the same cells
    for head in ("mlp", "lightgbm"):
        a = ok[ok["head"] == head].set_index(["task", "encoder", "split"])["mean"]
        b = ok[ok["head"] == "linear"].set_index(["task", "encoder", "split"])["mean"]
        both = a.index.intersection(b.index)
        if len(both):
            d = (a[both] - b[both]).dropna()
        if len(both) and not d.empty:
            out.append(f"- **{head} vs linear head** on the {len(both)} cells run with both: {head} is better on "
                       f"{int((d > 0).sum())}; median difference {d.median():+.3f}, largest gain "
                       f"{d.max():+.3f} ({'/'.join(map(str, d.idxmax()))}).")
    best = []
    for (head, split), g in ok.groupby(["head", "split"]):
        wins = g.loc[g.groupby("task")["mean"].idxmax()]
        best.append(f"- `{head}` head, `{split}`: "
                    + ", ".join(f"{r.task}: **{r.encoder}** ({r['mean']:.3f})" for _, r in wins.iterrows()))
    return (["### What we learned", ""] + out + [""] if out else []) + \
        (["### Best encoder per task", ""] + best if best else [])
