"""The learning curve: test score against the number of points the head was fit on, under the
paper profile's curve splits (:data:`geobench.evaluation.profiles.CURVE_SPLIT` with ``ntrain``),
and what it says about a published gap ("would more training points close it?")."""
from __future__ import annotations

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


TOP_SIZES = 3  # the gain per doubling is fitted on the largest sizes: curves flatten at the top


@dataclass(frozen=True)
class DoublingGain:
    """The gain per doubling of the fit set at the top of the curve: the slope of score on
    log2(n_fit) over the ``sizes`` largest sizes, fitted per seed, then its mean over
    ``n_seeds`` seeds with a 95 % t interval; ``top`` is the mean score at the largest size
    ``n_max``."""

    encoder: str
    n_seeds: int
    sizes: int
    slope: float
    ci95: tuple[float, float]
    top: float
    n_max: int


def doubling_gain(points: pd.DataFrame, encoder: str, sizes: int = TOP_SIZES) -> DoublingGain | None:
    """:class:`DoublingGain` of ``encoder`` from its curve points (None with fewer than ``sizes``
    sizes on 2+ seeds)."""
    from geobench.reporting.leaderboard import seed_interval

    e = points[points["encoder"] == encoder]
    top = sorted(e["n_fit"].unique())[-sizes:]
    slopes = []
    for _, s in e[e["n_fit"].isin(top)].groupby("seed"):
        if s["n_fit"].nunique() == sizes >= 2:
            slopes.append(float(np.polyfit(np.log2(s["n_fit"].to_numpy(float)), s["value"].to_numpy(float), 1)[0]))
    if len(slopes) < 2:
        return None
    m, _, n, lo, hi = seed_interval(np.array(slopes))
    n_max = int(e["n_fit"].max())
    return DoublingGain(encoder, n, sizes, m, (lo, hi),
                        float(e[e["n_fit"] == n_max]["value"].mean()), n_max)


def _points(n: float) -> str:
    return f"{n:,.0f}" if n < 1e7 else f"{n:.1e}"


def gap_line(records: list[dict], task: str, encoder: str, head: str = "linear") -> str | None:
    """A markdown bullet: how far the learning curve of our ``encoder`` on ``task`` is from the
    published number (``published.csv``: same task, encoder, head and metric, random or
    unstated split): the more doublings of the fit set the gap needs at the gain per doubling
    measured at the top of the curve, over that gain's 95 % interval."""
    from geobench.reporting.published import published_for

    pts = curve_points(records, task, head, (encoder,))
    g = doubling_gain(pts, encoder)
    if g is None:
        return None
    metric = pts["metric"].iloc[0]
    pub = [p for p in published_for(task, encoder, metric) if p.head == head and p.split in ("random", "unspecified")]
    if not pub:
        return None
    p = pub[0]
    gap = p.value - g.top
    lo, hi = g.ci95
    text = (f"- **Learning curve against the published {encoder} on {task}** ({head}, {metric}): {g.top:.3f} at "
            f"{g.n_max:,} fit points, {p.value:.3f} published ({p.table}); over the {g.sizes} largest sizes each "
            f"doubling of the fit set adds {g.slope:+.4f} [{lo:+.4f}, {hi:+.4f}] (log-linear fit per seed, mean over "
            f"{g.n_seeds} seeds, 95 % t interval)")
    if gap <= 0:
        return text + "; ours is at or above the published number."
    if hi <= 0:
        return text + "; the curve has stopped rising, so at this rate more points would not close the gap."
    if lo <= 0:
        return (text + f"; the gain is not significantly above 0, so the curve cannot say how many more points the "
                f"gap of {gap:.3f} would need.")
    k, k_lo, k_hi = gap / g.slope, gap / hi, gap / lo
    return (text + f"; at that rate the gap of {gap:.3f} needs {k:.1f} more doublings ({k_lo:.1f} to {k_hi:.1f}), "
            f"about {_points(g.n_max * 2 ** k)} fit points ({_points(g.n_max * 2 ** k_lo)} to "
            f"{_points(g.n_max * 2 ** k_hi)}).")


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

    from geobench.evaluation.profiles import KEY_ENCODERS
    from geobench.reporting.continent_bars import encoder_colors
    from geobench.reporting.png import figure_stem, save_png

    colors = encoder_colors(tuple(dict.fromkeys((*KEY_ENCODERS, *CURVE_ENCODERS))))
    data = {t: curve_points(records, t, head) for t in CURVE_TASKS}
    data = {t: d for t, d in data.items() if not d.empty}
    if not data:
        return None
    fig, axes = plt.subplots(1, len(data), figsize=(5.2 * len(data), 3.8), squeeze=False)
    for ax, (task, d) in zip(axes[0], data.items()):
        for enc, e in d.groupby("encoder", sort=False):
            g = e.groupby("n_fit")["value"]
            m, s = g.mean(), g.std(ddof=1)
            ax.errorbar(m.index, m.values, yerr=s.values, marker="o", ms=4, capsize=2, label=enc, color=colors[enc])
        ax.set_xscale("log")
        ax.set_title(task, fontsize=11)
        ax.set_xlabel("points the head was fit on")
        ax.set_ylabel(f"test {d['metric'].iloc[0]}")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Learning curve ({head} head; mean over seeds, bars: std over seeds)", fontsize=11)
    fig.tight_layout()
    return save_png(fig, Path(out_dir) / f"learning_curve__{figure_stem(head)}.png", dpi=110)
