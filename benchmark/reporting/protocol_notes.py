"""Results-page sections about the probe protocol, computed from the records: hold-out errors in
the target's own unit against the ``constant`` reference, how often the linear head's alpha sat
at the edge of its grid (and what a wider grid changes), and how often the MLP search stopped
at a budget cap. Only the newest setting of each display name counts, as in the leaderboard.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

from geobench.evaluation.grid import in_plan
from geobench.reporting.leaderboard import newest_records


# The version-1 MLP head's caps (1.5M training samples per configuration, 200 epochs): where its
# sample cap bound for rows written before ``best_epoch_at_cap`` was recorded.
V1_MAX_SAMPLES, V1_MAX_EPOCHS = 1_500_000, 200


def newest_ok(records: Iterable[dict]) -> pd.DataFrame:
    """One row per ``ok`` record of the newest setting of each (head, split, task, encoder):
    columns head, split, task, encoder, seed, kind, n_train, the record's metrics and its
    ``head_params`` (a dict)."""
    rows = [{"head": r["head"], "split": r["split"], "task": r["task"], "encoder": r["encoder"], "seed": r["seed"],
             "kind": r.get("kind"), "n_train": r.get("n_train"), "head_params": r.get("head_params") or {},
             **(r.get("metrics") or {})}
            for r in newest_records(list(records)) if r.get("status") == "ok"]
    return pd.DataFrame(rows)


def _cell(rows: pd.DataFrame, col: str, digits: int) -> str:
    """``col``'s mean over seeds, with ± the sample std when there are at least 2 seeds; "–"
    where no row has it (e.g. ``skill`` on rows written before it was recorded)."""
    v = rows[col].dropna().to_numpy(float) if col in rows else np.array([])
    if v.size == 0:
        return "–"
    return f"{v.mean():.{digits}f}" + (f" ± {v.std(ddof=1):.{digits}f}" if v.size > 1 else "")


def holdout_error_lines(records: Iterable[dict], head: str = "linear", digits: int = 2) -> list[str]:
    """Per regression task with a continent hold-out in the grid: RMSE and MAE in the target's
    unit (mean ± std over seeds), R^2 and skill, one row per encoder, sorted by RMSE, with the
    ``constant`` encoder (no location) as the reference row."""
    from geobench.tasks.base import get_spec

    df = newest_ok(records)
    if df.empty:
        return []
    df = df[(df["head"] == head) & (df.kind == "regression") & df.split.str.startswith("continent")]
    df = df[[in_plan(t, s) for t, s in zip(df.task, df.split)]]
    if df.empty:
        return []
    out = ["## Hold-out errors in physical units", "",
           f"The continent hold-out splits of the regression tasks, `{head}` head: RMSE and MAE in the target's "
           "unit (mean ± std over seeds), with R² and skill (1 − MSE / MSE of the training mean). `constant` is the "
           "encoder with no location: its row is what a model that only knows the training labels achieves, so "
           "an R² far below 0 reads against it.", ""]
    for (task, split), g in df.groupby(["task", "split"]):
        unit = get_spec(task).unit
        order = g.groupby("encoder")["rmse"].mean().sort_values().index
        out += [f"**{task}**, `{split}` ({unit})", "", f"| encoder | RMSE ({unit}) | MAE ({unit}) | R² | skill |",
                "|---|---|---|---|---|"]
        for enc in order:
            e = g[g.encoder == enc]
            name = f"**{enc}** (no location)" if enc == "constant" else enc
            out.append(f"| {name} | {_cell(e, 'rmse', digits)} | {_cell(e, 'mae', digits)} | {_cell(e, 'r2', 3)} | "
                       f"{_cell(e, 'skill', 3)} |")
        out.append("")
    return out


def mlp_at_cap(row: pd.Series, max_samples: int | None = None, max_epochs: int | None = None) -> bool | None:
    """Whether an MLP record's chosen configuration stopped at a budget cap before converging.
    Read from ``head_params.best_epoch_at_cap`` where recorded; for older (version-1) rows derived
    exactly from ``n_train``, the batch size and ``best_epoch`` under the version-1 caps (the
    sample cap's epoch is ``ceil(max_steps / steps_per_epoch)``; at the cap means the best epoch
    was the last or next-to-last one); None if unknown."""
    hp = row["head_params"]
    if "best_epoch_at_cap" in hp:
        return bool(hp["best_epoch_at_cap"])
    bs, best, n = hp.get("batch_size"), hp.get("best_epoch"), row["n_train"]
    if not (bs and best and n):
        return None
    max_samples, max_epochs = max_samples or V1_MAX_SAMPLES, max_epochs or V1_MAX_EPOCHS
    cap_epoch = math.ceil(math.ceil(max_samples / bs) / math.ceil(n / bs))
    return bool(cap_epoch < max_epochs and best >= cap_epoch - 1)


def mlp_cap_lines(records: Iterable[dict]) -> list[str]:
    """How many MLP cells stopped at a budget cap while still improving, by training size."""
    df = newest_ok(records)
    df = df[df["head"] == "mlp"] if not df.empty else df
    if df.empty:
        return []
    df = df.assign(at_cap=[mlp_at_cap(r) for _, r in df.iterrows()], large=df.n_train >= 20_000)
    known = df[df.at_cap.notna()]
    out = ["### The MLP's budget caps", "",
           "The MLP head trains each configuration until its validation loss stops improving (see its "
           "docstring), with `max_epochs` as a safety cap. A cell counts as *at the cap* when its chosen "
           "configuration was stopped by a cap before it converged, so more training would likely have helped. "
           f"Rows of the version-1 head (a cap of {V1_MAX_SAMPLES:,} training samples per configuration) are "
           "judged by their best epoch: at the cap when it was the last or next-to-last one.", "",
           "| training points | MLP cells | at the cap | share |", "|---|---|---|---|"]
    for large, g in known.groupby("large"):
        k = int(g.at_cap.astype(bool).sum())
        out.append(f"| {'≥ 20,000' if large else '< 20,000'} | {len(g)} | {k} | {k / len(g):.0%} |")
    if len(known) < len(df):
        out.append(f"| unknown (no epoch record) | {len(df) - len(known)} | – | – |")
    return out + [""]


def _alpha_grid(alphas: list[float]) -> str:
    """``7 alphas, 0.001 to 1000``."""
    return f"{len(alphas)} alphas, {min(alphas):g} to {max(alphas):g}"


def alpha_edge_lines(records: Iterable[dict], sensitivity: Iterable[dict] = ()) -> list[str]:
    """How often the linear head chose an alpha at the edge of its grid (per task), and, from a
    sensitivity run with a wider ``linear:alphas=...`` grid (``sensitivity`` records), the paired
    change of the primary metric on the same cells."""
    df = newest_ok(records)
    df = df[df["head"] == "linear"] if not df.empty else df
    if df.empty:
        return []
    df = df.assign(edge=[hp.get("alpha_at_edge") for hp in df.head_params],
                   low=[hp.get("alpha") == min(hp.get("alphas") or [np.nan]) for hp in df.head_params])
    df = df[df.edge.notna()]
    if df.empty:
        return []
    out = ["### The linear head's alpha grid", "",
           "RANGE's grid is alphas (0.1, 1, 10). Cells whose chosen alpha is an end of the grid:", "",
           "| task | linear cells | alpha at an edge | at the smallest alpha |", "|---|---|---|---|"]
    for task, g in df.groupby("task"):
        out.append(f"| {task} | {len(g)} | {g.edge.astype(bool).mean():.0%} | {g.low.mean():.0%} |")
    out.append(f"| all | {len(df)} | {df.edge.astype(bool).mean():.0%} | {df.low.mean():.0%} |")
    out.append("")
    sens = newest_ok(sensitivity)
    if sens.empty:
        return out
    metric = {"regression": "r2", "classification": "accuracy"}
    keys = ["task", "encoder", "split", "seed"]
    for head, s in sens[sens["head"].str.startswith("linear:")].groupby("head"):
        s = s.assign(score=[r[metric[r.kind]] for _, r in s.iterrows()])
        base = df.assign(score=[r[metric[r.kind]] for _, r in df.iterrows()])
        m = s.merge(base[keys + ["score", "edge"]], on=keys, suffixes=("_wide", "_range"))
        if m.empty:
            continue
        m = m.assign(diff=m.score_wide - m.score_range,
                     edge_wide=[hp.get("alpha_at_edge") for hp in m.head_params])
        out += [f"Sensitivity run, `{head}` ({_alpha_grid(m.head_params.iloc[0].get('alphas') or [np.nan])}) "
                f"against RANGE's grid on the same "
                f"{len(m)} cells (score = R² or accuracy, wider minus RANGE):", "",
                "| task | cells | mean change | largest gain | largest loss | RANGE grid at an edge | wider grid at an edge |",
                "|---|---|---|---|---|---|---|"]
        for task, g in m.groupby("task"):
            out.append(f"| {task} | {len(g)} | {g['diff'].mean():+.4f} | {g['diff'].max():+.4f} | "
                       f"{g['diff'].min():+.4f} | {g.edge.astype(bool).mean():.0%} | "
                       f"{g.edge_wide.astype(bool).mean():.0%} |")
        out.append("")
    return out


__all__ = ["alpha_edge_lines", "holdout_error_lines", "mlp_at_cap", "mlp_cap_lines", "newest_ok"]
