"""No leakage across seeds: each seed's MLP search sees only that seed's training and validation
points. Refitting a grid cell's head by hand on that seed's own split gives the record's choice
and predictions; another seed's validation points (test points of this seed) play no part."""
from __future__ import annotations

import numpy as np
import pandas as pd

from geobench.encoding import get_encoder
from geobench.encoding.embed import embed
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid
from geobench.evaluation.splits import apply_split, parse_split
from geobench.heads import make_head
from geobench.tasks.base import load_task

CHOICE = ("hidden", "depth", "lr", "best_epoch", "val_loss")


def test_each_seed_searches_on_its_own_validation_split(tmp_path):
    run_grid(["air_temperature"], ["wrap"], ["mlp"], ["random"], 2, results_dir=tmp_path, tracking_uri="none",
             progress=False, n_boot=0)
    recs = {r["seed"]: r for r in read_records(tmp_path / "runs.jsonl")}
    points = load_task("air_temperature")
    X = np.load(embed(get_encoder("wrap"), points.lonlat, points.sha256)[0])
    y = points.y
    parts = {s: apply_split(points.df, parse_split("random"), s) for s in (0, 1)}
    # seed 1's validation points include test points of seed 0: a shared search would have seen them
    assert np.intersect1d(parts[1][1], parts[0][2]).size > 0
    for seed, (tr, va, te) in parts.items():
        head = make_head("mlp", "regression", seed=seed, n_threads=2).fit(X[tr], y[tr], eval_set=[(X[va], y[va])])
        rec = recs[seed]
        assert {k: head.chosen_params_[k] for k in CHOICE} == {k: rec["head_params"][k] for k in CHOICE}
        preds = pd.read_parquet(tmp_path / rec["predictions"])
        assert np.array_equal(preds["row"].to_numpy(), te)
        assert np.allclose(preds["pred"].to_numpy(), head.predict(X[te]), rtol=0, atol=1e-9)
