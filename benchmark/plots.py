"""Per-continent comparison plots from run records (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geobench.errors import GeobenchError
from geobench.evaluation.records import latest_by_key, read_records

CONT_ORDER = ["Africa", "Asia", "Europe", "North America", "South America", "Oceania", "Antarctica", "Ocean"]


def continent_table(records: list[dict], task: str, head: str, split: str) -> tuple[pd.DataFrame, dict]:
    """encoders x (Global + continents) mean primary metric over seeds; and n per continent."""
    from geobench.evaluation.splits import parse_split

    split = str(parse_split(split))
    records, _ = latest_by_key(records)
    rs = [r for r in records if r["task"] == task and r["head"] == head and r["split"] == split
          and r.get("status") == "ok"]
    if not rs:
        return pd.DataFrame(), {}
    metric = rs[0]["primary_metric"]
    rows, ns = {}, {}
    for r in rs:
        d = rows.setdefault(r["encoder"], {})
        d.setdefault("Global", []).append(r["metrics"][metric])
        for c, m in r["per_continent"].items():
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


MAX_FIGURE_BYTES = 500_000  # committed figures stay below this


def save_png(fig, out: str | Path, dpi: int, *, max_bytes: int = MAX_FIGURE_BYTES) -> Path:
    """Save ``fig`` as an 8-bit palette PNG (256 colours: near-lossless for heat maps, line
    plots and the scatter maps) under ``max_bytes``, then close it. When the PNG is too large
    it is re-rendered at a lower dpi (down to half of ``dpi``); if it still does not fit, a
    FigureTooLargeError names the file and nothing is written (an existing file is kept)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from geobench.cache import atomic_write_bytes

    out = Path(out)
    try:
        for d in (dpi, int(dpi * 0.8), int(dpi * 0.65), dpi // 2):
            buf = io.BytesIO()
            fig.savefig(buf, dpi=d, format="png")
            img = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
            png = io.BytesIO()
            img.save(png, format="png", optimize=True)
            if png.tell() <= max_bytes:
                out.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(out, png.getvalue())
                return out
    finally:
        plt.close(fig)
    raise FigureTooLargeError(f"{out}: {png.tell():,} bytes at dpi {d} still exceeds the {max_bytes:,}-byte "
                              "figure budget; draw fewer points or panels (the file was not written)")


class FigureTooLargeError(GeobenchError):
    """A figure cannot be saved under the size budget."""


def plot_continents_from_runs(results_dir: str | Path, task: str, records: list[dict] | None = None,
                              **kw) -> Path | None:
    """The continent heat map of ``task`` under ``results_dir/continents/`` (``records``: the
    runs, read from ``runs.jsonl`` when not given)."""
    results_dir = Path(results_dir)
    if records is None:
        records = read_records(results_dir / "runs.jsonl")
    from geobench.evaluation.splits import parse_split

    head, split = kw.get("head", "linear"), kw.get("split", "random")
    safe = str(parse_split(split)).replace(":", "_").replace("=", "")
    return plot_continents(records, task, results_dir / "continents" / f"{task}__{head}__{safe}.png", **kw)