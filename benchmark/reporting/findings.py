"""Findings computed from the records and tested: who generalises to Africa, the price of spatial
extrapolation, L=10 vs L=40, pretrained vs untrained SatCLIP, the heads, mean ranks, and the best
encoder per task. Every comparison is a paired test over seeds with Holm's correction across the
tasks of a claim (:mod:`geobench.reporting.claims`); "better on k of n" counts significant wins
only. Only cells of the reproduction grid count (:func:`geobench.evaluation.grid.in_plan`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from geobench.reporting.claims import best_encoders, claim_line, paired, ranking, ranking_line, seed_values
from geobench.reporting.stats import compare, tally

# Encoders whose embedding carries information from imagery (trained on it, or featurising it).
IMAGE_INFORMED = ("satclip", "satclip-bm", "csp", "csp-bm", "geoclip", "mosaiks")
KINDS = ("random", "spatial_block", "continent")


def _image(e: str) -> bool:
    return e.split(":")[0] in IMAGE_INFORMED


def _africa(sv: pd.DataFrame) -> list[str]:
    out = []
    line = ranking_line(ranking(sv, "linear", "continent"), "linear", "continent (Africa hold-out)")
    if line:
        out.append(line)
    g = sv[(sv["head"] == "linear") & (sv["kind"] == "continent")]
    for task, t in g.groupby("task", sort=True):
        means = t.groupby("encoder")["value"].mean()
        img = means[[e for e in means.index if _image(e)]]
        free = means[[e for e in means.index if not _image(e) and e != "constant"]]
        if img.empty or free.empty:
            continue
        a, b = img.idxmax(), free.idxmax()
        res = paired(t, a, b, "linear", "continent")
        verdict = (f"difference {res[0].mean_diff:+.3f}, p = {res[0].p:.2g}: {res[0].verdict}" if res and res[0].p is not None
                   else f"difference {res[0].mean_diff:+.3f}, untested: identical seeds" if res
                   else "too few common seeds to test")
        out.append(f"  - {task}: best image-informed `{a}` {img.max():.3f}, best coordinate-only `{b}` {free.max():.3f} "
                   f"({verdict}).")
    return out


def _extrapolation_price(sv: pd.DataFrame) -> list[str]:
    lin = sv[sv["head"] == "linear"]
    m = lin.groupby(["kind", "encoder", "task"])["value"].mean()
    if "random" not in m.index.get_level_values(0) or "spatial_block" not in m.index.get_level_values(0):
        return []
    drop = (m.loc["random"] - m.loc["spatial_block"]).dropna()
    if drop.empty:
        return []
    per = drop.groupby(level="encoder").agg(["mean", "size"]).sort_values("mean")
    n_tasks = int(per["size"].max())
    per = per[per["size"] == n_tasks]["mean"]
    if per.empty:
        return []
    return [f"- **Random vs spatial-block** (linear; per encoder, the mean over its {n_tasks} tasks of the random "
            f"minus the block score, means over seeds): smallest drop `{per.index[0]}` {per.iloc[0]:.3f}, largest "
            f"`{per.index[-1]}` {per.iloc[-1]:.3f}; median {per.median():.3f} over {per.size} encoders."]


def _heads(sv: pd.DataFrame) -> list[str]:
    out = []
    lin = sv[sv["head"] == "linear"].set_index(["task", "encoder", "split", "seed"])["value"]
    for head in ("mlp", "lightgbm"):
        h = sv[sv["head"] == head].set_index(["task", "encoder", "split", "seed"])["value"]
        both = pd.concat([h.rename("h"), lin.rename("l")], axis=1, join="inner")
        pairs = {}
        for (task, enc, split), g in both.groupby(level=["task", "encoder", "split"]):
            if len(g) >= 2:
                pairs[f"{task}/{enc}/{split.split(':')[0]}"] = (g["h"].to_numpy(), g["l"].to_numpy())
        if not pairs:
            continue
        res = compare(pairs)
        c = tally(res)
        d = np.array([r.mean_diff for r in res])
        top = max(res, key=lambda r: r.mean_diff)
        out.append(f"- **{head} vs linear head** on the {len(res)} (task, encoder, split) cells run with both over "
                   f"2+ common seeds: {head} significantly better on {c['win']}, worse on {c['loss']}, tied on "
                   f"{c['tie']} (paired t over seeds, Holm across the cells); median difference {np.median(d):+.3f}, "
                   f"largest gain {top.mean_diff:+.3f} ({top.task}).")
    return out


def findings(records: list[dict]) -> list[str]:
    """Markdown sections of statements computed from ``records`` (empty when there is nothing to say)."""
    sv = seed_values(records)
    if sv.empty:
        return []
    out = _africa(sv) + _extrapolation_price(sv)
    for a, b in (("satclip-bm", "satclip-bm:L=40"), ("sh", "sh:L=40")):  # the paper: L=10 generalises better
        for kind in ("random", "continent"):
            line = claim_line(sv, a, b, "linear", kind, "L=10 vs L=40")
            if line:
                out.append(line)
    for kind in KINDS:  # does our pretraining help? the trained SatCLIP against its untrained twin
        line = claim_line(sv, "satclip-bm", "sh_siren_random", "linear", kind, "pretrained (here) vs untrained SatCLIP")
        if line:
            out.append(line)
    out += _heads(sv)
    ranks = [line for head in ("linear", "mlp", "lightgbm") for kind in KINDS
             if (line := ranking_line(ranking(sv, head, kind), head, kind))]
    best = []
    for head in ("linear", "mlp", "lightgbm"):
        for kind in KINDS:
            got = best_encoders(sv, head, kind)
            if not got:
                continue
            parts = []
            for task, b in got.items():
                if isinstance(b, str):
                    parts.append(f"{task}: none ({b})")
                else:
                    enc, vs = b
                    parts.append(f"{task}: **{enc}** ({vs.verdict} against the runner-up, {vs.mean_diff:+.3f})")
            best.append(f"- `{head}` head, {kind}: " + "; ".join(parts))
    return ((["### What we learned", ""] + out + [""] if out else [])
            + (["### Mean ranks across tasks", ""] + ranks + [""] if ranks else [])
            + (["### Best encoder per task", "",
                "A best needs 2+ seeds, at least 2 competing encoders and a significant win over the label-only "
                "`constant`; \"tie\" against the runner-up means the two are not told apart.", ""] + best if best else []))
