"""The Africa ecoregions figure: true ecoregions over Africa next to each encoder's predictions
under the few-shot (1 %) hold-out, drawn from the stored per-point predictions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geobench.evaluation.grid import AFRICA_FEWSHOT
from geobench.reporting.png import save_png

# panels of the Africa ecoregions figure (then the best of the rest)
AFRICA_ENCODERS = ("satclip-bm", "satclip-bm:L=40", "sh_siren_random", "geoclip", "csp-bm", "mosaiks")


def read_predictions(results: Path, record: dict) -> pd.DataFrame:
    """The per-point test predictions of ``record`` (its ``predictions`` file under ``results``),
    refused with DataError if the file was written for another row: every file holds its row's
    ``key`` in its Parquet metadata (files written before that was added are read unchecked)."""
    from geobench.errors import DataError

    path = Path(results) / record["predictions"]
    df = pd.read_parquet(path)
    key = df.attrs.get("key")
    if key is not None and key != record["key"]:
        raise DataError(f"predictions file {record['predictions']} under {results} belongs to another row ({key}), "
                        f"not to {record['key']}; it was overwritten or copied. Delete it and re-run that cell "
                        "with --force to write its own predictions")
    return df


def plot_africa_ecoregions(results: Path, records: list[dict], *, head: str = "linear", seed: int = 0,
                           encoders: tuple[str, ...] | None = None) -> Path | None:
    """True ecoregions over Africa next to each encoder's predictions (few-shot hold-out), with the
    sparse Africa training points marked. Drawn from the stored per-point predictions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geobench.errors import DataError
    from geobench.evaluation.records import latest_by_key
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.tasks.base import load_task

    split = str(parse_split(AFRICA_FEWSHOT))
    recs, _ = latest_by_key(records)
    rs = [r for r in recs if r["task"] == "ecoregions" and r["split"] == split and r["head"] == head
          and r["seed"] == seed and r.get("status") == "ok" and r.get("predictions")
          and (encoders is None or r["encoder"] in encoders)]
    if not rs:
        return None
    # the learned encoders (the paper's comparison), then the best of the rest, 7 panels at most
    by_enc = {r["encoder"]: r for r in rs}
    chosen = [by_enc[e] for e in (*AFRICA_ENCODERS, *(encoders or ())) if e in by_enc]
    chosen = list({r["encoder"]: r for r in chosen}.values())[:6]
    rest = sorted((r for r in rs if r not in chosen), key=lambda r: -r["metrics"]["accuracy"])
    rs = chosen + rest[: 7 - len(chosen)]
    missing = [r["predictions"] for r in rs if not (results / r["predictions"]).is_file()]
    if missing:
        raise DataError(f"the Africa ecoregions figure ({head}) needs the per-point predictions, and "
                        f"{len(missing)} file(s) are missing under {results} (first: {missing[0]}); they are not "
                        "committed with the results. Re-run those cells with --force to write them, or keep "
                        "the committed figure")
    opts = rs[0].get("task_options") or {}
    pts = load_task("ecoregions", **opts)
    tr, _, _ = apply_split(pts.df, parse_split(split), seed)
    af_train = tr[pts.df["continent"].to_numpy()[tr] == "Africa"]
    colors = np.random.default_rng(0).uniform(0.15, 0.95, size=(len(pts.classes), 3))
    panels = [("true labels", None)] + [(r["encoder"], r) for r in rs]
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.1 * ncol, 3.3 * nrow + 0.4), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    first = read_predictions(results, rs[0])
    for ax, (title, r) in zip(axes.ravel(), panels):
        df = first if r is None else read_predictions(results, r)
        col = df["y"] if r is None else df["pred"]
        ax.scatter(df["lon"], df["lat"], c=colors[col.to_numpy()], s=1.2, linewidths=0)
        ax.scatter(pts.df["lon"].to_numpy()[af_train], pts.df["lat"].to_numpy()[af_train], marker="x",
                   c="black", s=7, lw=0.6, label=f"training points in Africa (n={af_train.size})")
        acc = f"true labels (test n={len(df):,})" if r is None else f"{title}: accuracy {r['metrics']['accuracy']:.3f}"
        ax.set_title(acc, fontsize=9)
        ax.set_xlim(-20, 55)
        ax.set_ylim(-37, 40)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"Ecoregions over Africa, few-shot (1%) hold-out: {head} head, seed {seed} "
                 "(colours = ecoregion; x = the few Africa training points)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    out = results / "maps" / f"africa_ecoregions_{head}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_png(fig, out, dpi=72)
