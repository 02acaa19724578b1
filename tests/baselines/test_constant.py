"""The ``constant`` reference encoder: no location, so every head reduces to a label-only
predictor. Under the linear head it must be exactly the ``constant`` head (train + val mean,
majority class), with a skill of 0, on real tasks and on every split kind."""
from __future__ import annotations

import numpy as np
import pytest

from geobench.encoding import ENCODERS, default_encoders, get_encoder
from geobench.evaluation.runner import run_grid


def test_constant_is_registered_label_only_and_in_the_grid():
    assert ENCODERS.get("constant").kind == "label-only"
    assert "constant" in default_encoders()  # `--encoder all` and `reproduce` run it
    emb = get_encoder("constant").encode(np.array([[100.0, 10.0], [-70.0, -45.0]]))
    assert emb.shape == (2, 1) and np.all(emb == 1.0)


@pytest.mark.parametrize("task,split,n_points", [
    ("air_temperature", "continent:Africa", None),   # the hold-out whose -7 R^2 needs this row
    ("air_temperature", "spatial_block", None),
    ("countries", "random", 3000),                   # classification: the majority class
])
def test_linear_head_on_constant_equals_the_constant_head(tmp_path, task, split, n_points):
    opts = {"n_points": n_points} if n_points else None
    res = run_grid([task], ["constant"], ["linear", "constant"], [split], 2, results_dir=tmp_path,
                   tracking_uri="none", progress=False, task_options=opts)
    by = {(r["head"], r["seed"]): r for r in res.records}
    assert len(by) == 4
    for seed in (0, 1):
        lin, ref = by["linear", seed]["metrics"], by["constant", seed]["metrics"]
        assert lin["skill"] == pytest.approx(0.0, abs=1e-12)
        for k in ("r2", "rmse", "mae") if "r2" in lin else ("accuracy", "macro_f1"):
            assert lin[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-12), k
    if task == "air_temperature" and split.startswith("continent"):
        # a train-mean predictor is far off on Africa: the reference that makes hold-out R^2 readable
        assert by["linear", 0]["metrics"]["r2"] < -3
