"""Split variance vs probe variance: the two-way decomposition of split seeds x head seeds, the
table built from records, and its section of the results page."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geobench.reporting.variance import components, variance_section, variance_table

RANDOM = "random:train=0.6:val=0.2"


def test_components_follow_the_documented_formulas():
    y = np.array([[0.912, 0.905, 0.915], [0.884, 0.879, 0.890], [0.931, 0.926, 0.929]])
    c = components(y)
    n_i, n_j = y.shape
    a, b, m = y.mean(1), y.mean(0), y.mean()
    # two-way ANOVA without replication: mean squares of rows, columns and the residual
    ms_a, ms_b = n_j * np.sum((a - m) ** 2) / (n_i - 1), n_i * np.sum((b - m) ** 2) / (n_j - 1)
    ss_e = np.sum((y - m) ** 2) - (n_i - 1) * ms_a - (n_j - 1) * ms_b
    ms_e = ss_e / ((n_i - 1) * (n_j - 1))
    assert c["v_split"] == pytest.approx(ms_a / n_j) and c["v_head"] == pytest.approx(ms_b / n_i)
    assert c["v_res"] == pytest.approx(ms_e)
    assert c["s2_split"] == pytest.approx((ms_a - ms_e) / n_j)
    assert c["s2_probe"] == pytest.approx(max(0.0, (ms_b - ms_e) / n_i) + ms_e)
    assert c["mean"] == pytest.approx(m) and 0.9 < c["split_share"] < 1.0


def test_a_deterministic_head_has_no_probe_variance():
    y = np.repeat([[0.85], [0.87], [0.80]], 3, axis=1)  # the linear head: the same score for every head seed
    c = components(y)
    assert c["v_head"] == c["v_res"] == c["s2_probe"] == 0.0
    assert c["s2_split"] == pytest.approx(np.var([0.85, 0.87, 0.80], ddof=1)) and c["split_share"] == 1.0
    with pytest.raises(ValueError, match="at least 2 split seeds"):
        components(y[:1])


def test_components_recover_known_variances_on_average():
    """3 x 3 designs with a split effect (sd 0.02) and a probe draw per (split, head seed) (sd 0.01):
    the method-of-moments components are about right on average."""
    rng = np.random.default_rng(0)
    est = np.array([[components(0.9 + rng.normal(0, 0.02, (3, 1)) + rng.normal(0, 0.01, (3, 3)))[k]
                     for k in ("s2_split", "s2_probe")] for _ in range(3000)])
    s2_split, s2_probe = est.mean(axis=0)
    assert s2_split == pytest.approx(0.02**2, rel=0.1) and s2_probe == pytest.approx(0.01**2, rel=0.25)


def _row(encoder, head, split_seed, seed, r2, split=RANDOM, task="air_temperature"):
    split_s = f"{split}:seed={split_seed}" if split_seed is not None else split
    ident = {"task": {"name": task}, "encoder": {"spec": encoder}, "head": {"name": head, "version": 1},
             "split": split_s, "ci": "block:deg=10", "seed": seed}
    return {"key": f"{task}|{encoder}|{head}|{split_s}|{seed}", "task": task, "encoder": encoder, "head": head,
            "split": split_s, "seed": seed, "split_seed": split_seed if split_seed is not None else seed,
            "status": "ok", "metrics": {"r2": r2}, "primary_metric": "r2", "identity": ident, "setting": "s",
            "ci95": {"r2": [r2 - 0.02, r2 + 0.02]}, "ci_method": "block:deg=10",
            "schema_version": 3, "timestamp": 1.0, "provenance": {"command": "geobench run --split random:seed=0 ..."}}


def _crossed(rng, head="mlp", probe=0.004):
    split_effect = {0: 0.0, 1: -0.03, 2: 0.02}
    return [_row("wrap", head, k, j, 0.88 + split_effect[k] + (rng.normal(0, probe) if probe else 0.0))
            for k in range(3) for j in range(3)]


def test_the_table_crosses_split_seeds_with_head_seeds_only():
    rng = np.random.default_rng(1)
    recs = _crossed(rng) + _crossed(rng, head="linear", probe=0.0)
    recs += [_row("wrap", "mlp", None, j, 0.5) for j in range(3)]  # plain `random`: the seed drove both
    recs += [_row("wrap", "mlp", 3, 0, 0.1)]  # split seed 3 with one head seed: outside the crossed set
    t = variance_table(recs).set_index("head")
    assert list(t.index) == ["linear", "mlp"] and set(t.split) == {RANDOM}
    mlp, lin = t.loc["mlp"], t.loc["linear"]
    assert (mlp.n_split_seeds, mlp.n_head_seeds) == (3, 3)  # split seed 3 left out
    assert mlp.v_split == pytest.approx(np.var([0.0, -0.03, 0.02], ddof=1), rel=0.3) and mlp.split_share > 0.8
    assert 0 < mlp.s2_probe < 1e-4
    assert lin.v_head == lin.v_res == lin.s2_probe == 0.0 and lin.split_share == 1.0
    assert mlp.block_ci_width == pytest.approx(0.04)  # beside the components: the runs' block-bootstrap width


def test_the_results_page_section_comes_from_the_variance_folder(tmp_path):
    from geobench.evaluation.records import append_records
    from geobench.reporting.results_page import write_results_md

    assert variance_section(tmp_path / "variance") == []
    append_records(tmp_path / "variance" / "runs.jsonl", _crossed(np.random.default_rng(2)))
    lines = variance_section(tmp_path / "variance")
    assert lines[0] == "## Split variance vs probe variance"
    assert "    geobench run --split random:seed=0 ..." in lines
    assert any(line.startswith("| wrap | mlp | 0.8") and line.endswith("| 0.0400 |") for line in lines)
    assert f"From `{tmp_path.name}/variance/runs.jsonl`" in lines[2]
    fix = Path(__file__).parents[1] / "fixtures" / "runs_small.jsonl"
    (tmp_path / "runs.jsonl").write_bytes(fix.read_bytes())
    page = write_results_md(tmp_path, tmp_path / "docs" / "results.md").read_text()
    assert "## Split variance vs probe variance" in page
    assert page.index("## Split variance") < page.index("## Figures")
