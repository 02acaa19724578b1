"""Protocol sections of the results page, computed from real records: hold-out errors in the
target's unit against the ``constant`` reference, the linear head's alpha-at-edge counts and a
wider-grid sensitivity run, and the MLP's sample cap (recorded, and derived for older rows)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geobench.evaluation.runner import run_grid
from geobench.heads.mlp import MLPHead
from geobench.reporting.protocol_notes import alpha_edge_lines, holdout_error_lines, mlp_at_cap, mlp_cap_lines

WIDE = "linear:alphas=0.001/0.01/0.1/1/10/100"


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    d = tmp_path_factory.mktemp("notes")
    kw = dict(results_dir=d, tracking_uri="none", progress=False)
    main = run_grid(["air_temperature"], ["constant", "wrap", "sh"], ["linear"], ["continent:Africa", "random"], 2,
                    **kw).records
    wide = run_grid(["air_temperature"], ["wrap", "sh"], [WIDE], ["random"], 2, **kw).records
    return main, wide


def test_holdout_errors_in_degrees_with_the_constant_row(records):
    main, _ = records
    lines = holdout_error_lines(main)
    text = "\n".join(lines)
    assert "RMSE (degC)" in text and "**constant** (no location)" in text
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| encoder")]
    assert len(rows) == 3  # one per encoder, random-split rows excluded
    # sorted by RMSE; each value equals the mean of the records' rmse
    afr = [r for r in main if r["split"].startswith("continent")]
    for enc in ("constant", "wrap", "sh"):
        v = np.mean([r["metrics"]["rmse"] for r in afr if r["encoder"] == enc])
        assert any(f"{v:.2f} ±" in ln and enc in ln for ln in rows), enc
    rmse = [float(ln.split("|")[2].split("±")[0]) for ln in rows]
    assert rmse == sorted(rmse)
    # the constant predictor is far off on Africa: its R^2 is strongly negative, its skill 0
    const = next(ln for ln in rows if "constant" in ln)
    assert float(const.split("|")[4].split("±")[0]) < -3 and "0.000" in const.split("|")[5]


def test_alpha_edge_counts_and_the_sensitivity_table(records):
    main, wide = records
    lin = [r for r in main if r["head"] == "linear"]
    lines = alpha_edge_lines(main, wide)
    all_row = next(ln for ln in lines if ln.startswith("| all |"))
    n_edge = sum(r["head_params"]["alpha_at_edge"] for r in lin)
    assert all_row.split("|")[2].strip() == str(len(lin))
    assert all_row.split("|")[3].strip() == f"{n_edge / len(lin):.0%}"
    sens = [ln for ln in lines if ln.startswith("| air_temperature | 4 |")]
    assert len(sens) == 1  # 2 encoders x 2 seeds on the random split, paired with the RANGE grid
    by = {(r["encoder"], r["seed"]): r["metrics"]["r2"] for r in lin if r["split"].startswith("random")}
    diffs = [r["metrics"]["r2"] - by[r["encoder"], r["seed"]] for r in wide]
    assert sens[0].split("|")[3].strip() == f"{np.mean(diffs):+.4f}"


@pytest.mark.parametrize("max_samples,patience,signal,v1", [(20_000, 50, 1.0, True), (400_000, 2, 0.0, False),
                                                         (20_000, 50, 0.0, False)])
def test_mlp_cap_derived_for_old_rows_is_the_version_1_flag(max_samples, patience, signal, v1):
    """The rule used for rows written before ``best_epoch_at_cap`` existed gives version 1's flag:
    the sample cap stopped the run while it was still improving (its best epoch the last or the
    next-to-last). Version 2 records any stop by a cap, so on pure noise (best epoch 1, then the
    cap) the two differ: the old rule says not at the cap, the head's own flag says it was."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3500, 8))
    y = signal * X @ rng.normal(size=8) + rng.normal(size=3500)  # signal 0: nothing to learn
    head = MLPHead("regression", seed=0, n_threads=1, params={"hidden": 32}, max_samples=max_samples,
                   patience=patience, max_epochs=200, tol=1e-7, decays=0, min_patience_steps=1).fit(
        X[:3000], y[:3000], eval_set=[(X[3000:], y[3000:])])
    hp = dict(head.chosen_params_)
    recorded = hp.pop("best_epoch_at_cap")
    by_hand = hp["stopped_by"] == "max_samples" and hp["best_epoch"] >= hp["epochs"] - 1  # version 1's flag
    assert by_hand is v1
    row = pd.Series({"head_params": hp, "n_train": 3000})
    assert mlp_at_cap(row, max_samples=max_samples, max_epochs=200) is v1
    assert recorded is (hp["stopped_by"] == "max_samples")  # version 2: any stop by a cap


def test_mlp_cap_table_counts_recorded_flags():
    recs = [{"key": f"k{i}", "setting": "s", "head": "mlp", "split": "random", "task": "elevation", "encoder": f"e{i}",
             "seed": 0, "status": "ok", "primary_metric": "r2", "metrics": {"r2": 0.5}, "timestamp": 1.0,
             "n_train": 60_000 if i < 3 else 2000, "head_params": {"best_epoch_at_cap": i in (0, 1)}}
            for i in range(5)]
    lines = mlp_cap_lines(recs)
    assert "| ≥ 20,000 | 3 | 2 | 67% |" in lines and "| < 20,000 | 2 | 0 | 0% |" in lines
