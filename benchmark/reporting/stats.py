"""Significance for the report: paired comparisons over seeds with Holm's correction across
tasks, and rankings across tasks with Friedman's test and the Nemenyi critical difference
(Demšar 2006, JMLR 7:1-30).

Seeds pair: for a given task, split and seed both encoders see the same train/test points, so
the per-seed differences are paired. The test is the paired t-test. Wilcoxon's signed-rank test
is not used: with 5 pairs its smallest two-sided p-value is 1/16 = 0.0625, so it could never
call a difference significant at 0.05 (with 3 pairs, 0.25)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05


@dataclass(frozen=True)
class Paired:
    """One paired comparison of A against B over seeds: ``n`` pairs, the mean difference A - B
    (in the metric's units), its 95 % t-interval (None for n < 2), the t statistic and two-sided
    p-value (None for n < 2), the Holm-adjusted p-value within its family, and the verdict
    ``win`` / ``loss`` / ``tie`` (a tie: not significant at ``ALPHA`` after Holm), or ``untested``
    (fewer than 2 seeds, or seeds that are copies: see :func:`paired_t`)."""

    task: str
    n: int
    mean_diff: float
    ci95: tuple[float, float] | None
    t: float | None
    p: float | None
    p_holm: float | None = None
    verdict: str = "tie"


def paired_t(a: np.ndarray, b: np.ndarray, task: str = "") -> Paired:
    """The paired t-test of ``a`` against ``b`` (same length, aligned by seed). Differences that
    are all equal give p = 0 when they are not zero (t is infinite) and p = 1 when they are. When
    neither side varies over the seeds (a deterministic fit on a split the seed does not change,
    such as a zero-shot hold-out), the seeds are copies, not replicates: no test (p None)."""
    from scipy import stats

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = a - b
    n = int(d.size)
    if n == 0:
        raise ValueError("no paired values")
    mean = float(d.mean())
    if n < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return Paired(task, n, mean, None, None, None)
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        t = math.copysign(math.inf, mean) if mean else 0.0
        return Paired(task, n, mean, (mean, mean), t, 0.0 if mean else 1.0)
    se = sd / math.sqrt(n)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), n - 1))
    h = float(stats.t.ppf(0.975, n - 1)) * se
    return Paired(task, n, mean, (mean - h, mean + h), float(t), p)


def holm(p: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count in the family)."""
    idx = [i for i, x in enumerate(p) if x is not None]
    order = sorted(idx, key=lambda i: p[i])
    m = len(order)
    out: list[float | None] = [None] * len(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def compare(pairs: dict[str, tuple[np.ndarray, np.ndarray]], alpha: float = ALPHA) -> list[Paired]:
    """Paired t-tests per task (``pairs``: task -> (A's values, B's values), aligned by seed), Holm
    across the tasks of the claim, and each task's verdict: ``win`` if A - B > 0 and significant,
    ``loss`` if < 0 and significant, else ``tie``."""
    raw = [paired_t(a, b, task) for task, (a, b) in pairs.items()]
    adj = holm([r.p for r in raw])
    out = []
    for r, ph in zip(raw, adj):
        sig = ph is not None and ph < alpha
        verdict = "untested" if r.p is None else ("win" if r.mean_diff > 0 else "loss") if sig and r.mean_diff != 0 else "tie"
        out.append(Paired(r.task, r.n, r.mean_diff, r.ci95, r.t, r.p, ph, verdict))
    return out


def tally(results: list[Paired]) -> dict[str, int]:
    """Counts of ``win``, ``loss``, ``tie`` and ``untested`` verdicts."""
    return {v: sum(r.verdict == v for r in results) for v in ("win", "loss", "tie", "untested")}


@dataclass(frozen=True)
class Ranking:
    """Mean ranks (1 = best) of ``k`` methods over ``n`` complete blocks (tasks), Friedman's
    chi-square and p-value, the Iman-Davenport F and its p-value, and the Nemenyi critical
    difference ``cd`` at ``alpha``: two methods whose mean ranks differ by less than ``cd``
    are not told apart. ``dropped`` lists the methods left out for missing blocks."""

    mean_rank: dict[str, float]
    n: int
    k: int
    chi2: float | None
    p: float | None
    f: float | None
    p_f: float | None
    cd: float | None
    alpha: float
    dropped: tuple[str, ...] = ()


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of mean ranks: q_alpha * sqrt(k (k + 1) / (6 n)), with
    q_alpha the studentized range quantile for k groups and infinite df over sqrt(2) (Demšar's
    table: 2.569 for k = 4 at alpha 0.05)."""
    from scipy.stats import studentized_range

    q = float(studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def friedman(scores: dict[str, dict[str, float]], alpha: float = ALPHA) -> Ranking:
    """Rank methods across blocks. ``scores``: method -> {block (task) -> score, higher better}.
    Only blocks every kept method has count; a method missing more than half of the blocks is
    dropped (and named) rather than shrinking the comparison for all. Ties share the mean rank."""
    from scipy import stats

    blocks_all = sorted({b for s in scores.values() for b in s})
    keep = {m: s for m, s in scores.items() if sum(b in s for b in blocks_all) * 2 > len(blocks_all)}
    dropped = tuple(sorted(set(scores) - set(keep)))
    blocks = [b for b in blocks_all if all(b in s and s[b] is not None and np.isfinite(s[b]) for s in keep.values())]
    methods = sorted(keep)
    k, n = len(methods), len(blocks)
    if k < 2 or n < 1:
        return Ranking({}, n, k, None, None, None, None, None, alpha, dropped)
    X = np.array([[keep[m][b] for m in methods] for b in blocks], np.float64)
    R = np.vstack([stats.rankdata(-row) for row in X])  # 1 = best, ties averaged
    mean_rank = dict(zip(methods, R.mean(axis=0).tolist()))
    chi2 = p = f = p_f = None
    if k >= 3 and n >= 2:
        if np.ptp(R, axis=1).any():  # scipy's statistic, corrected for ties; undefined if every block ties
            res = stats.friedmanchisquare(*X.T)
            chi2, p = float(res.statistic), float(res.pvalue)
        if chi2 is not None and chi2 < n * (k - 1):
            f = float((n - 1) * chi2 / (n * (k - 1) - chi2))
            p_f = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1)))
    return Ranking(mean_rank, n, k, chi2, p, f, p_f, nemenyi_cd(k, n, alpha), alpha, dropped)
