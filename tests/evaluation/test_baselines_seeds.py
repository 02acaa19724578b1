"""Issue 15: the constant reference and skill, separate split/head seeds, the MLP cap flag,
the spatial-block buffer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geobench.evaluation.metrics import classification_metrics, regression_metrics
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid
from geobench.heads import make_head

KW = dict(tracking_uri="none", progress=False, n_boot=0)


def _preds(results: Path, rec: dict) -> pd.DataFrame:
    p = Path(rec["predictions"])
    return pd.read_parquet(p if p.is_absolute() else results / p)


def test_constant_head_on_africa_zero_shot(tmp_path):
    run_grid(["air_temperature"], ["direct"], ["constant"], ["continent:Africa"], [0], results_dir=tmp_path, **KW)
    (rec,) = read_records(tmp_path / "runs.jsonl")
    assert rec["status"] == "ok"
    assert rec["metrics"]["r2"] < 0
    assert rec["metrics"]["skill"] == 0.0
    assert rec["head_params"]["train_mean"] == pytest.approx(float(_preds(tmp_path, rec)["pred"].iloc[0]))
    for cont, m in rec["per_continent"].items():  # hold-out numbers in target units
        assert {"rmse", "mae", "skill"} <= set(m)


def test_skill_of_a_real_encoder_by_hand(tmp_path):
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["continent:Africa"], [0], results_dir=tmp_path, **KW)
    (rec,) = read_records(tmp_path / "runs.jsonl")
    preds = _preds(tmp_path, rec)
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.tasks.base import load_task

    pts = load_task("air_temperature")
    tr, va, te = apply_split(pts.df, parse_split("continent:Africa"), 0)
    assert np.array_equal(np.sort(preds["row"].to_numpy()), te)
    yt, yp = preds["y"].to_numpy(), preds["pred"].to_numpy()
    mse = np.mean((yt - yp) ** 2)
    fit_rows = np.union1d(tr, va)  # the linear head fits on train + val; the constant reference too
    assert rec["head_params"]["fit_on"] == "train+val" and rec["n_train"] == fit_rows.size
    mse_const = np.mean((yt - np.mean(pts.y[fit_rows])) ** 2)
    assert rec["metrics"]["skill"] == pytest.approx(1 - mse / mse_const, rel=1e-9)
    assert rec["metrics"]["rmse"] == pytest.approx(np.sqrt(mse), rel=1e-9)


def test_constant_classification_and_skill():
    rng = np.random.default_rng(0)
    y = np.array([0, 1, 1, 2, 1, 0, 1, 2])
    head = make_head("constant", "classification", seed=0, n_classes=4).fit(rng.normal(size=(8, 3)), y)
    s = head.predict_scores(rng.normal(size=(5, 3)))
    assert s.shape == (5, 4) and (s.argmax(1) == 1).all()
    yt = np.array([1, 1, 0, 2, 3])
    assert classification_metrics(yt, s, n_classes=4, majority_class=1)["skill"] == 0.0
    perfect = np.eye(4)[yt]
    assert classification_metrics(yt, perfect, n_classes=4, majority_class=1)["skill"] == 1.0
    half = classification_metrics(yt, np.eye(4)[[1, 1, 0, 0, 0]], n_classes=4, majority_class=1)
    assert half["skill"] == pytest.approx((0.6 - 0.4) / 0.6)
    reg = make_head("constant", "regression", seed=0).fit(np.zeros((4, 2)), np.array([1.0, 2, 3, 6]))
    assert (reg.predict(np.zeros((3, 2))) == 3.0).all()
    m = regression_metrics(np.array([1.0, 5.0]), np.array([1.0, 4.0]), train_mean=3.0, train_std=1.0)
    assert m["skill"] == pytest.approx(1 - 0.5 / 4.0)


def test_split_seed_is_separate_from_the_head_seed(tmp_path):
    from geobench.evaluation.splits import parse_split

    assert str(parse_split("random")) == "random:train=0.6:val=0.2"  # unset: committed names unchanged
    assert str(parse_split("spatial_block:buffer=0")) == "spatial_block:deg=10.0:train=0.6:val=0.2"
    assert parse_split("random:seed=7").split_seed(3) == 7 and parse_split("random").split_seed(3) == 3
    run_grid(["air_temperature"], ["wrap"], ["mlp:max_epochs=3"], ["random:seed=7"], [0, 1], results_dir=tmp_path, **KW)
    recs = sorted(read_records(tmp_path / "runs.jsonl"), key=lambda r: r["seed"])
    assert [(r["seed"], r["split_seed"]) for r in recs] == [(0, 7), (1, 7)]
    assert recs[0]["identity"] != recs[1]["identity"] and recs[0]["key"] != recs[1]["key"]
    a, b = (_preds(tmp_path, r).sort_values("row") for r in recs)
    assert np.array_equal(a["row"].to_numpy(), b["row"].to_numpy())
    assert not np.allclose(a["pred"].to_numpy(), b["pred"].to_numpy())
    run_grid(["air_temperature"], ["wrap"], ["constant"], ["random"], [0, 1], results_dir=tmp_path / "u", **KW)
    u = sorted(read_records(tmp_path / "u" / "runs.jsonl"), key=lambda r: r["seed"])
    assert [(r["seed"], r["split_seed"]) for r in u] == [(0, 0), (1, 1)]  # default: the cell seed drives both
    ua, ub = (_preds(tmp_path / "u", r)["row"].to_numpy() for r in u)
    assert not np.array_equal(np.sort(ua), np.sort(ub))


def test_spatial_block_buffer():
    from scipy.spatial import cKDTree

    from geobench.coords import lonlat_to_xyz
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.tasks.base import load_task
    from geobench.coords import EARTH_RADIUS_KM

    df = load_task("air_temperature").df
    xyz = lonlat_to_xyz(df[["lon", "lat"]].to_numpy(dtype=np.float64))

    def nearest_km(tr, va, te):
        d, _ = cKDTree(xyz[te]).query(xyz[np.concatenate([tr, va])], k=1)
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(d / 2, 1))

    plain = apply_split(df, parse_split("spatial_block"), 0)
    buf = apply_split(df, parse_split("spatial_block:buffer=200"), 0)
    assert (nearest_km(*plain) < 200).any()
    assert nearest_km(*buf).min() > 200
    assert np.array_equal(plain[2], buf[2])  # the test blocks are the same
    assert set(buf[0]) <= set(plain[0]) and set(buf[1]) <= set(plain[1])


def test_mlp_records_best_epoch_at_cap(tmp_path):
    """A run stopped by a budget cap (samples or epochs) is flagged; one that converged is not."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=1000)
    fixed = {"hidden": 16, "depth": 1, "lr": 1e-3}
    capped = make_head("mlp", "regression", seed=0, params=fixed, max_samples=2000).fit(X, y)
    assert capped.chosen_params_["best_epoch_at_cap"] is True and capped.chosen_params_["stopped_by"] == "max_samples"
    assert capped.chosen_params_["epochs"] == 2  # ceil(2000 / 256) = 8 batches: 2 epochs of 900 points (4 batches)
    short = make_head("mlp", "regression", seed=0, params=fixed, max_epochs=3).fit(X, y)
    assert short.chosen_params_["best_epoch_at_cap"] is True and short.chosen_params_["stopped_by"] == "max_epochs"
    free = make_head("mlp", "regression", seed=0, params={**fixed, "lr": 1e-2}, min_patience_steps=1).fit(X, y)
    assert free.chosen_params_["stopped_by"] == "converged" and free.chosen_params_["best_epoch_at_cap"] is False
    assert free.chosen_params_["lr_decays"] == 2 and free.chosen_params_["epochs"] < 300
    run_grid(["air_temperature"], ["wrap"], ["mlp:max_samples=3000"], ["random"], [0], results_dir=tmp_path, **KW)
    (rec,) = read_records(tmp_path / "runs.jsonl")
    assert rec["head_params"]["best_epoch_at_cap"] is True


def test_exclude_named_continents(tmp_path):
    from geobench.tasks.base import load_task
    from geobench.errors import InputError

    full = load_task("countries")
    drop = load_task("countries", exclude="Antarctica")
    assert "Antarctica" in set(full.df["continent"]) and "Antarctica" not in set(drop.df["continent"])
    assert len(drop) == len(full) - int((full.df["continent"] == "Antarctica").sum())
    assert drop.options["exclude"] == "Antarctica" and "exclude" not in full.options
    assert drop.sha256 != full.sha256 and drop.classes == full.classes
    assert load_task("countries", exclude="Oceania/Antarctica").options["exclude"] == "Antarctica/Oceania"
    with pytest.raises(InputError, match="no continent"):
        load_task("countries", exclude="Atlantis")
    run_grid(["countries"], ["wrap"], ["constant"], ["random"], [0], results_dir=tmp_path,
             task_options={"exclude": "Antarctica"}, **KW)
    (rec,) = read_records(tmp_path / "runs.jsonl")
    assert rec["task_options"] == {"exclude": "Antarctica"}
    assert rec["identity"]["task"]["options"]["exclude"] == "Antarctica"
    assert "Antarctica" not in rec["per_continent"]
    assert rec["n_train"] + rec["n_val"] + rec["n_test"] == len(drop)


def test_few_shot_records_the_unseen_classes_and_the_accuracy_ceiling(tmp_path):
    """Classes absent from training can never be predicted: the record says how many there are and
    the best reachable accuracy, and no head exceeds it."""
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.tasks.base import load_task

    split = "continent:Africa:fewshot=0.01"
    run_grid(["countries"], ["sh"], ["linear"], [split], [0], results_dir=tmp_path,
             task_options={"n_points": 3000}, **KW)
    (rec,) = read_records(tmp_path / "runs.jsonl")
    pts = load_task("countries", n_points=3000)
    tr, va, te = apply_split(pts.df, parse_split(split), 0)
    fit = np.union1d(tr, va)  # the linear head fits on train + val
    seen = np.isin(pts.y[te], np.unique(pts.y[fit]))
    assert rec["metrics"]["n_unseen_classes"] == np.unique(pts.y[te][~seen]).size > 0
    assert rec["metrics"]["accuracy_ceiling"] == pytest.approx(seen.mean())
    assert rec["metrics"]["accuracy"] <= rec["metrics"]["accuracy_ceiling"] < 1
