"""The learning curve: test score against the number of points the head was fit on, under the
paper profile's curve splits (:data:`geobench.evaluation.profiles.CURVE_SPLIT` with ``ntrain``),
and what it says about a published gap ("would more training points close it?")."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geobench.evaluation.profiles import CURVE_ENCODERS, CURVE_SPLIT, CURVE_TASKS


def _is_curve_split(split: str) -> bool:
    """A split of the current curve: ``CURVE_SPLIT``'s options plus ``ntrain`` (rows of an older
    curve spelling are not mixed in)."""
    from geobench.evaluation.splits import parse_split

    p, base = parse_split(split), parse_split(CURVE_SPLIT)
    return (p.kind == base.kind and "ntrain" in p.params
            and {k: v for k, v in p.params.items() if k != "ntrain"} == base.params)


def curve_points(records: list[dict], task: str, head: str = "linear",
                 encoders: tuple[str, ...] = CURVE_ENCODERS) -> pd.DataFrame:
    """One row per (encoder, n_fit, seed): the primary metric of each curve cell the leaderboard
    shows. ``n_fit`` is the record's ``n_train``, the points the head was fit on."""
    from geobench.reporting.leaderboard import shown_settings

    rows = []
    for (h, split, t, enc), rs in shown_settings(records).items():
        if h != head or t != task or enc not in encoders or not _is_curve_split(split):
            continue
        for r in rs:
            v = (r.get("metrics") or {}).get(r.get("primary_metric", "r2"))
            if r.get("status") == "ok" and v is not None:
                rows.append((enc, int(r["n_train"]), int(r["seed"]), float(v), r.get("primary_metric")))
    return pd.DataFrame(rows, columns=["encoder", "n_fit", "seed", "value", "metric"])


def curve_table(points: pd.DataFrame) -> pd.DataFrame:
    """encoder x n_fit: the mean over seeds (from :func:`curve_points`)."""
    if points.empty:
        return pd.DataFrame()
    return points.pivot_table(index="encoder", columns="n_fit", values="value", aggfunc="mean")


@dataclass(frozen=True)
class DoublingGain:
    """The gain per doubling of the fit set: the slope of score on log2(n_fit), fitted per seed,
    then its mean over ``n_seeds`` seeds with a t interval (95 %); ``top`` is the mean score at
    the largest size ``n_max``."""

    encoder: str
    n_seeds: int
    slope: float
    ci95: tuple[float, float] | None
    top: float
    n_max: int


def doubling_gain(points: pd.DataFrame, encoder: str, min_sizes: int = 3) -> DoublingGain | None:
    """:class:`DoublingGain` of ``encoder`` from its curve points (None with fewer than
    ``min_sizes`` sizes or 1 seed)."""
    from scipy import stats

    e = points[points["encoder"] == encoder]
    slopes = []
    for _, s in e.groupby("seed"):
        if s["n_fit"].nunique() >= min_sizes:
            slopes.append(float(np.polyfit(np.log2(s["n_fit"].to_numpy(float)), s["value"].to_numpy(float), 1)[0]))
    if len(slopes) < 2:
        return None
    m, sd = float(np.mean(slopes)), float(np.std(slopes, ddof=1))
    h = float(stats.t.ppf(0.975, len(slopes) - 1)) * sd / math.sqrt(len(slopes))
    n_max = int(e["n_fit"].max())
    return DoublingGain(encoder, len(slopes), m, (m - h, m + h), float(e[e["n_fit"] == n_max]["value"].mean()), n_max)


def gap_line(records: list[dict], task: str, encoder: str, head: str = "linear") -> str | None:
    """A markdown bullet: does the learning curve explain the gap between our ``encoder`` on
    ``task`` and the published number (``published.csv``, same task, encoder and head)? The
    doublings the gap needs at the measured gain per doubling, or "not explained" when the gain's
    interval reaches 0."""
    from geobench.reporting.published import published_for

    pub = [p for p in published_for(task, encoder) if p.head == head and p.split in ("random", "unspecified")]
    g = doubling_gain(curve_points(records, task, head, (encoder,)), encoder)
    if not pub or g is None:
        return None
    p = pub[0]
    gap = p.value - g.top
    ci = "" if g.ci95 is None else f" [{g.ci95[0]:+.4f}, {g.ci95[1]:+.4f}]"
    head_txt = (f"- **Learning curve vs the published {encoder} on {task}** ({head}): {g.top:.3f} at {g.n_max:,} fit "
                f"points against {p.value:.3f} published ({p.table}); gain per doubling of the fit set "
                f"{g.slope:+.4f}{ci} (log-linear fit per seed, mean over {g.n_seeds} seeds, 95 % t interval)")
    if gap <= 0:
        return head_txt + "; we are at or above the published number."
    if g.ci95 is None or g.ci95[0] <= 0:
        return head_txt + "; the gain is not significantly above 0, so more training points do not explain the gap."
    k = gap / g.slope
    return (head_txt + f"; at that rate the gap of {gap:.3f} needs about {k:.0f} more doublings "
            f"(about {g.n_max * 2 ** k:.1e} points), so the number of training points does not explain it"
            if k > 3 else head_txt + f"; at that rate the gap of {gap:.3f} closes within {k:.1f} doublings "
            f"(about {g.n_max * 2 ** k:,.0f} points): more training points can explain it.")


def learning_curve_lines(records: list[dict]) -> list[str]:
    """Markdown: the curve tables per task and the published-gap lines."""
    out = []
    for task in CURVE_TASKS:
        t = curve_table(curve_points(records, task))
        if t.empty:
            continue
        cols = [f"{c:,}" for c in t.columns]
        out += [f"**{task}**: test score (primary metric, mean over seeds) against the points the `linear` head "
                "was fit on (nested per seed; one test set of 10 % of the points).", "",
                "| encoder | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
        out += [f"| {enc} | " + " | ".join("" if pd.isna(v) else f"{v:.3f}" for v in row) + " |"
                for enc, row in t.iterrows()] + [""]
        for enc in CURVE_ENCODERS:
            line = gap_line(records, task, enc)
            if line:
                out += [line, ""]
    return (["## Learning curve", ""] + out) if out else []


def plot_learning_curves(records: list[dict], out_dir: str | Path, head: str = "linear") -> Path | None:
    """Score against fit-set size (log x), one line per curve encoder with seed std bars, one panel
    per curve task; ``out_dir/learning_curve__<head>.png``. None without curve records."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geobench.reporting.png import figure_stem, save_png

    data = {t: curve_points(records, t, head) for t in CURVE_TASKS}
    data = {t: d for t, d in data.items() if not d.empty}
    if not data:
        return None
    fig, axes = plt.subplots(1, len(data), figsize=(5.2 * len(data), 3.8), squeeze=False)
    for ax, (task, d) in zip(axes[0], data.items()):
        for enc, e in d.groupby("encoder", sort=False):
            g = e.groupby("n_fit")["value"]
            m, s = g.mean(), g.std(ddof=1)
            ax.errorbar(m.index, m.values, yerr=s.values, marker="o", ms=4, capsize=2, label=enc)
        ax.set_xscale("log")
        ax.set_title(task, fontsize=11)
        ax.set_xlabel("points the head was fit on")
        ax.set_ylabel(f"test {d['metric'].iloc[0]}")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Learning curve ({head} head; mean over seeds, bars: std over seeds)", fontsize=11)
    fig.tight_layout()
    return save_png(fig, Path(out_dir) / f"learning_curve__{figure_stem(head)}.png", dpi=110)
