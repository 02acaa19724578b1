"""Ours vs published: one row per published number, matched to our records by task, encoder,
head, split and metric, and its markdown (our counterparts, then reference-only rows)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _random_split() -> str:
    from geobench.evaluation.splits import parse_split

    return str(parse_split("random"))


RANDOM_SPLIT = _random_split()  # "random:train=0.6:val=0.2", as the runner records it


def published_split(split: str) -> tuple[str, str]:
    """Our canonical split for a published row's split, and a note when the mapping is assumed.

    ``unspecified`` (the RANGE linear-probe table) is compared with our random split."""
    if split == "unspecified":
        return RANDOM_SPLIT, "split not stated; compared with our random split"
    if split == "random":
        return RANDOM_SPLIT, ""
    from geobench.evaluation.splits import parse_split

    return str(parse_split(split)), ""


def comparison_table(records: list[dict]) -> pd.DataFrame:
    """Ours vs published: one row per published number. ``ours`` is the mean over seeds of the
    published row's metric in our records with the same task, encoder, head and split (NaN when we
    have no such run, or when the encoder is not implemented here, e.g. RANGE)."""
    from geobench.evaluation.records import latest_by_key
    from geobench.reporting.published import EXTERNAL_ENCODERS, load_published
    from geobench.tasks.base import get_spec

    latest, _ = latest_by_key(records)  # the newest row per key, as in the leaderboard; then ok only
    by_cell: dict[tuple, list[dict]] = {}
    for r in (r for r in latest if r.get("status") == "ok"):
        by_cell.setdefault((r["task"], r["encoder"], r["head"], r["split"]), []).append(r)
    rows = []
    for p in load_published():
        split, assumed = published_split(p.split)
        rs = by_cell.get((p.task, our_counterpart(p.encoder), p.head, split), [])
        vals = [r["metrics"][p.metric] for r in rs if p.metric in r["metrics"]]
        ours = float(np.mean(vals)) if vals else np.nan
        rows.append({"task": p.task, "encoder": p.encoder, "variant": p.variant, "head": p.head,
                     "split": p.split, "our_split": split, "split_note": assumed, "metric": p.metric,
                     "published": p.value, "ours": ours, "ours_std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                     "n_seeds": len(vals), "diff": ours - p.value, "source": p.source, "evidence": p.evidence,
                     "external": p.encoder in EXTERNAL_ENCODERS, "fidelity": get_spec(p.task).fidelity,
                     "task_differs": ", ".join(d.aspect for d in get_spec(p.task).differences)})
    return pd.DataFrame(rows)


# The published SatCLIP and CSP rows are the released models; our counterparts with the same
# architecture are the checkpoints trained here (named -bm so that nobody takes them for the released ones).
COUNTERPART = {"satclip": "satclip-bm", "csp": "csp-bm"}
# Where the weights of our counterpart come from, for the comparison table.
OUR_WEIGHTS = {"satclip": "`satclip-bm`: trained here (Blue Marble)", "csp": "`csp-bm`: trained here (Blue Marble)",
               "geoclip": "released (exact)", "mosaiks": "random features (Blue Marble)"}


def our_counterpart(published_encoder: str) -> str:
    """Our encoder spec compared with a published row's encoder (``satclip:L=40`` -> ``satclip-bm:L=40``)."""
    base, sep, opts = published_encoder.partition(":")
    return COUNTERPART.get(base, base) + sep + opts


GAP_TO_EXPLAIN = 0.05  # |ours - published| above this gets its known differences listed


def known_differences(row) -> list[str]:
    """What differs between a comparison row's two sides, from the row's own fields: the weights
    (ours trained here), the task data (a proxy), an unstated split, an evidence level below
    the primary source, and an MSE whose normalisation the source does not state for sure."""
    out = []
    if row["encoder"].split(":")[0] in COUNTERPART:
        out.append("other weights (ours trained here)")
    if row["fidelity"] != "same data":
        differs = row.get("task_differs") or ""
        out.append(f"task data: {row['fidelity']}" + (f" ({differs} differ)" if differs else ""))
    if row["split_note"]:
        out.append("split not stated")
    if row["metric"] == "mse_z":
        out.append("MSE normalisation inferred, not stated")
    if row["evidence"] != "primary":
        out.append(f"source: {row['evidence']}")
    return out


def gap_test(row) -> float | None:
    """Two-sided p of our seeds' mean against the published value (one-sample t over ``n_seeds``
    with ``ours_std``); None with 1 seed, or when every seed gives the same score (a fit the seed
    does not change: the difference is then exact)."""
    from scipy import stats

    n, sd = int(row["n_seeds"]), float(row["ours_std"])
    if n < 2 or sd == 0.0:
        return None
    t = float(row["diff"]) / (sd / math.sqrt(n))
    return float(2 * stats.t.sf(abs(t), n - 1))


def explain_gap(row) -> str:
    """The 'why' cell: '' within ``GAP_TO_EXPLAIN`` (or not run); 'within our seed spread' when
    the one-sample t-test of our seeds against the published value is not significant (alpha
    0.05); else the known differences, or 'unexplained' when the two sides differ in nothing we
    know of beyond a secondary source."""
    if np.isnan(row["diff"]) or abs(row["diff"]) <= GAP_TO_EXPLAIN:
        return ""
    p = gap_test(row)
    if p is not None and p >= 0.05:
        return f"within our seed spread (t over {int(row['n_seeds'])} seeds, p = {p:.2g})"
    diffs = known_differences(row)
    substantive = [d for d in diffs if not d.startswith("source:")]
    why = "; ".join(diffs) if substantive else "unexplained (" + "; ".join(diffs or ["same data, weights, split"]) + ")"
    return ("untested, 1 seed: " if int(row["n_seeds"]) < 2 else "") + why


def comparison_markdown(comp: pd.DataFrame) -> list[str]:
    """Markdown for the comparison: our counterparts first, then the reference-only rows of
    encoders we do not implement; sources as numbered footnotes."""
    sources = list(dict.fromkeys(comp.source))
    ref = {s: f"[{i + 1}]" for i, s in enumerate(sources)}
    fmt = lambda v: "–" if np.isnan(v) else f"{v:+.3f}"  # noqa: E731
    lines = ["| task | encoder (published variant) | our weights | head | split | metric | published "
             f"| ours (n seeds) | ours − published | data | gap over {GAP_TO_EXPLAIN}: known differences | source |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in comp[~comp.external].iterrows():
        spread = f"{r.ours_std:.3f}" if r.n_seeds > 1 else "–"
        ours = "not run" if np.isnan(r.ours) else f"{r.ours:.3f} ± {spread} ({r.n_seeds})"
        split = r.split + ("*" if r.split_note else "")
        weights = OUR_WEIGHTS.get(r.encoder.split(":")[0], "")
        lines.append(f"| {r.task} | {r.encoder} ({r.variant}) | {weights} | {r['head']} | {split} | {r.metric} | "
                     f"{r.published:.3f} | {ours} | {fmt(r['diff'])} | {r.fidelity}"
                     + (f" ({r.task_differs} differ)" if r.task_differs else "") + f" | {explain_gap(r)} | {ref[r.source]} |")
    lines.append("")
    if comp.split_note.astype(bool).any():
        lines.append(f"\\* split not stated by the source; compared with our random split (`{RANDOM_SPLIT}`).")
    lines += ["For `mse_z` lower is better; for `r2` and `accuracy` higher is better. The published SatCLIP "
              "rows are the released checkpoints (Sentinel-2); ours is trained here on Blue Marble, so those "
              "rows compare two different models under one name.", ""]
    ext = comp[comp.external]
    if not ext.empty:
        lines += ["Published numbers of encoders geobench does not implement (reference only):", "",
                  "| task | metric | " + " | ".join(ext.encoder.unique()) + " | source |",
                  "|---|---|" + "---|" * ext.encoder.nunique() + "---|"]
        for (task, metric), g in ext.groupby(["task", "metric"], sort=False):
            vals = g.set_index("encoder")["published"]
            lines.append(f"| {task} | {metric} | " + " | ".join(f"{vals.get(e, np.nan):.3f}" for e in ext.encoder.unique())
                         + f" | {', '.join(dict.fromkeys(ref[s] for s in g.source))} |")
        lines.append("")
    lines += ["Sources (all secondary; `benchmark/reporting/published.csv` gives the evidence level of every "
              "row):", ""]
    lines += [f"{ref[s]} {s}  " for s in sources]
    return lines + [""]
