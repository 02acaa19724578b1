"""Per-continent heat maps from run records: encoders x continents, one figure per task, head
and split (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geobench.evaluation.records import latest_by_key, read_records
from geobench.reporting.png import figure_stem, save_png

CONT_ORDER = ["Africa", "Asia", "Europe", "North America", "South America", "Oceania", "Antarctica", "Ocean"]


def continent_table(records: list[dict], task: str, head: str, split: str) -> tuple[pd.DataFrame, dict]:
    """encoders x (Global + continents) mean primary metric over seeds; and n per continent."""
    from geobench.evaluation.splits import parse_split
    from geobench.reporting.leaderboard import drop_unscored

    split = str(parse_split(split))
    records, _ = latest_by_key(drop_unscored(records))
    rs = [r for r in records if r["task"] == task and r["head"] == head and r["split"] == split
          and r.get("status") == "ok"]
    if not rs:
        return pd.DataFrame(), {}
    metric = rs[0]["primary_metric"]
    rows, ns = {}, {}
    for r in rs:
        d = rows.setdefault(r["encoder"], {})
        d.setdefault("Global", []).append(r["metrics"][metric])
        for c, m in (r.get("per_continent") or {}).items():
            if m.get(metric) is not None and m.get("n", 0) >= 10:
                d.setdefault(c, []).append(m[metric])
                ns.setdefault(c, []).append(m["n"])
    table = pd.DataFrame({e: {c: float(np.mean(v)) for c, v in d.items()} for e, d in rows.items()}).T
    cols = ["Global"] + [c for c in CONT_ORDER if c in table.columns] + \
        sorted(set(table.columns) - set(CONT_ORDER) - {"Global"})
    table = table[cols].sort_values("Global", ascending=False)
    return table, {c: int(np.median(v)) for c, v in ns.items()}


def plot_continents(records: list[dict], task: str, out: str | Path, *, head: str = "linear",
                    split: str = "random") -> Path | None:
    """Heat map: encoders (rows, best first) x continents, annotated with the metric value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table, ns = continent_table(records, task, head, split)
    if table.empty:
        return None
    metric = "R²" if any(r.get("primary_metric") == "r2" for r in records if r["task"] == task) else "accuracy"
    vals = table.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.1 * vals.shape[1] + 2.5, 0.42 * vals.shape[0] + 1.8))
    lo = np.nanmin(vals) if metric != "R²" else max(np.nanmin(vals), -0.5)
    im = ax.imshow(np.clip(vals, lo, None), cmap="viridis", aspect="auto", vmin=lo, vmax=np.nanmax(vals))
    ax.set_yticks(range(len(table)), table.index)
    labels = [c if c == "Global" else f"{c}\n(n={ns.get(c, '?')})" for c in table.columns]
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            if np.isfinite(vals[i, j]):
                ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if vals[i, j] < (lo + np.nanmax(vals)) / 2 else "black")
    ax.axvline(0.5, color="white", lw=2)
    fig.colorbar(im, ax=ax, label=metric, fraction=0.03)
    ax.set_title(f"{task}: test {metric} per continent ({head} head, {split} split, mean over seeds)", fontsize=9)
    fig.tight_layout()
    return save_png(fig, out, dpi=110)


def plot_continents_from_runs(results_dir: str | Path, task: str, records: list[dict] | None = None,
                              **kw) -> Path | None:
    """The continent heat map of ``task`` under ``results_dir/continents/`` (``records``: the
    runs, read from ``runs.jsonl`` when not given)."""
    results_dir = Path(results_dir)
    if records is None:
        records = read_records(results_dir / "runs.jsonl")
    from geobench.evaluation.splits import parse_split

    head, split = kw.get("head", "linear"), kw.get("split", "random")
    name = f"{task}__{head}__{figure_stem(str(parse_split(split)))}.png"
    return plot_continents(records, task, results_dir / "continents" / name, **kw)
