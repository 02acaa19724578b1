"""The default ``linear`` head is RANGE's probe exactly: MinMaxScaler + RidgeCV(cv=3) /
RidgeClassifierCV(cv=10) with alphas (0.1, 1, 10), on real tasks; ``cv=loo`` keeps the old
leave-one-out selection; the grid fits the head on train + val."""
from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.preprocessing import MinMaxScaler

from geobench.encoding import get_encoder
from geobench.heads import make_head
from geobench.tasks.base import load_task


def _embed(task: str, encoder: str, **opts):
    pts = load_task(task, **opts)
    X = np.asarray(get_encoder(encoder).encode(pts.lonlat), dtype=np.float64)
    return X, pts.y


def _split(n: int, seed: int = 0):
    perm = np.random.default_rng(seed).permutation(n)
    a = int(0.8 * n)
    return np.sort(perm[:a]), np.sort(perm[a:])


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


@pytest.mark.parametrize("encoder", ["wrap", "sh"])
def test_regression_equals_minmax_ridgecv_cv3_on_air_temperature(encoder):
    X, y = _embed("air_temperature", encoder)
    tr, te = _split(len(y))
    head, t_head = _timed(lambda: make_head("linear", "regression", seed=0).fit(X[tr], y[tr]))

    def sk():
        sc = MinMaxScaler().fit(X[tr])
        return sc, RidgeCV(alphas=(0.1, 1, 10), cv=3).fit(sc.transform(X[tr]), y[tr])

    (sc, ref), t_sk = _timed(sk)
    assert head.chosen_params_["alpha"] == ref.alpha_ and head.chosen_params_["cv"] == 3
    assert max(head.chosen_params_["cv_r2"].values()) == pytest.approx(ref.best_score_, rel=1e-9)
    b = ref.predict(sc.transform(X[te]))
    diff = float(np.abs(head.predict(X[te]) - b).max())
    print(f"\nair_temperature/{encoder} d={X.shape[1]} n={tr.size}: alpha={ref.alpha_} max|diff|={diff:.2e} "
          f"(scale {np.abs(b).max():.3g}); fit {t_head:.3f}s, sklearn {t_sk:.3f}s")
    assert diff <= 1e-9 * np.abs(b).max()
    assert head.chosen_params_["alpha_at_edge"] == (ref.alpha_ in (0.1, 10.0))


def test_classification_equals_minmax_ridgeclassifiercv_cv10_on_countries():
    X, y = _embed("countries", "sh", n_points=3000)
    tr, te = _split(len(y))
    classes = np.unique(y[tr])
    head, t_head = _timed(lambda: make_head("linear", "classification", seed=0,
                                            n_classes=int(y.max()) + 1).fit(X[tr], y[tr]))

    def sk():
        sc = MinMaxScaler().fit(X[tr])
        return sc, RidgeClassifierCV(alphas=(0.1, 1, 10), cv=10).fit(sc.transform(X[tr]), y[tr])

    import warnings

    with warnings.catch_warnings():  # rare countries: fewer members than folds
        warnings.simplefilter("ignore", UserWarning)
        (sc, ref), t_sk = _timed(sk)
    assert head.chosen_params_["alpha"] == ref.alpha_ and head.chosen_params_["cv"] == 10
    assert max(head.chosen_params_["cv_accuracy"].values()) == pytest.approx(ref.best_score_, rel=1e-12)
    dec = ref.decision_function(sc.transform(X[te]))
    got = head.predict_scores(X[te])[:, classes]
    diff = float(np.abs(got - dec).max())
    print(f"\ncountries/sh d={X.shape[1]} n={tr.size} classes={classes.size}: alpha={ref.alpha_} "
          f"max|diff|={diff:.2e} (scale {np.abs(dec).max():.3g}); fit {t_head:.3f}s, sklearn {t_sk:.3f}s")
    assert diff <= 1e-9 * np.abs(dec).max()
    np.testing.assert_array_equal(head.predict(X[te]), ref.predict(sc.transform(X[te])))


def test_cv_option_loo_and_folds():
    X, y = _embed("air_temperature", "wrap")
    loo = make_head("linear", "regression", seed=0, cv="loo").fit(X, y)
    sc = MinMaxScaler().fit(X)
    ref = RidgeCV(alphas=(0.1, 1, 10)).fit(sc.transform(X), y)
    assert loo.chosen_params_["cv"] == "loo" and loo.alpha_ == ref.alpha_
    np.testing.assert_allclose(loo.predict(X[:500]), ref.predict(sc.transform(X[:500])), rtol=1e-9)
    five = make_head("linear", "regression", seed=0, cv="5").fit(X, y)
    ref5 = RidgeCV(alphas=(0.1, 1, 10), cv=5).fit(sc.transform(X), y)
    assert five.chosen_params_["cv"] == 5 and five.alpha_ == ref5.alpha_
    from geobench.errors import InputError

    for bad in ("1", "kfold", 1):
        with pytest.raises(InputError):
            make_head("linear", "regression", seed=0, cv=bad).fit(X[:100], y[:100])


def test_grid_fits_linear_on_train_plus_val(tmp_path):
    from geobench.evaluation.records import read_records
    from geobench.evaluation.runner import run_grid

    run_grid(["air_temperature"], ["wrap"], ["linear", "linear:cv=loo", "lightgbm"], ["random"], [0],
             task_options={"n_points": 1000}, results_dir=tmp_path, tracking_uri="none", progress=False, n_boot=0)
    rows = {r["head"]: r for r in read_records(tmp_path / "runs.jsonl")}
    lgb = rows["lightgbm"]
    for h in ("linear", "linear:cv=loo"):
        r = rows[h]
        assert r["n_train"] == lgb["n_train"] + lgb["n_val"] and r["n_val"] == 0 and r["n_test"] == lgb["n_test"]
        assert r["head_params"]["fit_on"] == "train+val" and "alpha_at_edge" in r["head_params"]
    assert rows["linear"]["head_params"]["cv"] == 3 and rows["linear:cv=loo"]["head_params"]["cv"] == "loo"
    assert "fit_on" not in lgb["head_params"] and lgb["n_val"] > 0


@pytest.mark.parametrize("n,d,k", [(150, 200, 0), (150, 200, 5), (600, 20, 2), (400, 30, 12)])
def test_kfold_paths_equal_sklearn_on_synthetic_data(n, d, k):
    """Gram mode (n <= d), binary and multiclass (with classes missing from some folds) paths."""
    rng = np.random.default_rng(n + d + k)
    X = rng.normal(size=(n, d))
    Xte = rng.normal(size=(200, d))
    sc = MinMaxScaler().fit(X)
    if k == 0:
        y = X[:, 0] + 0.5 * rng.normal(size=n)
        head = make_head("linear", "regression", seed=0).fit(X, y)
        ref = RidgeCV(alphas=(0.1, 1, 10), cv=3).fit(sc.transform(X), y)
        b, got = ref.predict(sc.transform(Xte)), head.predict(Xte)
    else:
        y = np.minimum((np.abs(X[:, 0] * 3 + rng.normal(size=n))).astype(int), k - 1)
        y[:k] = np.arange(k)  # every class present, some rare
        import warnings

        head = make_head("linear", "classification", seed=0, n_classes=k).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ref = RidgeClassifierCV(alphas=(0.1, 1, 10), cv=10).fit(sc.transform(X), y)
        b = ref.decision_function(sc.transform(Xte))
        got = head.predict_scores(Xte)
        got = got[:, 1] if k == 2 else got
        np.testing.assert_array_equal(head.predict(Xte), ref.predict(sc.transform(Xte)))
    assert head.alpha_ == ref.alpha_
    assert max(next(v for key, v in head.chosen_params_.items() if key.startswith("cv_")).values()) == \
        pytest.approx(ref.best_score_, rel=1e-12)
    np.testing.assert_allclose(got, b, rtol=0, atol=1e-9 * np.abs(b).max())


@pytest.mark.parametrize("task,kind,encoder,n_points", [("air_temperature", "regression", "sh", None),
                                                         ("countries", "classification", "sh", 3000)])
def test_float32_embeddings_as_the_grid_caches_them(task, kind, encoder, n_points):
    """The grid caches embeddings as float32. scikit-learn then stays in float32; the head scales
    them as scikit-learn does and solves in float64. Same alpha, predictions within ~1e-5."""
    import warnings

    X, y = _embed(task, encoder, **({"n_points": n_points} if n_points else {}))
    X = X.astype(np.float32)
    tr, te = _split(len(y))
    n_classes = int(y.max()) + 1 if kind == "classification" else None
    head = make_head("linear", kind, seed=0, n_classes=n_classes).fit(X[tr], y[tr])
    sc = MinMaxScaler().fit(X[tr])
    est = RidgeCV(alphas=(0.1, 1, 10), cv=3) if kind == "regression" else \
        RidgeClassifierCV(alphas=(0.1, 1, 10), cv=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = est.fit(sc.transform(X[tr]), y[tr])
    assert head.alpha_ == ref.alpha_
    if kind == "regression":
        b = ref.predict(sc.transform(X[te]))
        rel = float(np.abs(head.predict(X[te]) - b).max() / np.abs(b).max())
    else:
        b = ref.decision_function(sc.transform(X[te]))
        rel = float(np.abs(head.predict_scores(X[te])[:, np.unique(y[tr])] - b).max() / np.abs(b).max())
        assert np.mean(head.predict(X[te]) == ref.predict(sc.transform(X[te]))) > 0.995
    assert rel < 1e-4  # float32 rounding in scikit-learn's solve, not a different model
