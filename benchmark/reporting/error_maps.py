"""Africa hold-out error maps from the stored per-point test predictions: where on the held-out
continent each key encoder errs. Regression: the residual ``pred - y`` in the task's unit;
classification: correct / wrong with an African class / wrong with a class that never occurs
in Africa (the zero-shot failure: predicting the classes of other continents).
Coordinates are (lon, lat) float64 degrees throughout."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geobench.reporting.png import figure_stem, save_png

# panels, in this order, of the encoders that have records (learned, parameter-free, untrained twin)
ERROR_MAP_ENCODERS = ("satclip-bm", "geoclip", "csp-bm", "sh:L=40", "sh_siren_random")
CORRECT, WRONG_AFRICAN, WRONG_NON_AFRICAN = "correct", "wrong, African class", "wrong, non-African class"
CATEGORIES = (CORRECT, WRONG_AFRICAN, WRONG_NON_AFRICAN)
CATEGORY_COLORS = ("#009E73", "#E69F00", "#7B3294")  # Okabe-Ito green, orange; purple
EXTENT = (-20.0, 55.0, -37.0, 40.0)  # lon min, lon max, lat min, lat max (degrees): Africa and Madagascar
UNIT_LABELS = {"degC": "°C"}  # display form of a declared TaskSpec.unit


def _holdout(task: str, split: str | None) -> str:
    from geobench.errors import InputError
    from geobench.evaluation.grid import holdout_split
    from geobench.evaluation.splits import parse_split

    split = split or holdout_split(task)
    if split is None:
        raise InputError(f"task {task!r} has no Africa hold-out split in the grid (geobench.evaluation.grid."
                         "holdout_split); pass split='continent:...' explicitly or choose a global task")
    return str(parse_split(split))


def _predictions(results: Path, records: list[dict], task: str, split: str, encoders: tuple[str, ...],
                 head: str, seed: int) -> dict[str, pd.DataFrame]:
    """encoder -> its African test predictions (``read_predictions`` columns), in ``encoders``
    order; an encoder without a shown ok row or without its predictions file is skipped, printed."""
    from geobench.reporting.africa import read_predictions
    from geobench.reporting.leaderboard import shown_settings

    shown = shown_settings(records)
    out = {}
    for enc in encoders:
        rows = [r for r in shown.get((head, split, task, enc), []) if r.get("status") == "ok" and r["seed"] == seed]
        if not rows:
            print(f"error maps: skipping {enc}: no ok record of {task} / {head} / {split} / seed {seed}")
            continue
        r = rows[-1]
        if not r.get("predictions") or not (Path(results) / r["predictions"]).is_file():
            print(f"error maps: skipping {enc}: its predictions file {r.get('predictions')} is not under {results} "
                  "(predictions are not committed; re-run the cell with --force to write it)")
            continue
        df = read_predictions(Path(results), r)
        df = df[df["continent"] == "Africa"].reset_index(drop=True)
        if df.empty:
            print(f"error maps: skipping {enc}: its predictions hold no African test point")
            continue
        out[enc] = df
    return out


def unit_label(task: str) -> str:
    """The task's declared unit for axis labels (``TaskSpec.unit``; ``degC`` as °C), or a note
    that it declares none."""
    from geobench.tasks.base import get_spec

    unit = (get_spec(task).unit or "").strip()
    return UNIT_LABELS.get(unit, unit) if unit else "unit not declared by the task"


def residual_map_data(results: str | Path, records: list[dict], task: str = "elevation",
                      encoders: tuple[str, ...] = ERROR_MAP_ENCODERS, head: str = "linear", seed: int = 0,
                      *, split: str | None = None) -> pd.DataFrame:
    """Columns encoder, lon, lat, residual (``pred - y`` in the task's unit, e.g. metres) of each
    African test point, per encoder of ``encoders`` that has predictions under ``results``.
    ``split``: default the task's Africa hold-out (zero-shot for the regression tasks)."""
    from geobench.errors import InputError
    from geobench.tasks.base import get_spec

    if get_spec(task).kind != "regression":
        raise InputError(f"residual maps need a regression task; {task!r} is {get_spec(task).kind} "
                         "(use class_error_data / plot_africa_class_errors)")
    preds = _predictions(Path(results), records, task, _holdout(task, split), encoders, head, seed)
    cols = ["encoder", "lon", "lat", "residual"]
    frames = [pd.DataFrame({"encoder": enc, "lon": df["lon"].to_numpy(np.float64),
                            "lat": df["lat"].to_numpy(np.float64),
                            "residual": df["pred"].to_numpy(np.float64) - df["y"].to_numpy(np.float64)})
              for enc, df in preds.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def residual_summary(data: pd.DataFrame) -> pd.DataFrame:
    """Per encoder (index, first-seen order): rmse, mae, bias (mean residual), all in the task's
    unit, and n (points) of :func:`residual_map_data`'s frame."""
    g = data.groupby("encoder", sort=False)["residual"]
    return pd.DataFrame({"rmse": g.apply(lambda r: float(np.sqrt(np.mean(np.square(r))))),
                         "mae": g.apply(lambda r: float(np.mean(np.abs(r)))),
                         "bias": g.mean().astype(float), "n": g.size().astype(int)})


def symmetric_limit(data: pd.DataFrame, q: float = 98.0) -> float:
    """The colour limit L of the residual maps (colours span -L..L): the median over encoders of
    each encoder's ``q``-th percentile of |residual|. One encoder whose residuals explode (e.g.
    ``sh:L=40`` extrapolating) then saturates instead of washing out every other panel."""
    per = data.groupby("encoder", sort=False)["residual"].apply(lambda r: float(np.percentile(np.abs(r), q)))
    return float(np.median(per)) if len(per) else 0.0


def class_error_data(results: str | Path, records: list[dict], task: str = "biome",
                     encoders: tuple[str, ...] = ERROR_MAP_ENCODERS, head: str = "linear", seed: int = 0,
                     *, split: str | None = None) -> pd.DataFrame:
    """Columns encoder, lon, lat, category (ordered categorical of :data:`CATEGORIES`) of each
    African test point: ``correct``; ``wrong, African class`` (the predicted class is the true
    label of some African test point of that file); ``wrong, non-African class`` (it never is).
    ``split``: default the task's Africa hold-out (biome zero-shot, ecoregions few-shot 1 %)."""
    from geobench.errors import InputError
    from geobench.tasks.base import get_spec

    if get_spec(task).kind != "classification":
        raise InputError(f"class error maps need a classification task; {task!r} is {get_spec(task).kind} "
                         "(use residual_map_data / plot_africa_residuals)")
    preds = _predictions(Path(results), records, task, _holdout(task, split), encoders, head, seed)
    frames = []
    for enc, df in preds.items():
        y, pred = df["y"].to_numpy(), df["pred"].to_numpy()
        cat = np.where(pred == y, 0, np.where(np.isin(pred, np.unique(y)), 1, 2))
        frames.append(pd.DataFrame({"encoder": enc, "lon": df["lon"].to_numpy(np.float64),
                                    "lat": df["lat"].to_numpy(np.float64),
                                    "category": pd.Categorical.from_codes(cat, CATEGORIES, ordered=True)}))
    if not frames:
        return pd.DataFrame({"encoder": [], "lon": [], "lat": [],
                             "category": pd.Categorical([], CATEGORIES, ordered=True)})
    return pd.concat(frames, ignore_index=True)


def class_error_summary(data: pd.DataFrame) -> pd.DataFrame:
    """Per encoder (index, first-seen order): n, the count of each category (columns named as
    :data:`CATEGORIES`) and its share of n (``share <category>``)."""
    counts = pd.crosstab(data["encoder"], data["category"]).reindex(columns=list(CATEGORIES), fill_value=0)
    counts = counts.reindex(list(dict.fromkeys(data["encoder"]))).astype(int)
    counts.columns = list(CATEGORIES)
    counts.index.name = "encoder"
    n = counts.sum(axis=1)
    out = pd.concat([n.rename("n"), counts], axis=1)
    for c in CATEGORIES:
        out[f"share {c}"] = counts[c] / n
    return out


def _africa_axes(ax) -> None:
    """Africa extent, plate carrée with a cos(mid-latitude) aspect, thin coastline, no ticks."""
    try:
        import shapely

        from geobench.tasks.geometry import land_geometry

        land = shapely.clip_by_rect(land_geometry(), EXTENT[0], EXTENT[2], EXTENT[1], EXTENT[3]).simplify(0.05)
        for poly in shapely.get_parts(land):
            if poly.geom_type == "Polygon":
                x, y = poly.exterior.xy
                ax.plot(x, y, color="0.25", lw=0.35, zorder=0)
    except Exception as e:  # the coastline is decoration; the points alone still show the map
        print(f"error maps: no coastline ({e})")
    ax.set_xlim(EXTENT[0], EXTENT[1])
    ax.set_ylim(EXTENT[2], EXTENT[3])
    ax.set_aspect(1.0 / np.cos(np.radians((EXTENT[2] + EXTENT[3]) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])


def _split_words(split: str) -> str:
    from geobench.evaluation.splits import parse_split

    f = float(parse_split(split).params.get("fewshot", 0.0))
    if f == 0:
        return "zero-shot hold-out (no African training points)"
    return f"few-shot hold-out ({f:.0%} of Africa in training)"


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _panels(n_panels: int, top: float, bottom: float, right: float):
    """A figure with one row of map axes sized to the Africa extent, ``top``/``bottom``/``right``
    inches left free for titles, legend and colour bar (fixed-aspect maps defeat the layout engines)."""
    import matplotlib.pyplot as plt

    pw, gap, left = 2.45, 0.1, 0.08  # inches
    ph = pw * (EXTENT[3] - EXTENT[2]) / (EXTENT[1] - EXTENT[0]) / np.cos(np.radians((EXTENT[2] + EXTENT[3]) / 2))
    w, h = left + n_panels * pw + (n_panels - 1) * gap + right, top + ph + bottom
    fig = plt.figure(figsize=(w, h))
    axes = [fig.add_axes(((left + i * (pw + gap)) / w, bottom / h, pw / w, ph / h)) for i in range(n_panels)]
    return fig, axes


def _n_words(summ: pd.DataFrame) -> str:
    n = summ["n"].unique()
    if n.size == 1:
        return f"n={int(n[0]):,} test points"
    return "test points per panel: " + ", ".join(f"{v:,}" for v in summ["n"])


def _marker_size(n: int) -> float:
    return float(np.clip(2.0e4 / max(n, 1), 1.0, 14.0))  # ~1 pt² for 20k points, bigger for sparse stations


def plot_africa_residuals(results: str | Path, records: list[dict], out_dir: str | Path, task: str = "elevation",
                          *, encoders: tuple[str, ...] = ERROR_MAP_ENCODERS, head: str = "linear", seed: int = 0,
                          split: str | None = None, q: float = 98.0) -> Path | None:
    """One row of Africa maps, each African test point coloured by its residual ``pred - y`` (task
    unit, diverging colours centred at 0, shared limits ±:func:`symmetric_limit`); panel titles
    give RMSE and MAE. Written to ``out_dir/africa_residuals__<task>__<head>__seed<k>.png``;
    None when no encoder has predictions."""
    import matplotlib

    matplotlib.use("Agg")
    split = _holdout(task, split)
    data = residual_map_data(results, records, task, encoders, head, seed, split=split)
    if data.empty:
        return None
    summ, lim, unit = residual_summary(data), symmetric_limit(data, q), unit_label(task)
    lim = lim if lim > 0 else 1.0
    fig, axes = _panels(len(summ), top=0.9, bottom=0.08, right=0.95)
    for ax, (enc, s) in zip(axes, summ.iterrows()):
        d = data[data["encoder"] == enc]
        sc = ax.scatter(d["lon"], d["lat"], c=d["residual"], cmap="RdBu_r", vmin=-lim, vmax=lim,
                        s=_marker_size(len(d)), linewidths=0, rasterized=True)
        _africa_axes(ax)
        ax.set_title(f"{enc}\nRMSE {_num(s['rmse'])}, MAE {_num(s['mae'])} ({unit})", fontsize=9)
    w, h = fig.get_size_inches()
    cax = fig.add_axes(((w - 0.82) / w, 0.08 / h, 0.13 / w, axes[0].get_position().height))
    cb = fig.colorbar(sc, cax=cax, extend="both")
    cb.set_label(f"residual pred − y ({unit})", fontsize=9)
    cb.ax.tick_params(labelsize=8)
    fig.suptitle(f"{task}: residuals over Africa, {_split_words(split)}; {head} head, seed {seed}, {_n_words(summ)}"
                 f"\ncolours saturate beyond ±{_num(lim)} {unit} (median over panels of the {q:g}th "
                 "percentile of |residual|); red = predicted too high, blue = too low", fontsize=10,
                 y=1 - 0.06 / h, va="top")
    name = f"africa_residuals__{figure_stem(task)}__{figure_stem(head)}__seed{seed}.png"
    return save_png(fig, Path(out_dir) / name, dpi=100)


def plot_africa_class_errors(results: str | Path, records: list[dict], out_dir: str | Path, task: str = "biome",
                             *, encoders: tuple[str, ...] = ERROR_MAP_ENCODERS, head: str = "linear", seed: int = 0,
                             split: str | None = None) -> Path | None:
    """One row of Africa maps, each African test point coloured correct / wrong with an African
    class / wrong with a non-African class; counts and shares in the panel titles. Written to
    ``out_dir/africa_class_errors__<task>__<head>__seed<k>.png``; None when no encoder has predictions."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.lines import Line2D

    split = _holdout(task, split)
    data = class_error_data(results, records, task, encoders, head, seed, split=split)
    if data.empty:
        return None
    summ = class_error_summary(data)
    fig, axes = _panels(len(summ), top=1.3, bottom=0.4, right=0.08)
    short = {CORRECT: "correct", WRONG_AFRICAN: "wrong, Afr.", WRONG_NON_AFRICAN: "wrong, non-Afr."}
    for ax, (enc, s) in zip(axes, summ.iterrows()):
        d = data[data["encoder"] == enc]
        for cat, color in zip(CATEGORIES, CATEGORY_COLORS):
            m = d["category"] == cat
            ax.scatter(d.loc[m, "lon"], d.loc[m, "lat"], color=color, s=_marker_size(len(d)), linewidths=0,
                       rasterized=True)
        _africa_axes(ax)
        lines = [f"{short[c]} {int(s[c]):,} ({s[f'share {c}']:.1%})" for c in CATEGORIES]
        ax.set_title(f"{enc}\n" + "\n".join(lines), fontsize=9)
    handles = [Line2D([], [], ls="", marker="o", ms=6, color=c, label=lab)
               for lab, c in zip(CATEGORIES, CATEGORY_COLORS)]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=9, frameon=False)
    fig.suptitle(f"{task}: errors over Africa, {_split_words(split)}; {head} head, seed {seed}, "
                 f"{_n_words(summ)}\nnon-African class = a class that no African test point "
                 "has: the probe answers with another continent's class", fontsize=10,
                 y=1 - 0.06 / fig.get_size_inches()[1], va="top")
    name = f"africa_class_errors__{figure_stem(task)}__{figure_stem(head)}__seed{seed}.png"
    return save_png(fig, Path(out_dir) / name, dpi=100)
