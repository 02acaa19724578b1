"""The leaderboard regenerated from a small committed ``runs.jsonl`` fixture.

The fixture holds real linear-probe records (trimmed to the fields the leaderboard reads)
for air_temperature (random split) and biome (Africa zero-shot), one encoder over fewer
seeds, one ``not_applicable`` LightGBM cell, and one newer duplicate of a cell.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geobench.reporting.leaderboard import COLUMNS, write_leaderboard

FIX = Path(__file__).parents[1] / "fixtures"
RUNS = FIX / "runs_small.jsonl"


@pytest.fixture
def board(tmp_path):
    csv, md, dropped = write_leaderboard(tmp_path, runs=RUNS)
    return pd.read_csv(csv), md.read_text(), dropped


def _newest_by_key() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for line in RUNS.read_text().splitlines():
        r = json.loads(line)
        out[r["key"]] = r
    return out


def test_csv_means_and_stds_follow_the_records(board):
    table, _, dropped = board
    assert list(table.columns) == COLUMNS and dropped == 1
    recs = _newest_by_key().values()
    for row in table[table.status == "ok"].itertuples():
        vals = [r["metrics"][row.metric] for r in recs
                if (r["head"], r["split"], r["task"], r["encoder"]) == (row.head, row.split, row.task, row.encoder)]
        assert row.n_seeds == len(vals)
        assert row.mean == pytest.approx(np.mean(vals), abs=1e-6)
        assert row.std == pytest.approx(np.std(vals, ddof=1), abs=1e-6)
    # the newer duplicate (r2 0.5) replaced seed 0 of direct, not added a fourth seed
    direct = table[(table.task == "air_temperature") & (table.encoder == "direct")].iloc[0]
    assert direct.n_seeds == 3 and direct["mean"] == pytest.approx((0.5 + 0.4189211 + 0.4241486) / 3, abs=1e-6)
    na = table[table.status == "not_applicable"]
    assert list(na["head"]) == ["lightgbm"] and na["mean"].isna().all() and list(na.reason) == ["example"]


def test_markdown_matches_the_reference_layout(board):
    _, md, _ = board
    assert md == (FIX / "leaderboard_small.md").read_text()


def test_markdown_tables_per_head_and_split(board):
    _, md, _ = board
    heads = [line for line in md.splitlines() if line.startswith("### ")]
    assert heads == ["### head `lightgbm`, split `continent:fewshot=0.0:name=Africa:val=0.2`",
                     "### head `linear`, split `continent:fewshot=0.0:name=Africa:val=0.2`",
                     "### head `linear`, split `random:train=0.6:val=0.2`"]
    lines = md.splitlines()
    # best per task in bold; fewer seeds marked; a head that does not apply is n/a with its reason
    assert "| sh | **0.931 ± 0.002** (n=2) |" in lines
    assert "| wrap | 0.857 ± 0.007 |" in lines
    assert "| wrap | **0.187 ± 0.008** |" in lines
    assert "| wrap | n/a |" in lines and "- n/a on biome: example" in lines
    for line in lines:
        if line.startswith("| ") and "±" in line:
            assert all(c.strip() == "" or "±" in c or c.strip() == "n/a" for c in line.strip("|").split("|")[1:])


def _rec(encoder, head, split, seed, metrics, task="air_temperature", **extra):
    """A version-1 style row, upgraded to the current layout as every reader sees it."""
    from geobench.evaluation.records import upgrade

    return upgrade({"key": f"{task}|{encoder}|{head}|{split}|{seed}|", "task": task, "encoder": encoder, "head": head,
                    "split": split, "seed": seed, "status": "ok", "metrics": metrics, **extra})


def test_comparison_matches_published_rows_by_head_split_and_metric():
    from geobench.reporting.comparison import RANDOM_SPLIT, comparison_markdown, comparison_table
    from geobench.reporting.published import published_for

    recs = [_rec("satclip:L=40", "linear", RANDOM_SPLIT, s, {"r2": v, "mse_z": 1 - v}) for s, v in enumerate((0.8, 0.9))]
    recs += [_rec("satclip:L=40", "mlp", RANDOM_SPLIT, s, {"r2": 1 - v, "mse_z": v}) for s, v in enumerate((0.3, 0.2))]
    recs += [_rec("satclip:L=40", "mlp", "spatial_block:deg=10.0:train=0.6:val=0.2", 0, {"r2": 0.0, "mse_z": 9.0})]
    comp = comparison_table(recs).set_index(["task", "encoder", "head", "metric"])
    lin = comp.loc[("air_temperature", "satclip:L=40", "linear", "r2")]
    (pub_lin,) = [p for p in published_for("air_temperature", "satclip:L=40", "r2") if p.head == "linear"]
    assert lin.split == "unspecified" and lin.split_note  # RANGE does not state the split: ours is random
    assert lin.ours == pytest.approx(0.85) and lin["diff"] == pytest.approx(0.85 - pub_lin.value)
    assert lin.n_seeds == 2 and lin.ours_std == pytest.approx(np.std([0.8, 0.9], ddof=1))
    mlp = comp.loc[("air_temperature", "satclip:L=40", "mlp", "mse_z")]  # the block-split row is not mixed in
    assert mlp.ours == pytest.approx(0.25) and mlp.n_seeds == 2 and not mlp.split_note
    geo = comp.loc[("air_temperature", "geoclip", "linear", "r2")]
    assert np.isnan(geo.ours) and geo.n_seeds == 0
    md = "\n".join(comparison_markdown(comparison_table(recs)))
    assert "| air_temperature | satclip:L=40" in md and "0.850 ± 0.071 (2)" in md and "not run" in md
    assert comp.loc[("air_temperature", "geoclip", "linear", "r2")].task_differs == ""  # the paper's own data
    assert "| sinr | range | range+ |" in md  # encoders we do not implement: reference rows only


def _table(rows):
    """Leaderboard table from (task, encoder, head, split, [values]) tuples (ok rows; [] = n/a)."""
    from geobench.reporting.leaderboard import summarize

    recs = []
    for task, enc, head, split, vals in rows:
        metric = "r2" if task in ("air_temperature", "elevation", "my_plugin_task") else "accuracy"
        if not vals:
            recs.append(_rec(enc, head, split, 0, {}, task, status="not_applicable", reason="too many classes",
                             primary_metric=metric))
        for s, v in enumerate(vals):
            recs.append(_rec(enc, head, split, s, {metric: v}, task, primary_metric=metric))
    return recs, summarize(recs)[0]


AFR0 = "continent:fewshot=0.0:name=Africa:val=0.2"
BLK = "spatial_block:deg=10.0:train=0.6:val=0.2"


def test_findings_rank_encoders_and_compare_heads():
    from geobench.reporting.comparison import RANDOM_SPLIT
    from geobench.reporting.findings import findings

    recs, _ = _table([
        ("air_temperature", "wrap", "linear", AFR0, [0.5, 0.6, 0.55]),
        ("air_temperature", "geoclip", "linear", AFR0, [-1.0, -0.9, -1.1]),
        ("elevation", "wrap", "linear", AFR0, [0.2, 0.25, 0.22]), ("elevation", "geoclip", "linear", AFR0, [0.1, 0.12, 0.11]),
        ("air_temperature", "wrap", "linear", RANDOM_SPLIT, [0.9, 0.91]), ("air_temperature", "wrap", "linear", BLK, [0.7, 0.71]),
        ("air_temperature", "wrap", "mlp", RANDOM_SPLIT, [0.95, 0.96]),
        ("air_temperature", "wrap", "linear", "spatial_block:deg=3.0:train=0.6:val=0.2", [float("nan")]),
    ])
    text = "\n".join(findings(recs))
    assert "2 encoders over 2 tasks, 1 = best): best `wrap` (1.0), `geoclip` (2.0)" in text
    assert "air_temperature: best image-informed `geoclip` -1.000, best coordinate-only `wrap` 0.550 (difference -1.550" in text
    assert "smallest drop `wrap` 0.200" in text
    # two seeds, +0.05 on both: a constant shift, so significant
    assert "**mlp vs linear head** on the 1 (task, encoder, split) cells run with both over 2+ common seeds: mlp " \
           "significantly better on 1, worse on 0, tied on 0" in text
    assert "deg=3.0" not in text  # not a split of the grid


def test_report_sections_survive_edge_cases():
    from geobench.reporting.comparison import RANDOM_SPLIT
    from geobench.reporting.findings import findings
    from geobench.reporting.coverage import coverage_lines

    assert findings([]) == [] and coverage_lines([]) == []
    recs, t = _table([("ecoregions", "wrap", "lightgbm", RANDOM_SPLIT, []),  # only not_applicable
                      ("air_temperature", "sh", "linear", RANDOM_SPLIT, [0.9]),  # random only ...
                      ("elevation", "sh", "linear", BLK, [0.5]),  # ... and block only: no common task
                      ("my_plugin_task", "sh", "linear", RANDOM_SPLIT, [0.3]),  # not a registered task
                      ("elevation", "wrap", "linear", RANDOM_SPLIT, [float("nan")])])
    text = "\n".join(findings(recs))
    assert "Random vs spatial-block" not in text and "nan" not in text and "my_plugin_task" not in text
    assert "## Coverage" in coverage_lines(recs)  # rows outside the declared grid are no error


def test_random_split_constant_matches_what_the_runner_records():
    from geobench.reporting.comparison import RANDOM_SPLIT
    from geobench.evaluation.splits import parse_split

    assert RANDOM_SPLIT == str(parse_split("random")) == "random:train=0.6:val=0.2"


def test_cells_of_encoders_tuned_on_the_task_are_flagged():
    """MTEB-style overlap: the shipped checkpoints were selected with validation probes on
    elevation and population (the selection set: other points, the same rasters); their cells
    there are marked, others not."""
    from geobench.reporting.comparison import RANDOM_SPLIT as RANDOM
    from geobench.reporting.leaderboard import markdown, summarize

    # version-1 rows without encoder_meta: now satclip-bm, whose registry entry gives tuned_on
    recs = [_rec("satclip", "linear", RANDOM, s, {"r2": 0.9}, "elevation") for s in (0, 1)]
    recs += [_rec("satclip", "linear", RANDOM, 0, {"r2": 0.7})]  # air_temperature: no longer a probe task
    recs += [_rec("satclip", "linear", RANDOM, 0, {"accuracy": 0.8}, "countries", primary_metric="accuracy")]
    recs += [_rec("wrap", "linear", RANDOM, s, {"r2": 0.8}, encoder_meta={"tuned_on": []}) for s in (0, 1)]
    t, _ = summarize(recs)
    flags = {(r.task, r.encoder): r.tuned_on_task for r in t.itertuples()}
    assert flags == {("elevation", "satclip-bm"): True, ("air_temperature", "satclip-bm"): False,
                     ("countries", "satclip-bm"): False, ("air_temperature", "wrap"): False}
    md = markdown(t)
    assert "0.900 ± 0.000‡" in md and "1 cell(s): the encoder's hyper-parameters were selected" in md
    assert "**0.900" not in md  # elevation has one encoder: no best is claimed


def test_a_best_needs_two_seeded_rivals_and_the_constant_beaten():
    from geobench.reporting.comparison import RANDOM_SPLIT as RANDOM
    from geobench.reporting.leaderboard import markdown, summarize

    def rows(enc, vals):
        return [_rec(enc, "linear", RANDOM, s, {"r2": v}) for s, v in enumerate(vals)]

    # air temperature: wrap best over 2 seeds, sh second, the constant below both
    recs = rows("wrap", (0.80, 0.82)) + rows("sh", (0.70, 0.72)) + rows("constant", (0.0, 0.0))
    recs += rows("rff", (0.95,))  # a higher mean on one seed: never the bold best
    recs += rows("sphereC", (-250.0, -310.0))  # far below the constant: its size carries no meaning
    md = markdown(summarize(recs)[0])
    assert "| wrap | **0.810 ± 0.014** |" in md and "| rff | 0.950 ± – (n=1) |" in md
    assert "| sphereC | < -1 |" in md
    # the constant above every rival: no bold at all
    md2 = markdown(summarize(rows("wrap", (-0.1, -0.2)) + rows("sh", (-0.3, -0.2)) + rows("constant", (0.0, 0.0)))[0])
    assert "**" not in md2


def _block_row(rec: dict, ci: list, ts: float) -> dict:
    """``rec`` as a current-layout row of the block bootstrap (its identity has the ``ci`` part)."""
    from geobench.evaluation.identity import cell_key, setting_of
    from geobench.evaluation.records import SCHEMA_VERSION

    ident = {**rec["identity"], "ci": "block:deg=10"}
    key = cell_key(ident, rec["task"], rec["encoder"], rec["head"], rec["split"], rec["seed"])
    return {**{k: v for k, v in rec.items() if k not in ("legacy_key", "upgraded_from")}, "identity": ident,
            "key": key, "setting": setting_of(ident), "schema_version": SCHEMA_VERSION, "ci_method": "block:deg=10",
            "ci_blocks": 160, "ci95": {"r2": ci}, "timestamp": ts}


def test_seed_interval_and_test_point_ci_widths_are_separate_by_method():
    """Linear: three old rows (i.i.d. CIs) re-run with the block bootstrap; MLP: old rows only;
    LightGBM: one seed. The board shows the newest linear setting (†) with its block widths only,
    MLP's i.i.d. widths in their own column, and no spread for a single seed."""
    from scipy import stats

    from geobench.reporting.comparison import RANDOM_SPLIT as RANDOM
    from geobench.reporting.leaderboard import markdown, summarize

    r2 = [0.841, 0.852, 0.846]
    old = [_rec("wrap", "linear", RANDOM, s, {"r2": v}, primary_metric="r2", ci95={"r2": [v - 0.028, v + 0.026]},
                timestamp=1.0 + s) for s, v in enumerate(r2)]
    new = [_block_row(r, [r["metrics"]["r2"] - w / 2, r["metrics"]["r2"] + w / 2], 10.0 + i)
           for i, (r, w) in enumerate(zip(old, (0.071, 0.083, 0.077)))]
    mlp = [_rec("wrap", "mlp", RANDOM, s, {"r2": v}, primary_metric="r2", ci95={"r2": [v - 0.02, v + 0.02]})
           for s, v in enumerate((0.90, 0.91))]
    lgbm = [_rec("wrap", "lightgbm", RANDOM, 0, {"r2": 0.88}, primary_metric="r2", ci95={"r2": [0.86, 0.90]})]
    t, _ = summarize(old + new + mlp + lgbm)
    t = t.set_index("head")
    lin = t.loc["linear"]
    assert (lin.n_seeds, lin.superseded, lin.ci_method) == (3, 1, "block:deg=10")
    half = stats.t.ppf(0.975, 2) * np.std(r2, ddof=1) / np.sqrt(3)  # t(0.975, 2) = 4.303
    assert (lin.seed_ci_lo, lin.seed_ci_hi) == pytest.approx((np.mean(r2) - half, np.mean(r2) + half))
    assert lin.block_ci_width == pytest.approx(0.077) and np.isnan(lin.iid_ci_width)
    m = t.loc["mlp"]
    assert m.ci_method == "iid" and m.iid_ci_width == pytest.approx(0.04) and np.isnan(m.block_ci_width)
    assert (m.seed_ci_lo, m.seed_ci_hi) == pytest.approx((0.905 - 12.706 * 0.005, 0.905 + 12.706 * 0.005), abs=1e-4)
    one = t.loc["lightgbm"]
    assert one.n_seeds == 1 and np.isnan(one["std"]) and np.isnan(one.seed_ci_lo) and np.isnan(one.seed_ci_hi)
    md = markdown(t.reset_index())
    assert "| wrap | 0.880 ± – |" in md and "0.000" not in md  # one seed: no spread, and no bold best
    assert "spatial block bootstrap (`block:deg=10`) in 1 cell(s)" in md
    assert "i.i.d. bootstrap in 1 cell(s) (rows before schema 3" in md
    assert "encoder weights or CI method under the same name" in md


def test_gaps_over_the_threshold_name_their_known_differences_or_say_unexplained():
    from geobench.reporting.comparison import explain_gap

    row = {"encoder": "satclip:L=40", "fidelity": "close proxy", "split_note": "assumed", "metric": "accuracy",
           "evidence": "secondary", "diff": 0.2, "n_seeds": 5, "ours_std": 0.0}  # std 0: a deterministic fit
    assert explain_gap(row) == ("other weights (ours trained here); task data: close proxy; split not stated; "
                                "source: secondary")
    assert explain_gap({**row, "task_differs": "ocean, Antarctica"}).startswith(
        "other weights (ours trained here); task data: close proxy (ocean, Antarctica differ);")
    same = {**row, "encoder": "geoclip", "fidelity": "same data", "split_note": "", "diff": -0.1}
    assert explain_gap(same) == "unexplained (source: secondary)"
    assert explain_gap({**same, "evidence": "primary"}) == "unexplained (same data, weights, split)"
    assert explain_gap({**same, "metric": "mse_z"}) == "MSE normalisation inferred, not stated; source: secondary"
    assert explain_gap({**row, "diff": 0.05}) == "" and explain_gap({**row, "diff": float("nan")}) == ""
    # a gap of 0.06 with a seed std of 0.07 over 2 seeds: t = 1.21, p = 0.44 by hand
    noisy = {**same, "diff": 0.06, "n_seeds": 2, "ours_std": 0.07}
    assert explain_gap(noisy) == "within our seed spread (t over 2 seeds, p = 0.44)"
    assert explain_gap({**noisy, "ours_std": 0.001}).startswith("unexplained")  # p = 0.011
    assert explain_gap({**same, "n_seeds": 1}) == "untested, 1 seed: unexplained (source: secondary)"
