"""Claims about encoders, computed and tested: per-seed scores of the rows the leaderboard shows,
paired comparisons over seeds ("A beats B on k of n tasks" counts significant wins only) and
rankings across tasks (mean rank, Friedman, Nemenyi). Only cells of the reproduction grid count
(:func:`geobench.evaluation.grid.in_plan`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from geobench.reporting.stats import Paired, Ranking, compare, friedman, tally


def seed_values(records: list[dict], metric: str | None = None) -> pd.DataFrame:
    """One row per (head, split, task, encoder, seed) of the grid cells the leaderboard shows (the
    newest setting per display name, ``ok`` rows): its ``metric`` (None: the primary metric) in
    ``value``, rows without it left out; ``kind`` is the split kind."""
    from geobench.evaluation.grid import in_plan
    from geobench.reporting.leaderboard import shown_settings

    rows = []
    for (head, split, task, enc), rs in shown_settings(records).items():
        if not in_plan(task, split):
            continue
        for r in rs:
            if r.get("status") == "ok":
                v = r["metrics"].get(metric or r.get("primary_metric", "r2"))
                if v is not None:
                    rows.append((head, split, split.split(":")[0], task, enc, int(r["seed"]), float(v)))
    return pd.DataFrame(rows, columns=["head", "split", "kind", "task", "encoder", "seed", "value"])


def paired(sv: pd.DataFrame, a: str, b: str, head: str, kind: str) -> list[Paired]:
    """Per task where both ``a`` and ``b`` have at least 2 common seeds (``head``, split ``kind``):
    the paired t-test of A - B over the common seeds, Holm across those tasks."""
    g = sv[(sv["head"] == head) & (sv["kind"] == kind) & sv["encoder"].isin([a, b])]
    pairs = {}
    for task, t in g.groupby("task", sort=True):
        w = t.pivot_table(index="seed", columns="encoder", values="value").dropna()
        if a in w and b in w and len(w) >= 2:
            pairs[task] = (w[a].to_numpy(), w[b].to_numpy())
    return compare(pairs) if pairs else []


def _fmt_diff(r: Paired) -> str:
    ci = "" if r.ci95 is None else f" [{r.ci95[0]:+.3f}, {r.ci95[1]:+.3f}]"
    p = "" if r.p_holm is None else f", p_Holm {r.p_holm:.3g}"
    return f"{r.task} {r.mean_diff:+.3f}{ci}{p} ({r.verdict})"


def claim_line(sv: pd.DataFrame, a: str, b: str, head: str, kind: str, what: str) -> str | None:
    """A markdown bullet: ``a`` against ``b`` under ``head`` and split ``kind``, with significant
    wins, losses and ties over the tasks (paired t over seeds, Holm across tasks, alpha 0.05) and
    each task's mean difference, 95 % interval and adjusted p-value. None if no task pairs."""
    res = paired(sv, a, b, head, kind)
    if not res:
        return None
    c = tally(res)
    seeds = sorted({r.n for r in res})
    return (f"- {what} ({head}, {kind}): `{a}` is significantly better than `{b}` on {c['win']} of {len(res)} "
            f"tasks, worse on {c['loss']}, tied on {c['tie']}"
            + (f", untested on {c['untested']} (the seeds give identical scores: a deterministic fit on a split "
               "the seed does not change)" if c["untested"] else "")
            + f" (paired t-test over {'/'.join(map(str, seeds))} seeds, Holm across tasks; difference A - B, 95 % "
            "interval): " + "; ".join(_fmt_diff(r) for r in res) + ".")


def ranking(sv: pd.DataFrame, head: str, kind: str, encoders: list[str] | None = None,
            baseline: str = "constant") -> Ranking:
    """Friedman ranking of encoders over tasks by their mean over seeds (``head``, split ``kind``);
    ``encoders`` None: every encoder with rows there. A score below ``baseline``'s on a task is
    raised to it: every encoder worse than the label-only constant ties with it, so an R² of
    -300 does not rank below one of -3 as if the difference meant something."""
    g = sv[(sv["head"] == head) & (sv["kind"] == kind)]
    if encoders is not None:
        g = g[g["encoder"].isin(encoders)]
    means = g.groupby(["encoder", "task"])["value"].mean()
    floor = {t: float(v) for (e, t), v in means.items() if e == baseline}
    scores: dict[str, dict[str, float]] = {}
    for (enc, task), v in means.items():
        scores.setdefault(enc, {})[task] = max(float(v), floor.get(task, -np.inf))
    return friedman(scores)


def ranking_line(r: Ranking, head: str, kind: str, top: int = 3) -> str | None:
    """A markdown bullet: the best and worst mean ranks, Friedman's test and the critical difference."""
    if not r.mean_rank:
        return None
    order = sorted(r.mean_rank, key=lambda e: (r.mean_rank[e], e))
    best = ", ".join(f"`{e}` ({r.mean_rank[e]:.1f})" for e in order[:top])
    test = ("Friedman's test undefined" if r.p is None else
            f"Friedman chi2 = {r.chi2:.1f}, p = {r.p:.2g}")
    tied_top = [e for e in order if r.cd is not None and r.mean_rank[e] - r.mean_rank[order[0]] < r.cd]
    cd = ("" if r.cd is None else f"; Nemenyi critical difference {r.cd:.2f} at alpha {r.alpha}: "
          f"{len(tied_top)} encoder(s) are not told apart from the first")
    dropped = f"; left out for missing tasks: {', '.join(f'`{e}`' for e in r.dropped)}" if r.dropped else ""
    return (f"- **Mean rank** ({head}, {kind}; {r.k} encoders over {r.n} tasks, 1 = best): best {best}; worst "
            f"`{order[-1]}` ({r.mean_rank[order[-1]]:.1f}); {test}{cd}{dropped}.")


def best_encoders(sv: pd.DataFrame, head: str, kind: str, baseline: str = "constant") -> dict[str, tuple[str, Paired] | str]:
    """Per task: (the encoder with the best mean over seeds, its paired comparison with the
    runner-up), or the reason there is no best: fewer than 2 competitors with 2+ seeds, or the
    top encoder not significantly above ``baseline`` (paired t over seeds, uncorrected)."""
    g = sv[(sv["head"] == head) & (sv["kind"] == kind)]
    out: dict[str, tuple[str, Paired] | str] = {}
    for task, t in g.groupby("task", sort=True):
        n = t.groupby("encoder")["seed"].nunique()
        means = t[t["encoder"].isin(n[n >= 2].index)].groupby("encoder")["value"].mean()
        competitors = means.drop(baseline, errors="ignore")
        if len(competitors) < 2:
            out[task] = f"fewer than 2 encoders with 2+ seeds ({len(competitors)})"
            continue
        order = competitors.sort_values(ascending=False).index
        top, second = order[0], order[1]
        if baseline in means.index:
            vs_base = paired(sv[sv["task"] == task], top, baseline, head, kind)
            if not vs_base or vs_base[0].verdict != "win":
                out[task] = f"`{top}` does not beat `{baseline}` significantly"
                continue
        vs = paired(sv[sv["task"] == task], top, second, head, kind)
        out[task] = (top, vs[0]) if vs else f"`{top}` and `{second}` share fewer than 2 seeds"
    return out

