"""Extrapolation figures from the records' geo blocks and block-size runs: the score against the
distance from a test point to its nearest training point (one panel per global task, the grid's
spatial-block split), and the primary metric against the spatial-block size (one panel per
extrapolation task). One line per key encoder; a bin or size without a score is a gap."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from geobench.evaluation.grid import GLOBAL_TASKS
from geobench.evaluation.profiles import EXTRAPOLATION_TASKS, KEY_ENCODERS
from geobench.reporting.continent_bars import METRIC_LABEL

Y_FLOOR = -0.25  # panels cut the y axis here; lower values are named in the panel


def _lo_km(label: str) -> float:
    """The lower edge of a distance bin labelled ``lo-hi km`` or ``>= lo km``, in km."""
    return float(label.removeprefix(">= ").split(" ")[0].split("-")[0])


def _task_field(records: list[dict], task: str, field: str, default: str) -> str:
    return next((str(r[field]) for r in records if r.get("task") == task and r.get(field)), default)


def distance_table(records: list[dict], head: str = "linear", kind: str = "spatial_block",
                   tasks: tuple[str, ...] = GLOBAL_TASKS, encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """Long table of figure A: ``task``, ``encoder``, ``bin`` (``lo-hi km``), ``lo_km``, ``x`` (the
    bin's position among every bin with a score in any task, nearest first), ``score`` (mean over
    seeds of the bin's skill for regression or accuracy for classification, NaN: a gap) and
    ``metric``; every (task, encoder) with data gets a row for every bin. Empty without data."""
    from geobench.reporting.geobias_report import distance_curve

    curves = {t: c for t in tasks if not (c := distance_curve(records, t, head, kind, encoders)).empty}
    if not curves:
        return pd.DataFrame(columns=["task", "encoder", "bin", "lo_km", "x", "score", "metric"])
    bins = sorted({b for c in curves.values() for b in c.columns}, key=_lo_km)
    rows = []
    for t, c in curves.items():
        metric = "skill" if _task_field(records, t, "kind", "regression") == "regression" else "accuracy"
        c = c.reindex(columns=bins)
        for enc in [e for e in encoders if e in c.index]:
            for x, b in enumerate(bins):
                rows.append((t, enc, b, _lo_km(b), x, float(c.loc[enc, b]), metric))
    return pd.DataFrame(rows, columns=["task", "encoder", "bin", "lo_km", "x", "score", "metric"])


def block_size_table(records: list[dict], head: str = "linear", tasks: tuple[str, ...] = EXTRAPOLATION_TASKS,
                     encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """Long table of figure B: ``task``, ``encoder``, ``deg`` (block side in degrees), ``score``
    (mean primary metric over seeds, NaN: a gap) and ``metric``, for the tasks with scores at 2+
    block sizes; every (task, encoder) with data gets a row for every size of any such task."""
    from geobench.reporting.geobias_report import block_size_curve

    curves = {t: c for t in tasks if (c := block_size_curve(records, t, head, encoders)).shape[1] >= 2}
    if not curves:
        return pd.DataFrame(columns=["task", "encoder", "deg", "score", "metric"])
    sizes = sorted({float(d) for c in curves.values() for d in c.columns})
    rows = []
    for t, c in curves.items():
        metric = _task_field(records, t, "primary_metric", "r2")
        c = c.reindex(columns=sizes)
        for enc in [e for e in encoders if e in c.index]:
            rows += [(t, enc, d, float(c.loc[enc, d]), metric) for d in sizes]
    return pd.DataFrame(rows, columns=["task", "encoder", "deg", "score", "metric"])


def _draw(df: pd.DataFrame, x: str, out: Path, title: str, xlabel: str, note: str, *,
          xticks: tuple[list[float], list[str]], logx: bool) -> Path:
    """Panels of ``df`` (one per task, in order of appearance), a line per encoder over ``x``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geobench.reporting.continent_bars import encoder_colors
    from geobench.reporting.png import save_png

    tasks = list(dict.fromkeys(df["task"]))
    encoders = list(dict.fromkeys(df["encoder"]))
    color = encoder_colors(tuple(dict.fromkeys((*KEY_ENCODERS, *encoders))))  # the same colours as the other figures
    ncol = min(3, len(tasks))
    nrow = -(-len(tasks) // ncol)
    height = 2.9 * nrow + 0.9
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol + 1.9, height), squeeze=False, sharex=True)
    for ax in axes.ravel()[len(tasks):]:
        ax.set_axis_off()
    for ax, task in zip(axes.ravel(), tasks):
        t = df[df["task"] == task]
        low = []
        for enc in encoders:
            e = t[t["encoder"] == enc].sort_values(x)
            if e.empty:
                continue
            ax.plot(e[x], e["score"], marker="o", ms=3, lw=1.2, color=color[enc], label=enc)
            if (e["score"] < Y_FLOOR).any():
                low.append(f"{enc} (min {e['score'].min():.2f})")
        vals = t["score"].dropna()
        if len(vals) and vals.min() < Y_FLOOR:
            ax.set_ylim(Y_FLOOR, max(vals.max(), 0) + 0.05)
            ax.text(0.02, 0.03, "below the axis: " + "; ".join(low), transform=ax.transAxes, fontsize=6.5,
                    color="#444444", va="bottom")
        if logx:
            ax.set_xscale("log")
        ax.set_xticks(*xticks)
        ax.minorticks_off()
        ax.grid(alpha=0.3, lw=0.5)
        ax.set_title(f"{task} ({METRIC_LABEL.get(t['metric'].iloc[0], t['metric'].iloc[0])})", fontsize=9)
        ax.tick_params(labelsize=7.5)
    for ax in axes.ravel()[max(0, len(tasks) - ncol): len(tasks)]:
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(axis="x", labelbottom=True, rotation=30 if not logx else 0)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    for ax in axes.ravel()[1:len(tasks)]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend([seen[e] for e in encoders if e in seen], [e for e in encoders if e in seen], loc="center right",
               fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7.5, color="#444444", va="bottom")
    right = 1 - 1.7 / (3.6 * ncol + 1.9)
    fig.tight_layout(rect=(0, 0.3 / height if note else 0, right, 1 - 0.3 / height))
    return save_png(fig, out, dpi=110)


def plot_distance_curves(records: list[dict], out_dir: str | Path, head: str = "linear") -> Path | None:
    """Figure A, ``out_dir/extrapolation_distance__<head>.png``: score against the distance from a
    test point to its nearest training point (bins of km, evenly spaced by bin), grid spatial-block
    split, one panel per global task with data. None (nothing drawn) without data."""
    from geobench.reporting.png import figure_stem

    df = distance_table(records, head)
    if df.empty or df["score"].isna().all():
        return None
    bins = df.drop_duplicates("x").sort_values("x")
    missing = [t for t in GLOBAL_TASKS if t not in set(df["task"])]
    note = (f"No distance data for: {', '.join(missing)}. " if missing else "") + \
        "Bins with fewer than 30 test points have no score (gaps)."
    return _draw(df, "x", Path(out_dir) / f"extrapolation_distance__{figure_stem(head)}.png",
                 f"Score against distance to the nearest training point ({head} head, spatial-block split; "
                 "skill for regression, accuracy for classification; mean over seeds)",
                 "distance to the nearest training point (km)", note,
                 xticks=(bins["x"].tolist(), bins["bin"].str.replace(" km", "").tolist()), logx=False)


def plot_block_size_curves(records: list[dict], out_dir: str | Path, head: str = "linear") -> Path | None:
    """Figure B, ``out_dir/extrapolation_block_size__<head>.png``: primary metric against the
    spatial-block side in degrees (log axis), one panel per extrapolation task with 2+ sizes.
    None (nothing drawn) without data."""
    from geobench.reporting.png import figure_stem

    df = block_size_table(records, head)
    if df.empty or df["score"].isna().all():
        return None
    sizes = sorted(set(df["deg"]))
    missing = [t for t in EXTRAPOLATION_TASKS if t not in set(df["task"])]
    note = f"Fewer than 2 block sizes so far for: {', '.join(missing)}." if missing else ""
    return _draw(df, "deg", Path(out_dir) / f"extrapolation_block_size__{figure_stem(head)}.png",
                 f"Primary metric against spatial-block size ({head} head; train 0.6, val 0.2; mean over seeds)",
                 "block side (degrees)", note, xticks=(sizes, [f"{d:g}" for d in sizes]), logx=True)

