"""The results page's "where on Earth" sections, from the records' geo blocks: Moran's I of the
test residuals per encoder and task, the worst continent, the score against the distance to the
nearest training point, and the score against spatial-block size. Rows without a geo block
(schema < 4) are left out and counted."""
from __future__ import annotations

import pandas as pd

from geobench.evaluation.profiles import KEY_ENCODERS


def _shown(records: list[dict]) -> list[dict]:
    """The ok rows the leaderboard shows (newest setting per display name, newest row per key)."""
    from geobench.reporting.leaderboard import newest_records

    return [r for r in newest_records(records) if r.get("status") == "ok"]


def moran_table(records: list[dict], head: str = "linear", kind: str = "spatial_block",
                encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """encoder x task: mean Moran's I of the residuals over seeds, for grid cells of ``head`` and
    split ``kind`` (NaN where no row has a geo block)."""
    from geobench.evaluation.grid import in_plan

    rows = [(r["encoder"], r["task"], r["geo"]["moran"]["I"]) for r in _shown(records)
            if r["head"] == head and r["split"].split(":")[0] == kind and r["encoder"] in encoders
            and in_plan(r["task"], r["split"]) and ((r.get("geo") or {}).get("moran") or {}).get("I") is not None]
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows, columns=["encoder", "task", "I"])
    return df.pivot_table(index="encoder", columns="task", values="I", aggfunc="mean")


def distance_curve(records: list[dict], task: str, head: str = "linear", kind: str = "spatial_block",
                   encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """encoder x distance bin (``lo-hi km``): the mean over seeds of the bin's score (skill for
    regression, accuracy for classification), grid cells of ``task``, ``head`` and split ``kind``."""
    from geobench.evaluation.grid import in_plan

    rows = []
    for r in _shown(records):
        geo = r.get("geo") or {}
        if (r["task"] != task or r["head"] != head or r["split"].split(":")[0] != kind or r["encoder"] not in encoders
                or not in_plan(r["task"], r["split"]) or not geo.get("distance")):
            continue
        key = "skill" if r.get("kind") == "regression" else "accuracy"
        for b in geo["distance"]["bins"]:
            label = f"{b['lo_km']:g}-{b['hi_km']:g} km" if b["hi_km"] is not None else f">= {b['lo_km']:g} km"
            rows.append((r["encoder"], b["lo_km"], label, b.get(key)))
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows, columns=["encoder", "lo", "bin", "score"]).dropna(subset=["score"])
    if df.empty:
        return df
    order = df.drop_duplicates("bin").sort_values("lo")["bin"].tolist()
    return df.pivot_table(index="encoder", columns="bin", values="score", aggfunc="mean")[order]


def block_size_curve(records: list[dict], task: str, head: str = "linear",
                     encoders: tuple[str, ...] = KEY_ENCODERS) -> pd.DataFrame:
    """encoder x block size (degrees): the mean primary metric under ``spatial_block`` splits of
    the declared sizes (the grid's block and the paper profile's ``BLOCK_SIZES_DEG``), over the
    seeds an encoder has at every size it has (the grid's 10° block has 5 linear seeds, the
    others 3: means over different seeds would not compare)."""
    from geobench.evaluation.grid import block_deg
    from geobench.evaluation.profiles import BLOCK_SIZES_DEG
    from geobench.evaluation.splits import parse_split

    sizes = {float(d) for d in BLOCK_SIZES_DEG} | {float(block_deg(task))}
    rows = []
    for r in _shown(records):
        if r["task"] == task and r["head"] == head and r["encoder"] in encoders and r["split"].startswith("spatial_block"):
            p = parse_split(r["split"]).params
            if (p.get("train") == 0.6 and p.get("val") == 0.2 and "buffer" not in p and "seed" not in p
                    and float(p["deg"]) in sizes):
                rows.append((r["encoder"], p["deg"], int(r["seed"]), r["metrics"].get(r.get("primary_metric", "r2"))))
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows, columns=["encoder", "deg", "seed", "score"]).dropna()
    per = df.groupby(["encoder", "deg"])["seed"].apply(frozenset)
    common = {e: frozenset.intersection(*per.loc[e].tolist()) for e in per.index.get_level_values(0).unique()}
    df = df[[s in common[e] for e, s in zip(df["encoder"], df["seed"])]]
    if df.empty:
        return df
    return df.pivot_table(index="encoder", columns="deg", values="score", aggfunc="mean")


def _md(df: pd.DataFrame, digits: int = 3) -> list[str]:
    cols = [str(c) for c in df.columns]
    out = ["| encoder | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for enc, row in df.iterrows():
        out.append(f"| {enc} | " + " | ".join("" if pd.isna(v) else f"{v:.{digits}f}" for v in row) + " |")
    return out


def geobias_lines(records: list[dict]) -> list[str]:
    """Markdown: the geo-bias and extrapolation sections (empty without geo blocks)."""
    n_geo = sum(1 for r in records if r.get("geo"))
    if not n_geo:
        return []
    out = ["## Where on Earth the errors lie", "",
           f"{n_geo:,} of {len(records):,} records carry a geo block. Moran's I of the test residuals (classification: "
           "the 0/1 error) on each test point's 8 nearest neighbours by great-circle distance, row-standardised "
           "(PySAL `esda`/`libpysal`); I > 0 means the errors cluster in space, 0 is no pattern. Mean over seeds, "
           "`linear` head, spatial-block split, key encoders.", "",
           "TorchSpatial / LocBench (Wu et al. 2024) report geo-bias scores from the companion library PyGBS "
           "(`seai-lab/PyGBS`, GitHub only; the PyPI package `pygbs` is an unrelated B-spline library): spatial "
           "self-information (SSI, unmarked and marked: how concentrated the low-performance points are in a "
           "neighbourhood, against generated background points) and spatial relative information (SRI: the KL "
           "divergence of a neighbourhood's performance distribution from the global one). They are not computed "
           "here. Moran's I of the residuals is their global relative: it asks whether errors cluster in space over "
           "the whole test set, not per neighbourhood.", ""]
    mt = moran_table(records)
    if not mt.empty:
        out += _md(mt) + [""]
    for task in sorted({r["task"] for r in records if r.get("geo")}):
        dc = distance_curve(records, task)
        if not dc.empty:
            out += [f"**{task}**: score (skill for regression, accuracy for classification) against the distance "
                    "from a test point to its nearest training point, spatial-block split, `linear` head; bins with "
                    "fewer than 30 test points are empty.", ""] + _md(dc) + [""]
        bc = block_size_curve(records, task)
        if not bc.empty and bc.shape[1] > 1:
            out += [f"**{task}**: primary metric against spatial-block size (degrees), `linear` head.", ""] + _md(bc) + [""]
    return out

