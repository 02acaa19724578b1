"""Derive the leaderboard from ``runs.jsonl``: mean ± std of each task's primary metric
(R² for regression, accuracy for classification) over seeds, per head and split.

A leaderboard cell averages the seeds of one *setting*: rows whose identity (task points and
options, encoder weights or code, head options, split) is the same apart from the seed. It
never averages across settings. Where several settings share a display name (head, split,
task, encoder), the newest is shown and the others are counted as superseded. Duplicate rows
for one key (re-runs with ``--force``) keep the newest; the count dropped is reported.
Outputs: ``leaderboard.csv`` (long: one row per head, split, task, encoder) and
``leaderboard.md`` (one tasks x encoders table per head and split).

Two intervals sit beside mean ± std in ``leaderboard.csv``. ``seed_ci_lo``/``seed_ci_hi``: the
95 % t-interval of the mean over seeds, ``mean ± t(0.975, n-1) · std / sqrt(n)`` (n ≥ 2 seeds;
empty for one seed, whose ``std`` is empty too). And the median width of the per-seed 95 %
test-point intervals (``ci95``), by how they were made, never mixed: ``block_ci_width`` for the
spatial block bootstrap (``ci_method`` ``block:deg=D``), ``iid_ci_width`` for the i.i.d.
bootstrap of rows written before it (too narrow under spatial correlation). The geo-bias
columns come from each row's geo block (schema 4): ``moran_i`` and ``moran_z``, Moran's I of the
test residuals (classification: the 0/1 error) and its z-score, means over seeds;
``worst_continent``, the continent of the largest error most often; ``continent_spread``, the
largest minus the smallest per-continent error (RMSE, or 1 - accuracy), mean over seeds.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from geobench.evaluation.records import latest_by_key, read_records

COLUMNS = ["head", "split", "task", "encoder", "metric", "mean", "std", "n_seeds", "seed_ci_lo", "seed_ci_hi",
           "ci_method", "block_ci_width", "iid_ci_width", "moran_i", "moran_z", "worst_continent", "continent_spread",
           "status", "reason", "setting", "superseded", "tuned_on_task"]


def geo_columns(rows: list[dict]) -> tuple[float, float, str, float]:
    """(mean Moran's I of the residuals, mean z, the continent most often worst, mean spread of
    the per-continent error) over the seeds of ``rows`` that carry a geo block; NaN/'' without."""
    moran = [(r.get("geo") or {}).get("moran") or {} for r in rows]
    i = [m["I"] for m in moran if m.get("I") is not None]
    z = [m["z_rand"] for m in moran if m.get("z_rand") is not None]
    conts = [(r.get("geo") or {}).get("continents") for r in rows]
    conts = [c for c in conts if c]
    worst = max(sorted({c["worst"] for c in conts}), key=[c["worst"] for c in conts].count) if conts else ""
    mean = lambda v: float(np.mean(v)) if v else np.nan  # noqa: E731
    return mean(i), mean(z), worst, mean([c["spread"] for c in conts])


def tuned_on(record: dict) -> list[str] | None:
    """The tasks whose validation scores selected this encoder's hyper-parameters (MTEB-style
    overlap): from the record's ``encoder_meta``, else (rows written before the field existed)
    from the registry entry of its encoder; None when unknown."""
    meta = record.get("encoder_meta") or {}
    if "tuned_on" in meta:
        return meta["tuned_on"]
    from geobench.encoding import ENCODERS

    base = record["encoder"].split(":")[0]
    if "ckpt=" not in record["encoder"] and base in ENCODERS:
        return list(getattr(ENCODERS.get(base), "tuned_on", ()))
    return None


def newest_settings(records: list[dict]) -> tuple[dict[tuple, list[dict]], dict[tuple, int]]:
    """The rows of the newest setting per display name (head, split, task, encoder), and how
    many older settings each display name has. ``records`` are deduplicated by key first."""
    by_name: dict[tuple, dict[str, list[dict]]] = {}
    for r in records:
        by_name.setdefault((r["head"], r["split"], r["task"], r["encoder"]), {}).setdefault(r["setting"], []).append(r)
    chosen, superseded = {}, {}
    for name, settings in by_name.items():
        newest = max(settings, key=lambda s: max(r.get("timestamp", 0.0) for r in settings[s]))
        chosen[name], superseded[name] = settings[newest], len(settings) - 1
    return chosen, superseded


def newest_records(records: list[dict]) -> list[dict]:
    """The rows the leaderboard shows: scored rows (:func:`drop_unscored`), the newest per key,
    and of each display name (head, split, task, encoder) only its newest setting. Reports that
    read the records use this, so that no table mixes settings (head versions, weights, CI
    methods) under one name."""
    return [r for rs in shown_settings(records).values() for r in rs]


def shown_settings(records: list[dict]) -> dict[tuple, list[dict]]:
    """The rows the leaderboard shows, per display name (head, split, task, encoder): unscored rows
    dropped, the newest row per key, then the newest setting per display name."""
    latest, _ = latest_by_key(drop_unscored(records))
    return newest_settings(latest)[0]


def drop_unscored(records: list[dict]) -> list[dict]:
    """``records`` without ``ok`` rows that lack a numeric primary metric (a hand edit, a
    foreign tool): they are skipped with one warning, like torn lines."""
    def scored(r: dict) -> bool:
        v = (r.get("metrics") or {}).get(r.get("primary_metric", "r2"))
        return r.get("status") != "ok" or (isinstance(v, (int, float)) and not isinstance(v, bool))

    keep = [r for r in records if scored(r)]
    if len(keep) < len(records):
        names = sorted({str(r.get("primary_metric", "r2")) for r in records if not scored(r)})
        warnings.warn(f"skipped {len(records) - len(keep)} row(s) of status ok without a numeric primary metric "
                      f"({', '.join(names)}) in runs.jsonl; re-run those cells with --force", stacklevel=2)
    return keep


def seed_interval(vals: np.ndarray, level: float = 0.95) -> tuple[float, float, int, float, float]:
    """(mean, std, n, lo, hi) over seeds: ``lo``/``hi`` the t-interval of the mean; std and
    the interval are NaN for a single seed (its spread is unknown, not 0)."""
    from scipy import stats

    n, mean = int(vals.size), float(vals.mean())
    if n < 2:
        return mean, np.nan, n, np.nan, np.nan
    std = float(vals.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / np.sqrt(n)
    return mean, std, n, mean - half, mean + half


def ci_widths(rows: list[dict]) -> tuple[str, float, float]:
    """(CI method(s), median block-bootstrap width, median i.i.d. width) of the rows' ``ci95``
    of their primary metric; a width is NaN when no row has an interval of that kind."""
    widths: dict[str, list[float]] = {"block": [], "iid": []}
    methods = set()
    for r in rows:
        ci = (r.get("ci95") or {}).get(r.get("primary_metric", "r2"))
        method = r.get("ci_method")
        if not ci or ci[0] is None or ci[1] is None or not method:
            continue
        methods.add(method)
        widths["iid" if method == "iid" else "block"].append(float(ci[1]) - float(ci[0]))
    med = [float(np.median(w)) if w else np.nan for w in (widths["block"], widths["iid"])]
    return "; ".join(sorted(methods)), med[0], med[1]


def summarize(records: list[dict]) -> tuple[pd.DataFrame, int]:
    """Long table with COLUMNS (one row per display name, its newest setting), and the number
    of duplicate rows dropped. Rows without their metric are skipped (:func:`drop_unscored`)."""
    records, dropped = latest_by_key(drop_unscored(records))
    chosen, superseded = newest_settings(records)
    rows = []
    for (head, split, task, enc), rs in sorted(chosen.items()):
        ok = [r for r in rs if r.get("status") == "ok"]
        metric = rs[0].get("primary_metric", "r2")
        tail = [rs[0]["setting"], superseded[(head, split, task, enc)], task in (tuned_on(rs[0]) or ())]
        if ok:
            vals = np.array([r["metrics"][metric] for r in ok], dtype=float)
            rows.append([head, split, task, enc, metric, *seed_interval(vals), *ci_widths(ok), *geo_columns(ok), "ok", "",
                         *tail])
        else:
            rows.append([head, split, task, enc, metric, np.nan, np.nan, 0, np.nan, np.nan, "", np.nan, np.nan,
                         np.nan, np.nan, "", np.nan, rs[-1].get("status", "error"), rs[-1].get("reason", ""), *tail])
    return pd.DataFrame(rows, columns=COLUMNS), dropped


def markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """One markdown table per (head, split): encoders x tasks, best per task in bold.

    A best is bold only among cells of 2+ seeds, with at least 2 such encoders other than the
    label-only ``constant``, and above the constant's mean where it ran. A mean below -1 (R²
    far below the constant) prints as ``< -1``: its size carries no meaning.

    Each table states its seed count; a cell over fewer seeds says ``(n=k)``; a cell whose
    head does not apply (e.g. LightGBM on more than 20 classes) reads ``n/a``; a cell that is
    the newest of several settings is marked ``†`` and counted under the table; a cell whose
    encoder was tuned on the task (``tuned_on``) is marked ``‡``."""
    out = []
    for (head, split), g in table.groupby(["head", "split"], sort=True):
        tasks = sorted(g["task"].unique())
        encs = sorted(g["encoder"].unique())
        metric = {t: g[g.task == t]["metric"].iloc[0] for t in tasks}
        best = {t: _best(g[g.task == t]) for t in tasks}
        n_max = int(g["n_seeds"].max())
        out.append(f"### head `{head}`, split `{split}`\n")
        if n_max:
            out.append(f"{n_max} seed(s) per cell unless marked (n=k).\n")
        out.append("| encoder | " + " | ".join(f"{t} ({metric[t]})" for t in tasks) + " |")
        out.append("|---|" + "---|" * len(tasks))
        for e in encs:
            cells = []
            for t in tasks:
                row = g[(g.task == t) & (g.encoder == e)]
                if row.empty:
                    cells.append("")
                elif row.status.iloc[0] != "ok":
                    cells.append("n/a")
                else:
                    m, s = row["mean"].iloc[0], row["std"].iloc[0]
                    n = int(row["n_seeds"].iloc[0])
                    c = (f"{m:.{digits}f} ± " + (f"{s:.{digits}f}" if n > 1 else "–")) if m >= -1 else "< -1"
                    c = f"**{c}**" if n > 1 and np.isclose(m, best[t]) else c
                    marks = ("†" if row["superseded"].iloc[0] else "") + ("‡" if row["tuned_on_task"].iloc[0] else "")
                    cells.append(c + marks + (f" (n={n})" if n < n_max else ""))
            out.append(f"| {e} | " + " | ".join(cells) + " |")
        reasons = sorted({(t, r) for t, r in zip(g.task, g.reason) if isinstance(r, str) and r})
        n_sup = int((g["superseded"] > 0).sum())
        n_tuned = int(g["tuned_on_task"].sum())
        ci_note = ci_line(g)
        if reasons or n_sup or n_tuned or ci_note:
            out.append("")
            out += [f"- n/a on {t}: {r}" for t, r in reasons]
        if ci_note:
            out.append(ci_note)
        if n_sup:
            out.append(f"- † {n_sup} cell(s) show the newest of several settings (other task options, head "
                       f"options, encoder weights or CI method under the same name); {int(g['superseded'].sum())} older "
                       "setting(s) stay in runs.jsonl and are not averaged in.")
        if n_tuned:
            out.append(f"- ‡ {n_tuned} cell(s): the encoder's hyper-parameters were selected with this task's "
                       "validation scores (its `tuned_on`), so the score is not fully held out.")
        out.append("")
    return "\n".join(out)


def _best(g: pd.DataFrame, baseline: str = "constant") -> float:
    """The bold-worthy best mean of one task's rows (see :func:`markdown`), NaN when there is none."""
    ok = g[(g.status == "ok") & (g["n_seeds"] >= 2)]
    rivals = ok[ok.encoder != baseline]
    if len(rivals) < 2:
        return np.nan
    top = float(rivals["mean"].max())
    base = ok[ok.encoder == baseline]["mean"]
    return np.nan if len(base) and top <= float(base.iloc[0]) else top


def ci_line(g: pd.DataFrame) -> str:
    """The line under a table that says how its cells' test-point CIs were made ('' if none has one)."""
    methods = g.loc[g.status == "ok", "ci_method"].fillna("")
    block = sorted({m for m in methods if m and m != "iid"})
    n_iid = int((methods == "iid").sum())
    parts = []
    if block:
        parts.append(f"spatial block bootstrap ({', '.join(f'`{m}`' for m in block)}) in "
                     f"{int(methods.isin(block).sum())} cell(s)")
    if n_iid:
        parts.append(f"i.i.d. bootstrap in {n_iid} cell(s) (rows before schema 3; too narrow under spatial "
                     "correlation)")
    if not parts:
        return ""
    return "- test-point 95 % CIs (widths in leaderboard.csv): " + "; ".join(parts) + "."


def write_leaderboard(results_dir: str | Path, runs: str | Path | None = None) -> tuple[Path, Path, int]:
    """Write leaderboard.csv and leaderboard.md under ``results_dir``. Returns (csv, md, n_dropped)."""
    from geobench.cache import atomic_write_bytes

    results_dir = Path(results_dir)
    records = read_records(Path(runs) if runs else results_dir / "runs.jsonl")
    table, dropped = summarize(records)
    csv, md = results_dir / "leaderboard.csv", results_dir / "leaderboard.md"
    atomic_write_bytes(csv, table.to_csv(index=False, float_format="%.6f").encode())
    header = ("# geobench leaderboard\n\nMean ± std over seeds of the primary metric (– for one seed). Generated by "
              "`geobench leaderboard` from `runs.jsonl`; `leaderboard.csv` also has the 95 % t-interval of the mean "
              "over seeds and the median width of the per-seed test-point CIs, by method.\n\n")
    atomic_write_bytes(md, (header + markdown(table)).encode())
    return csv, md, dropped
