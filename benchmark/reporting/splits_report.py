"""Test-set sizes per split seed, from the records.

A spatial-block split assigns whole blocks, so its test set is as large as the blocks that
happen to fall into it: with few, unequal blocks (1° blocks over California) the test size
changes several-fold from one seed to the next, and so does what a score means. The table
here shows, per task and split, the test size of every split seed and their range. Numbers
come only from ``runs.jsonl`` (``n_test``, ``n_train``, ``n_val``, ``split_seed``).
"""
from __future__ import annotations

import json

import pandas as pd

COLUMNS = ["task", "task_options", "split", "n_seeds", "n_test_by_seed", "n_test_min", "n_test_median",
           "n_test_max", "test_share_min", "test_share_max", "consistent"]


def sizes_by_seed(records: list[dict], kind: str = "spatial_block") -> pd.DataFrame:
    """One row per (task, task options, split) of split kind ``kind`` among the ok rows of the
    newest settings (as the leaderboard shows them): the test size per split seed (``n_test_by_seed``: split seed ->
    n_test), its min, median and max over seeds, and the test share of the points the split
    kept (``n_test / (n_train + n_val + n_test)``; a ``buffer=`` drops training points, so
    the share is then of the points kept). Every row of one split seed should have the same
    sizes (the split depends only on the points and the split seed); ``consistent`` is False
    when some do not (e.g. rows from different point sets), and the range covers them all."""
    from geobench.evaluation.records import OK
    from geobench.reporting.leaderboard import newest_records

    latest = newest_records(records)
    groups: dict[tuple, dict[int, set]] = {}
    for r in latest:
        if r.get("status") != OK or str(r.get("split", "")).split(":")[0] != kind:
            continue
        g = (r["task"], json.dumps(r.get("task_options") or {}, sort_keys=True), r["split"])
        seed = r.get("split_seed")
        seed = int(r["seed"] if seed is None else seed)
        total = int(r["n_train"]) + int(r["n_val"]) + int(r["n_test"])
        groups.setdefault(g, {}).setdefault(seed, set()).add((int(r["n_test"]), total))
    rows = []
    for (task, opts, split), by_seed in sorted(groups.items()):
        n_test = [n for sizes in by_seed.values() for n, _ in sizes]
        shares = [n / t for sizes in by_seed.values() for n, t in sizes if t]
        rows.append({
            "task": task, "task_options": opts, "split": split, "n_seeds": len(by_seed),
            "n_test_by_seed": {s: sorted({n for n, _ in by_seed[s]}) for s in sorted(by_seed)},
            "n_test_min": min(n_test), "n_test_median": float(pd.Series(n_test).median()),
            "n_test_max": max(n_test), "test_share_min": min(shares) if shares else None,
            "test_share_max": max(shares) if shares else None,
            "consistent": all(len({n for n, _ in sizes}) == 1 for sizes in by_seed.values()),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _split_label(split: str, opts: str) -> str:
    label = f"`{split}`"
    return label if opts == "{}" else f"{label}, options `{opts}`"


def sizes_by_seed_lines(records: list[dict], kind: str = "spatial_block") -> list[str]:
    """Markdown: a section with the :func:`sizes_by_seed` table (empty list when no such rows)."""
    t = sizes_by_seed(records, kind)
    if t.empty:
        return []
    lines = [f"## Test-set sizes per seed ({kind.replace('_', '-')} splits)", "",
             "Whole blocks go to the test set, so its size depends on which blocks a seed draws. "
             "Per split seed (`split_seed`), the test points of every ok row; the share is of the points "
             "the split kept. A score over few test blocks rests on few independent regions.", "",
             "| task | split | seeds | n_test per seed | min | median | max | max / min | test share |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        per_seed = ", ".join(f"{s}: " + "/".join(f"{n:,}" for n in ns) for s, ns in r.n_test_by_seed.items())
        if not r.consistent:
            per_seed += " (rows of one seed disagree)"
        ratio = f"{r.n_test_max / r.n_test_min:.1f}" if r.n_test_min else "–"
        share = ("–" if r.test_share_min is None else
                 f"{100 * r.test_share_min:.0f}–{100 * r.test_share_max:.0f} %"
                 if round(100 * r.test_share_min) != round(100 * r.test_share_max)
                 else f"{100 * r.test_share_min:.0f} %")
        lines.append(f"| {r.task} | {_split_label(r.split, r.task_options)} | {r.n_seeds} | {per_seed} | "
                     f"{r.n_test_min:,} | {r.n_test_median:,.0f} | {r.n_test_max:,} | {ratio} | {share} |")
    return lines + [""]
