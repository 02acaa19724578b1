"""The generalisation-gap figure: per global task, one line per key encoder over the three split
kinds of the grid (random, spatial block, Africa hold-out), y = the mean over seeds of the task's
primary metric. The US-only tasks have no Africa hold-out and are left out. Only grid cells count
(:func:`geobench.evaluation.grid.in_plan`), of the newest setting the leaderboard shows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geobench.evaluation.profiles import KEY_ENCODERS
from geobench.reporting.continent_bars import R2_FLOOR, encoder_colors, label_panel, task_order
from geobench.reporting.png import figure_stem, save_png

COLUMNS = ["task", "encoder", "kind", "mean", "std", "n_seeds", "metric", "split"]
MARKERS = ("o", "s", "^", "D", "P", "X", "h", "<", ">", "*", "d", "p")


def gap_data(records: list[dict], head: str = "linear", encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """Per (task, encoder, split kind): ``mean`` and ``std`` (ddof 1; NaN for one seed) over seeds
    of the primary metric, ``n_seeds``, ``metric`` (the primary metric's name) and ``split`` (the
    grid's split string). Global tasks (those with an Africa hold-out) and grid cells of ``head``
    only; rows ordered task, encoder (as ``encoders``), kind (random, spatial_block, continent)."""
    from geobench.evaluation.grid import SPLIT_KINDS, holdout_split
    from geobench.reporting.claims import seed_values

    sv = seed_values(records)
    if sv.empty:
        return pd.DataFrame(columns=COLUMNS)
    sv = sv[(sv["head"] == head) & sv["encoder"].isin(encoders)
            & sv["task"].map(lambda t: holdout_split(t) is not None)]
    metric = {r["task"]: r.get("primary_metric", "r2") for r in records if r.get("status") == "ok"}
    out = []
    for (task, enc, kind, split), g in sv.groupby(["task", "encoder", "kind", "split"]):
        v = g["value"].to_numpy(dtype=float)
        out.append((task, enc, kind, float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else np.nan, int(v.size),
                    metric.get(task, "r2"), split))
    df = pd.DataFrame(out, columns=COLUMNS)
    if df.empty:
        return df
    df["_t"] = df["task"].map({t: i for i, t in enumerate(task_order(df["task"]))})
    df["_e"] = df["encoder"].map({e: i for i, e in enumerate(encoders)})
    df["_k"] = df["kind"].map({k: i for i, k in enumerate(SPLIT_KINDS)})
    return df.sort_values(["_t", "_e", "_k"]).drop(columns=["_t", "_e", "_k"]).reset_index(drop=True)


def kind_label(kind: str, split: str) -> str:
    """Axis label of a split kind: ``random``, ``spatial block`` with its size, ``Africa hold-out``
    with zero-shot or its few-shot share."""
    from geobench.evaluation.splits import parse_split

    p = parse_split(split).params
    if kind == "spatial_block":
        return f"spatial block\n{p['deg']:g}°"
    if kind == "continent":
        shot = "zero-shot" if not p.get("fewshot") else f"few-shot {100 * p['fewshot']:g} %"
        return f"{p.get('name', 'continent')} hold-out\n{shot}"
    return kind


def plot_gap_lines(records: list[dict], out_dir: str | Path, head: str = "linear",
                   encoders: tuple[str, ...] = KEY_ENCODERS, floor: float = R2_FLOOR) -> Path | None:
    """Write ``out_dir/gap_lines__<head>.png``: one panel per global task (2 columns), one line
    per encoder (colour and marker) over random -> spatial block -> Africa hold-out, one shared
    legend; None when the records hold no grid cell of ``head`` on a global task. R² axes stop
    at ``floor``: a mean below it is drawn there as ▼ and its value printed above the panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from geobench.evaluation.grid import SPLIT_KINDS

    df = gap_data(records, head, encoders)
    if df.empty:
        return None
    encs = [e for e in encoders if e in set(df["encoder"])]
    colors = encoder_colors(encoders)  # by position in ``encoders``: the same colours in every figure
    markers = {e: ("x" if e == "constant" else MARKERS[i % len(MARKERS)]) for i, e in enumerate(encoders)}
    tasks = task_order(df["task"])
    ncol = 2 if len(tasks) > 1 else 1
    nrow = -(-len(tasks) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.0 * ncol, 2.6 * nrow + 1.0), squeeze=False)
    cut_any = False
    for ax, task in zip(axes.ravel(), tasks):
        d = df[df["task"] == task]
        metric = d["metric"].iloc[0]
        fl = floor if metric == "r2" else None
        kinds = [k for k in SPLIT_KINDS if k in set(d["kind"])]
        split_of = dict(zip(d["kind"], d["split"]))
        cut = []
        for j, enc in enumerate(encs):
            e = d[d["encoder"] == enc].set_index("kind").reindex(kinds)
            x = np.arange(len(kinds)) + (j - (len(encs) - 1) / 2) * 0.04  # dodge: overlapping points stay apart
            y = e["mean"].to_numpy(dtype=float)
            low = np.zeros(y.shape, dtype=bool) if fl is None else np.nan_to_num(y, nan=0.0) < fl
            yy = np.where(low, fl if fl is not None else 0.0, y)
            ref = enc == "constant"
            ax.plot(x, yy, color=colors[enc], lw=1.0 if ref else 1.3, ls="--" if ref else "-", zorder=2)
            ax.plot(x[~low], yy[~low], ls="none", marker=markers[enc], color=colors[enc], ms=4.5, zorder=3,
                    mec="white" if not ref else colors[enc], mew=0.4)
            if low.any():
                ax.plot(x[low], yy[low], ls="none", marker="v", color=colors[enc], mec="black", mew=0.6, ms=6,
                        zorder=4, clip_on=False)
                cut += [(kinds[i].replace("continent", "Africa").replace("_", " "), enc, float(y[i]))
                        for i in np.flatnonzero(low)]
        cut_any |= bool(cut)
        hi = float(np.nanmax(d["mean"]))
        lo = float(np.nanmin(d["mean"]))
        bottom = min(0.0, lo) if fl is None else max(fl, min(0.0, lo))
        ax.set_ylim(bottom - (0.04 if bottom < 0 else 0.0), max(1.0, hi) + 0.03 if hi > 0.85 else max(hi, 0.1) * 1.1)
        ax.axhline(0, color="black", lw=0.5, zorder=1)
        ax.set_xlim(-0.35, len(kinds) - 0.65)
        ax.set_xticks(range(len(kinds)), [kind_label(k, split_of[k]) for k in kinds], fontsize=7.5)
        ax.tick_params(labelsize=7.5)
        ax.grid(axis="y", lw=0.3, alpha=0.6, zorder=0)
        label_panel(ax, task, metric, cut, floor, 64, 6.3)
    for ax in axes.ravel()[len(tasks):]:
        ax.set_axis_off()
    handles = [Line2D([], [], color=colors[e], marker=markers[e], ls="--" if e == "constant" else "-", ms=5,
                      mec="white" if e != "constant" else colors[e], mew=0.4) for e in encs]
    labels = list(encs)
    if cut_any:
        handles.append(Line2D([], [], ls="none", marker="v", color="#bbbbbb", mec="black", mew=0.6, ms=6))
        labels.append(f"mean R² below {floor:g}: drawn at the axis floor (value above the panel)")
    seeds = sorted(set(df["n_seeds"]))
    seeds = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]}"
    fig.suptitle(f"From random to spatial-block to Africa hold-out splits: {head} head\n"
                 f"test score, mean over seeds ({seeds} per point); points of one split are spread sideways "
                 "so that they do not hide each other", fontsize=8.5)
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 0.965), h_pad=0.8)
    return save_png(fig, Path(out_dir) / f"gap_lines__{figure_stem(head)}.png", dpi=130)
