"""Probe heads: RANGE ridge parity with sklearn, learning real signal, MLP determinism and
weight decay, LightGBM early stopping and applicability, unseen classes, thread limits."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.preprocessing import MinMaxScaler

from geobench.errors import InputError, UnknownNameError
from geobench.heads import HEADS, HeadNotApplicableError, head_is_applicable, make_head, not_applicable_reason
from geobench.heads.lightgbm import LGBM_MAX_CLASSES
from geobench.heads.linear import ridge_gcv
from geobench.threads import limit_threads

SMALL_MLP = {"hidden": 64, "depth": 1, "lr": 1e-3, "weight_decay": 1e-4, "dropout": 0.0}
# Behaviour tests of the iterative heads use one thread: on a busy 2-core machine two OpenMP
# threads per op wait on each other and the tests slow down 10x; results do not depend on it.
T1 = {"n_threads": 1}


def fourier_embedding(lonlat: np.ndarray, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Random Fourier features of the unit-sphere position: a smooth location embedding."""
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
    rng = np.random.default_rng(seed)
    W = rng.normal(scale=3.0, size=(3, dim // 2))
    return np.hstack([np.sin(xyz @ W), np.cos(xyz @ W)])


def random_points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))])


def smooth_target(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return 20 * np.cos(lat) + 5 * np.sin(2 * lon) * np.cos(lat) - 3


def r2(y, p):
    return 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


def synthetic(n, d, k=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    t = np.tanh(X @ rng.normal(size=d) / np.sqrt(d)) + 0.3 * rng.normal(size=n)
    if k is None:
        return X, 10 * t + 5
    return X, np.searchsorted(np.quantile(t, np.linspace(0, 1, k + 1)[1:-1]), t)


# ------------------------------------------------------------------ linear / ridge parity


@pytest.mark.parametrize("n,d", [(5000, 100), (80, 120)])  # covariance mode and gram mode
def test_linear_regression_matches_sklearn_ridgecv(n, d):
    X, y = synthetic(n, d)
    Xte, _ = synthetic(1000, d, seed=1)
    head = make_head("linear", "regression", seed=0, cv="loo").fit(X, y)
    sc = MinMaxScaler().fit(X)
    ref = RidgeCV(alphas=(0.1, 1, 10)).fit(sc.transform(X), y)
    assert head.chosen_params_["alpha"] == ref.alpha_
    assert max(head.chosen_params_["loo_neg_mse"].values()) == pytest.approx(ref.best_score_, rel=1e-9)
    b = ref.predict(sc.transform(Xte))
    np.testing.assert_allclose(head.predict(Xte), b, rtol=0, atol=1e-9 * np.abs(b).max())


@pytest.mark.parametrize("n,d,k", [(5000, 100, 2), (5000, 100, 7), (2000, 30, 60), (150, 200, 4)])
def test_linear_classification_matches_sklearn_ridgeclassifiercv(n, d, k):
    # (2000, 30, 60): more classes than features -> the expanded LOO path; (150, 200): gram mode.
    X, y = synthetic(n, d, k)
    Xte, _ = synthetic(1000, d, k, seed=1)
    head = make_head("linear", "classification", seed=0, n_classes=k, cv="loo").fit(X, y)
    sc = MinMaxScaler().fit(X)
    ref = RidgeClassifierCV(alphas=(0.1, 1, 10)).fit(sc.transform(X), y)
    assert head.chosen_params_["alpha"] == ref.alpha_
    dec = ref.decision_function(sc.transform(Xte))
    s = head.predict_scores(Xte)
    got = s[:, 1] if k == 2 else s
    np.testing.assert_allclose(got, dec, rtol=0, atol=1e-9 * np.abs(dec).max())
    np.testing.assert_array_equal(head.predict(Xte), ref.predict(sc.transform(Xte)))


def test_linear_alpha_selection_differs_by_data_and_matches_sklearn():
    # A noisy, over-parameterised problem prefers strong regularisation; a clean one weak.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 150))
    noisy = rng.normal(size=200)
    clean = X[:, 0] * 2 + 0.01 * rng.normal(size=200)
    picks = []
    for y in (noisy, clean):
        h = make_head("linear", "regression", seed=0, cv="loo").fit(X, y)
        ref = RidgeCV(alphas=(0.1, 1, 10)).fit(MinMaxScaler().fit_transform(X), y)
        assert h.alpha_ == ref.alpha_
        picks.append(h.alpha_)
    assert picks == [10.0, 0.1]


def test_ridge_gcv_multitarget_equals_single_targets():
    X, y = synthetic(600, 20)
    Y = np.column_stack([y, -2 * y + 1])
    both = ridge_gcv(X.copy(), Y)
    one = ridge_gcv(X.copy(), y)
    np.testing.assert_allclose(both["coef"][:, 0], one["coef"][:, 0], rtol=1e-10)
    np.testing.assert_allclose(both["coef"][:, 1], -2 * one["coef"][:, 0], rtol=1e-10)


def test_linear_learns_smooth_function_of_coordinates_and_not_noise():
    pts = random_points(4000, seed=0)
    X = fourier_embedding(pts)
    y = smooth_target(pts)
    tr, te = slice(0, 3000), slice(3000, None)
    head = make_head("linear", "regression", seed=0).fit(X[tr], y[tr])
    assert r2(y[te], head.predict(X[te])) > 0.9
    noise = np.random.default_rng(5).normal(size=4000)
    head_n = make_head("linear", "regression", seed=0).fit(X[tr], noise[tr])
    assert abs(r2(noise[te], head_n.predict(X[te]))) < 0.05
    json.dumps(head.chosen_params_)


def test_zero_variance_target_raises_input_error():
    X = np.random.default_rng(0).normal(size=(50, 4))
    for name in ("linear", "mlp", "lightgbm"):
        with pytest.raises(InputError, match="target has zero variance in the training split"):
            make_head(name, "regression", seed=0).fit(X, np.full(50, 3.5))


def test_unknown_head_lists_valid_names():
    with pytest.raises(UnknownNameError, match="linear.*mlp|lightgbm.*linear"):
        make_head("ridge", "regression", seed=0)
    assert {"linear", "mlp", "lightgbm"} <= set(HEADS.names())


def test_bad_inputs_are_rejected_with_clear_errors():
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(InputError, match="n_classes"):
        make_head("linear", "classification", seed=0)
    with pytest.raises(InputError, match="0..2"):
        make_head("linear", "classification", seed=0, n_classes=3).fit(X, np.arange(30) % 4)
    Xn = X.copy()
    Xn[4, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        make_head("linear", "regression", seed=0).fit(Xn, np.arange(30.0))
    with pytest.raises(InputError, match="no option"):
        make_head("linear", "regression", seed=0, hidden=3)


# --------------------------------------------------------------------- unseen classes


@pytest.mark.parametrize("name,fill", [("linear", -np.inf), ("mlp", 0.0), ("lightgbm", 0.0)])
def test_class_absent_from_training_never_wins(name, fill):
    pts = random_points(900, seed=2)
    X = fourier_embedding(pts, dim=16)
    y = np.digitize(pts[:, 1], [-30, 0, 30])  # 4 latitude bands -> classes 0..3
    n_classes = 6  # classes 4, 5 never occur; class 2 is dropped from training
    train = y != 2
    opts = {"params": SMALL_MLP, "max_epochs": 20} if name == "mlp" else {}
    head = make_head(name, "classification", seed=0, n_classes=n_classes, **T1, **opts)
    head.fit(X[train][:600], y[train][:600], eval_set=[(X[train][600:], y[train][600:])])
    s = head.predict_scores(X)
    assert s.shape == (900, n_classes)
    assert np.all(s[:, [2, 4, 5]] == fill)
    pred = head.predict(X)
    assert not np.isin(pred, [2, 4, 5]).any()
    assert np.mean(pred[y != 2] == y[y != 2]) > 0.7
    if name != "linear":
        np.testing.assert_allclose(s.sum(axis=1), 1.0, atol=1e-6)


def test_single_training_class_predicts_it():
    X = np.random.default_rng(0).normal(size=(20, 3))
    head = make_head("linear", "classification", seed=0, n_classes=3).fit(X, np.full(20, 1))
    assert (head.predict(X) == 1).all()
    assert head.predict_scores(X).shape == (20, 3)


# ------------------------------------------------------------------------------ MLP


def test_mlp_same_seed_bit_identical_different_seed_differs():
    pts = random_points(1200, seed=4)
    X = fourier_embedding(pts, dim=32)
    y = smooth_target(pts)
    opts = {"params": {**SMALL_MLP, "depth": 2, "dropout": 0.2}, "max_epochs": 5}  # default 2 threads
    import torch

    rng_state = torch.get_rng_state()
    p1 = make_head("mlp", "regression", seed=7, **opts).fit(X[:1000], y[:1000]).predict(X[1000:])
    assert torch.equal(torch.get_rng_state(), rng_state)  # the caller's torch RNG is left alone
    p2 = make_head("mlp", "regression", seed=7, **opts).fit(X[:1000], y[:1000]).predict(X[1000:])
    p3 = make_head("mlp", "regression", seed=8, **opts).fit(X[:1000], y[:1000]).predict(X[1000:])
    assert np.array_equal(p1, p2)
    assert not np.array_equal(p1, p3)


def test_mlp_learns_smooth_function_and_destandardises():
    pts = random_points(3000, seed=6)
    X = fourier_embedding(pts, dim=32)
    y = smooth_target(pts) * 100 + 1e4  # large offset/scale: predictions must come back in units
    head = make_head("mlp", "regression", seed=0, params={**SMALL_MLP, "hidden": 128}, max_epochs=60, **T1)
    head.fit(X[:2000], y[:2000], eval_set=[(X[2000:2500], y[2000:2500])])
    assert r2(y[2500:], head.predict(X[2500:])) > 0.9
    assert head.chosen_params_["best_epoch"] >= 1
    json.dumps(head.chosen_params_)


def test_mlp_weight_decay_shrinks_weights():
    pts = random_points(800, seed=1)
    X = fourier_embedding(pts, dim=32)
    y = smooth_target(pts)
    norms = {}
    for wd in (0.0, 5.0):
        head = make_head("mlp", "regression", seed=0, params={**SMALL_MLP, "weight_decay": wd},
                         max_epochs=80, patience=1000, **T1)
        head.fit(X[:600], y[:600], eval_set=[(X[600:], y[600:])])
        norms[wd] = head.weight_norm()
    assert norms[5.0] < 0.7 * norms[0.0]


def test_mlp_hidden_layers_have_their_own_weights():
    X, y = synthetic(300, 8)
    head = make_head("mlp", "regression", seed=0, params={**SMALL_MLP, "hidden": 16, "depth": 3}, max_epochs=2)
    head.fit(X, y)  # no validation split given: 10 % of train held out
    import torch.nn as nn

    lins = [m for m in head._model.modules() if isinstance(m, nn.Linear)]
    assert len(lins) == 4 and len({id(m) for m in lins}) == 4
    w1, w2 = lins[1].weight.detach().numpy(), lins[2].weight.detach().numpy()
    assert w1.shape == w2.shape == (16, 16) and not np.array_equal(w1, w2)


def test_mlp_default_search_covers_grid_and_picks_lowest_val_loss():
    X, y = synthetic(400, 8)
    head = make_head("mlp", "regression", seed=0, max_epochs=3, **T1).fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])])
    res = head.search_results_
    assert len(res) == 8
    assert {(r["hidden"], r["depth"], r["lr"]) for r in res} == {
        (h, d, lr) for h in (64, 256) for d in (1, 2) for lr in (1e-3, 1e-4)}
    assert head.chosen_params_["val_loss"] == min(r["val_loss"] for r in res)
    tuned = make_head("mlp", "regression", seed=0, tune=True)._configs()
    assert len(tuned) > 8 and {c["weight_decay"] for c in tuned} > {1e-4}


# ------------------------------------------------------------------------- LightGBM


def test_lightgbm_early_stopping_and_learning():
    pts = random_points(3000, seed=9)
    X = fourier_embedding(pts, dim=16)
    y = smooth_target(pts) + np.random.default_rng(0).normal(scale=3.0, size=3000)
    head = make_head("lightgbm", "regression", seed=0, **T1).fit(X[:2000], y[:2000], eval_set=[(X[2000:2500], y[2000:2500])])
    assert 1 <= head.chosen_params_["best_iteration"] < head.chosen_params_["n_estimators"]
    assert r2(y[2500:], head.predict(X[2500:])) > 0.6
    json.dumps(head.chosen_params_)


def test_lightgbm_not_applicable_above_20_classes():
    ok, reason = head_is_applicable("lightgbm", "classification", LGBM_MAX_CLASSES + 1)
    assert not ok and "21 classes" in reason and "limit 20" in reason
    assert head_is_applicable("lightgbm", "classification", LGBM_MAX_CLASSES) == (True, None)
    assert head_is_applicable("linear", "classification", 5000) == (True, None)
    assert not_applicable_reason("lightgbm", "classification", 21) == reason
    assert not_applicable_reason("lightgbm", "regression") is None
    X = np.random.default_rng(0).normal(size=(100, 3))
    head = make_head("lightgbm", "classification", seed=0, n_classes=25).fit(X, np.arange(100) % 25)
    assert head.not_applicable_ == head_is_applicable("lightgbm", "classification", 25)[1]
    assert "25 classes" in head.not_applicable_
    with pytest.raises(HeadNotApplicableError):
        head.predict(X)


# ---------------------------------------------------------------------------- threads


def test_limit_threads_sets_and_restores():
    import torch
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert torch.get_num_threads() == before
    assert "torch" in sys.modules


# ------------------------------------------------------------------ scikit-learn estimators


@pytest.mark.parametrize("name,opts", [("linear", {"alphas": (0.5, 5.0)}),
                                       ("mlp", {"params": SMALL_MLP, "max_epochs": 5}),
                                       ("lightgbm", {"params": {"n_estimators": 30}, "stopping_rounds": 5})])
def test_heads_are_clonable_estimators(name, opts):
    """get_params/set_params/clone follow scikit-learn: a clone refits to the same predictions."""
    from sklearn.base import clone

    X, y = synthetic(600, 8)
    head = make_head(name, "regression", seed=4, **T1, **opts)
    params = head.get_params()
    assert params["seed"] == 4 and params["kind"] == "regression" and all(params[k] == v for k, v in opts.items())
    twin = clone(head)
    assert twin is not head and twin.get_params() == params and not hasattr(twin, "chosen_params_")
    a = head.fit(X[:400], y[:400], eval_set=[(X[400:500], y[400:500])]).predict(X[500:])
    b = twin.fit(X[:400], y[:400], eval_set=[(X[400:500], y[400:500])]).predict(X[500:])
    np.testing.assert_array_equal(a, b)
    other = clone(head).set_params(seed=5)
    assert other.get_params()["seed"] == 5 and head.get_params()["seed"] == 4


def test_heads_validate_parameters_in_fit():
    head = make_head("linear", "regression", seed=0).set_params(kind="ordinal")
    with pytest.raises(InputError, match="head kind must be one of"):
        head.fit(np.zeros((4, 2)), np.arange(4.0))
    with pytest.raises(InputError, match=r"eval_set must be a list of \(X_val, y_val\) pairs"):
        make_head("mlp", "regression", seed=0).fit(np.zeros((4, 2)), np.arange(4.0), eval_set=[np.zeros((2, 2))])
