"""The per-continent bar figure: for one head and split kind, one panel per task with grouped
bars, x = region (Global, then each continent with enough test points), one bar per key encoder
(the label-only ``constant`` hatched grey as the reference); bar = mean over seeds of the task's
primary metric on that region's test points, error bar = standard deviation over seeds (none for
a single seed).

Tasks whose test points all lie on one continent (the US-only tasks) have a single region, their
whole test set: they are not given a panel each but share one panel per metric, x = task, with
the Global bar only (their one continent would repeat it). R² can be hugely negative on a
continent: R² axes stop at ``R2_FLOOR``, a bar below is cut there, marked ▼, and its mean printed
above the panel. Only grid cells count (:func:`geobench.evaluation.grid.in_plan`), of the newest
setting the leaderboard shows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geobench.evaluation.profiles import KEY_ENCODERS
from geobench.reporting.continents import CONT_ORDER
from geobench.reporting.png import figure_stem, save_png

COLUMNS = ["task", "region", "encoder", "mean", "std", "n_seeds", "n_points", "metric", "split"]
MIN_N = 50  # a continent's median test points per row must reach this (as geo.continents' min_n)
R2_FLOOR = -0.5  # R² axes stop here; bars below are cut and marked
METRIC_LABEL = {"r2": "R²"}  # axis and title names of metrics; any other metric shows its own name
SHORT = {"North America": "N. America", "South America": "S. America"}  # tick labels


def task_order(tasks) -> list[str]:
    """``tasks`` in report order: the grid's global tasks (GLOBAL_TASKS order), then the rest by name."""
    from geobench.evaluation.grid import GLOBAL_TASKS

    tasks = set(tasks)
    return [t for t in GLOBAL_TASKS if t in tasks] + sorted(tasks - set(GLOBAL_TASKS))


def encoder_colors(encoders) -> dict[str, str]:
    """A fixed colour per encoder (tab10 without its grey; ``constant`` grey), shared by the figures."""
    import matplotlib

    pal = [c for i, c in enumerate(matplotlib.colormaps["tab10"].colors) if i != 7]
    pal += list(matplotlib.colormaps["tab20b"].colors)
    others = [e for e in encoders if e != "constant"]
    out = {e: matplotlib.colors.to_hex(pal[i % len(pal)]) for i, e in enumerate(others)}
    out["constant"] = "#9a9a9a"
    return out


def _check_kind(kind: str) -> None:
    from geobench.errors import InputError
    from geobench.evaluation.grid import SPLIT_KINDS

    if kind not in SPLIT_KINDS:
        raise InputError(f"unknown split kind {kind!r}; use one of {', '.join(SPLIT_KINDS)}")


def _samples(records: list[dict], head: str, kind: str, encoders) -> pd.DataFrame:
    """One row per (task, region, encoder, seed): value (None kept) and test points ``n``."""
    from geobench.evaluation.grid import in_plan
    from geobench.reporting.leaderboard import shown_settings

    rows = []
    for (h, split, task, enc), rs in shown_settings(records).items():
        if h != head or split.split(":")[0] != kind or enc not in encoders or not in_plan(task, split):
            continue
        for r in rs:
            if r.get("status") != "ok":
                continue
            metric = r.get("primary_metric", "r2")
            n = r["metrics"].get("n", r.get("n_test"))
            rows.append((task, "Global", enc, int(r["seed"]), r["metrics"].get(metric), n, metric, split))
            for c, m in (r.get("per_continent") or {}).items():
                rows.append((task, c, enc, int(r["seed"]), m.get(metric), m.get("n"), metric, split))
    return pd.DataFrame(rows, columns=["task", "region", "encoder", "seed", "value", "n", "metric", "split"])


def continent_bar_data(records: list[dict], head: str = "linear", kind: str = "random",
                       encoders: tuple[str, ...] = KEY_ENCODERS, min_n: int = MIN_N) -> pd.DataFrame:
    """Per (task, region, encoder): ``mean`` and ``std`` (ddof 1; NaN for one seed) over seeds of
    the primary metric on the region's test points, ``n_seeds`` (seeds with a value), ``n_points``
    (median test points over those rows), ``metric`` and ``split``. Regions: ``Global`` (the whole
    test set), then each continent whose median test points over the task's rows is at least
    ``min_n`` and that is not the whole test set. Grid cells of ``head`` and split ``kind``
    (``random``, ``spatial_block``, ``continent``) only; rows ordered task, region, encoder."""
    _check_kind(kind)
    s = _samples(records, head, kind, encoders)
    if s.empty:
        return pd.DataFrame(columns=COLUMNS)
    s["n"] = pd.to_numeric(s["n"], errors="coerce")
    med = s.groupby(["task", "region"])["n"].median()
    whole = {t: med[(t, "Global")] for t in s["task"].unique() if (t, "Global") in med.index}
    keep = {(t, reg) for (t, reg), n in med.items()
            if reg == "Global" or (n >= min_n and n != whole.get(t))}
    s = s[np.array([k in keep for k in zip(s["task"], s["region"])], dtype=bool) & s["value"].notna().to_numpy()]
    out = []
    for (task, region, enc), g in s.groupby(["task", "region", "encoder"], sort=False):
        v = g["value"].to_numpy(dtype=float)
        std = float(v.std(ddof=1)) if v.size > 1 else np.nan
        out.append((task, region, enc, float(v.mean()), std, int(v.size), float(np.median(g["n"])),
                    g["metric"].iloc[0], g["split"].iloc[0]))
    df = pd.DataFrame(out, columns=COLUMNS)
    regions = ["Global"] + CONT_ORDER + sorted(set(df["region"]) - set(CONT_ORDER) - {"Global"})
    df["_t"] = df["task"].map({t: i for i, t in enumerate(task_order(df["task"]))})
    df["_r"] = df["region"].map({r: i for i, r in enumerate(regions)})
    df["_e"] = df["encoder"].map({e: i for i, e in enumerate(encoders)})
    return df.sort_values(["_t", "_r", "_e"]).drop(columns=["_t", "_r", "_e"]).reset_index(drop=True)


def fmt_value(v: float) -> str:
    """A clipped score for a note: 2 decimals below 1 in size, 1 below 100, else none."""
    return f"{v:.2f}" if abs(v) < 1 else f"{v:.1f}" if abs(v) < 100 else f"{v:.0f}"


def label_panel(ax, title: str, metric: str, cut: list[tuple[str, str, float]], floor: float,
                width: int, size: float) -> None:
    """A panel's y label (the metric), bold title on the left and, when bars or points were cut at
    ``floor``, the :func:`clip_note` (``width`` characters a line, font ``size``) on the right."""
    ax.set_ylabel(f"test {METRIC_LABEL.get(metric, metric)}", fontsize=8)
    ax.set_title(title, fontsize=9, loc="left", fontweight="bold")
    if cut:
        ax.set_title(clip_note(cut, floor, width), fontsize=size, loc="right")


def clip_note(cut: list[tuple[str, str, float]], floor: float, width: int = 70) -> str:
    """'▼ below <floor>: group: encoder value, …; …' for the (group, encoder, value) cut at ``floor``."""
    import textwrap

    if not cut:
        return ""
    by: dict[str, list[str]] = {}
    for g, enc, v in cut:
        by.setdefault(g, []).append(f"{enc}\u00a0{fmt_value(v)}")  # no line break inside an item
    text = f"▼ below {floor:g}: " + "; ".join(f"{SHORT.get(g, g).replace(' ', chr(160))}: {', '.join(v)}"
                                           for g, v in by.items())
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))


def draw_bars(ax, d: pd.DataFrame, groups: list[str], key: str, encoders: list[str], colors: dict,
              floor: float | None) -> list[tuple[str, str, float]]:
    """Grouped bars on ``ax``: x = ``groups`` (values of column ``key``), one bar per encoder (the
    ``constant`` hatched grey); bars below ``floor`` are cut there and marked with a black ▼.
    Returns the cut bars as (group, encoder, mean)."""
    width = 0.86 / len(encoders)
    cut = []
    for j, enc in enumerate(encoders):
        e = d[d["encoder"] == enc].set_index(key).reindex(groups)
        x = np.arange(len(groups)) - 0.43 + width * (j + 0.5)
        mean, std = e["mean"].to_numpy(dtype=float), e["std"].to_numpy(dtype=float)
        low = np.zeros_like(mean, dtype=bool) if floor is None else np.nan_to_num(mean, nan=0.0) < floor
        h = np.where(low, floor if floor is not None else 0.0, mean)
        ref = enc == "constant"
        ax.bar(x, h, width, color="#d4d4d4" if ref else colors[enc], hatch="////" if ref else None,
               edgecolor="#6e6e6e" if ref else "none", linewidth=0.4, label=enc, zorder=2)
        ok = np.isfinite(std) & ~low
        if ok.any():
            ax.errorbar(x[ok], mean[ok], yerr=std[ok], fmt="none", ecolor="black", elinewidth=0.6,
                        capsize=1.2, capthick=0.6, zorder=3)
        if low.any():
            ax.plot(x[low], np.full(int(low.sum()), floor), "v", color="black", ms=3.5, zorder=4, clip_on=False)
            cut += [(groups[i], enc, float(mean[i])) for i in np.flatnonzero(low)]
    ax.axhline(0, color="black", lw=0.5, zorder=1)
    ax.set_xlim(-0.5, len(groups) - 0.5)
    ax.grid(axis="y", lw=0.3, alpha=0.6, zorder=0)
    ax.tick_params(labelsize=7.5)
    return cut


def _ylim(ax, d: pd.DataFrame, floor: float | None) -> None:
    top = np.nanmax((d["mean"] + d["std"].fillna(0)).to_numpy(dtype=float))
    bottom = np.nanmin(d["mean"].to_numpy(dtype=float))
    lo = min(0.0, bottom) if floor is None else max(floor, min(0.0, bottom))
    ax.set_ylim(lo - (0.03 if lo < 0 else 0.0), max(1.0, top) + 0.02 if top > 0.9 else max(top, 0.1) * 1.08)


def plot_continent_bars(records: list[dict], out_dir: str | Path, head: str = "linear", kind: str = "random",
                        encoders: tuple[str, ...] = KEY_ENCODERS, floor: float = R2_FLOOR) -> Path | None:
    """Write ``out_dir/continent_bars__<head>__<kind>.png`` (2-column grid of task panels, one
    shared legend); None when the records hold no grid cell of ``head`` and ``kind``. R² axes
    stop at ``floor``: a bar below it is cut there, marked ▼, and its mean printed above the panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    df = continent_bar_data(records, head, kind, encoders)
    if df.empty:
        return None
    encs = [e for e in encoders if e in set(df["encoder"])]
    colors = encoder_colors(encoders)  # by position in ``encoders``: the same colours in every figure
    nreg = df.groupby("task")["region"].nunique()
    multi = [t for t in task_order(df["task"]) if nreg[t] > 1]
    single = [t for t in task_order(df["task"]) if nreg[t] == 1]
    panels = [(t, df[df["task"] == t], "region") for t in multi]
    for metric in dict.fromkeys(df[df["task"].isin(single)]["metric"]):
        ts = [t for t in single if df[df["task"] == t]["metric"].iloc[0] == metric]
        panels.append((" / ".join(ts) + " (whole test set)", df[df["task"].isin(ts)], "task"))
    ncol = 2 if len(panels) > 1 else 1
    nrow = -(-len(panels) // ncol)
    legend_in_cell = ncol == 2 and len(panels) % 2 == 1  # the free cell holds the legend
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol, 2.45 * nrow + (0.6 if legend_in_cell else 1.1)),
                             squeeze=False)
    cut_any = False
    for ax, (title, d, key) in zip(axes.ravel(), panels):
        groups = list(dict.fromkeys(d[key]))
        metric = d["metric"].iloc[0]
        fl = floor if metric == "r2" else None
        cut = draw_bars(ax, d, groups, key, encs, colors, fl)
        cut_any |= bool(cut)
        _ylim(ax, d, fl)
        n = d.groupby(key)["n_points"].median()
        ax.set_xticks(range(len(groups)), [f"{SHORT.get(g, g)}\nn={n[g]:,.0f}" for g in groups],
                      fontsize=7.5 if len(groups) < 8 else 6.8)
        label_panel(ax, title, metric, cut, floor, 62, 6.5)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    if cut_any:
        handles.append(Line2D([], [], ls="none", marker="v", color="black", ms=4))
        labels.append(f"mean R² below {floor:g}: bar cut at\nthe axis floor (value above the panel)")
    seeds = sorted(set(df["n_seeds"]))
    split = df["split"].iloc[0] if df["split"].nunique() == 1 else kind
    seeds = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]}"
    fig.suptitle(f"Test score per continent: {head} head, {split} split\nbars: mean over seeds ({seeds} per bar); "
                 f"error bars: std over seeds (none for 1 seed); n: median test points; continents with "
                 f"n < {MIN_N} left out", fontsize=8.5)
    if legend_in_cell:
        spare = axes.ravel()[len(panels)]
        spare.legend(handles, labels, loc="center", ncol=2, fontsize=8, frameon=False, title="encoder",
                     title_fontsize=8.5)
        fig.tight_layout(rect=(0, 0, 1, 0.965), h_pad=0.6)
    else:
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0.9 / fig.get_figheight(), 1, 0.965), h_pad=0.6)
    out = Path(out_dir) / f"continent_bars__{figure_stem(head)}__{figure_stem(kind)}.png"
    return save_png(fig, out, dpi=130)
