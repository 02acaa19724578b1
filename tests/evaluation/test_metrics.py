"""Metrics: agreement with sklearn, top-k semantics (one tie rule, shared by the iNaturalist
protocol) and vectorised bootstrap confidence intervals."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score, mean_absolute_error, mean_squared_error, r2_score

from geobench.errors import InputError
from geobench.evaluation.metrics import bootstrap_ci, classification_metrics, regression_metrics, topk_accuracy


def reg_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, n)
    return y, y + rng.normal(0, 5, n)


def clf_data(n=3000, C=12, seed=0, signal=1.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    s = rng.normal(size=(n, C))
    s[np.arange(n), y] += signal
    return y, s


def test_regression_metrics_match_sklearn_and_z_scale():
    y, p = reg_data()
    m = regression_metrics(y, p, train_mean=48.0, train_std=10.0)
    assert m["r2"] == pytest.approx(r2_score(y, p), rel=1e-12)
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-12)
    z = lambda v: (v - 48.0) / 10.0  # noqa: E731
    assert m["mse_z"] == pytest.approx(mean_squared_error(z(y), z(p)), rel=1e-12)
    assert m["n"] == y.size
    assert all(type(v) in (float, int) for v in m.values())


def test_r2_undefined_for_tiny_or_constant_groups():
    assert regression_metrics([1.0], [2.0], train_mean=0, train_std=1)["r2"] is None
    assert regression_metrics([3.0, 3.0], [2.0, 3.0], train_mean=0, train_std=1)["r2"] is None
    with pytest.raises(InputError, match="train_std"):
        regression_metrics([1.0, 2.0], [1.0, 2.0], train_mean=0, train_std=0.0)


def test_classification_metrics_match_sklearn_with_present_labels():
    y, s = clf_data(C=12)
    y[y == 11] = 10  # class 11 absent from y_true ...
    s[:, 11] = -np.inf  # ... and never predicted: excluded from the macro averages
    s[:, 5] += 0.8  # class 5 is over-predicted
    m = classification_metrics(y, s, n_classes=12)
    pred = s.argmax(1)
    labels = np.union1d(y, pred)
    assert 11 not in labels
    assert m["accuracy"] == pytest.approx(np.mean(pred == y))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", labels=labels), rel=1e-12)
    assert m["miou"] == pytest.approx(jaccard_score(y, pred, average="macro", labels=labels), rel=1e-12)
    assert m["top3"] <= m["top5"] <= m["top10"] and m["accuracy"] <= m["top3"]
    json.dumps(m, allow_nan=False)


def test_topk_monotone_tie_break_and_trivial_k():
    y, s = clf_data(C=20, signal=0.5)
    accs = [topk_accuracy(y, s, k) for k in range(1, 21)]
    assert all(a <= b for a, b in zip(accs, accs[1:]))
    assert accs[0] == pytest.approx(np.mean(s.argmax(1) == y))
    assert accs[-1] == 1.0 and accs[0] < 0.5 < accs[9]
    # exact top-k against a brute-force sort (stable: lower index wins ties)
    order = np.argsort(-s, axis=1, kind="stable")
    assert accs[4] == pytest.approx(np.mean([y[i] in order[i, :5] for i in range(y.size)]))
    # ties like argmax: all-equal scores -> only class 0 is "top-1"
    flat = np.zeros((4, 3))
    assert topk_accuracy(np.array([0, 1, 2, 0]), flat, 1) == 0.5
    assert topk_accuracy(np.array([0, 1, 2, 0]), flat, 2) == 0.75
    # few classes: top-k for k >= n_classes is trivial and reported as None
    m = classification_metrics(np.array([0, 1, 2, 1]), np.eye(3)[[0, 1, 1, 1]], n_classes=3)
    assert m["top3"] is None and m["top5"] is None and m["accuracy"] == 0.75


def test_classification_metrics_from_labels_and_bad_input():
    m = classification_metrics(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), n_classes=4)
    assert m["accuracy"] == 0.75 and m["top5"] is None
    with pytest.raises(InputError, match="NaN"):
        classification_metrics(np.array([0, 1]), np.array([[0.1, np.nan], [0.2, 0.3]]), n_classes=2)
    with pytest.raises(InputError, match="columns"):
        classification_metrics(np.array([0, 1]), np.zeros((2, 3)), n_classes=2)


def test_inat_topk_uses_the_same_tie_rule():
    """The iNaturalist protocol's top-k is topk_accuracy: on tied scores the lower class index ranks first."""
    from geobench.tasks.inaturalist_protocol import _topk

    y = np.array([0, 1, 2, 3, 11])
    flat = np.zeros((5, 12))  # all tied: class c has rank c
    got = _topk(y, flat)
    assert got == {"top1": 0.2, "top3": 0.6, "top5": 0.8, "top10": 0.8}
    y2, s2 = clf_data(n=500, C=12, seed=3)
    assert _topk(y2, s2)["top5"] == topk_accuracy(y2, s2, 5)


def test_task_primary_metric_is_declared_on_the_spec():
    from geobench.tasks.base import TaskSpec, get_spec

    assert get_spec("air_temperature").primary_metric == "r2"
    assert get_spec("countries").primary_metric == "accuracy"
    spec = TaskSpec("t", "classification", "y", "class", "d", "c", "same data", (), primary_metric="top5")
    assert spec.primary_metric == "top5"


def test_bootstrap_ci_contains_estimate():
    rng = np.random.default_rng(0)
    n = 20000
    y = rng.normal(size=n)
    p = 0.8 * y + rng.normal(scale=0.6, size=n)
    lo, hi = bootstrap_ci(y, p, "r2", seed=0)
    est = regression_metrics(y, p, train_mean=0, train_std=1)["r2"]
    assert lo < est < hi and hi - lo < 0.05
    yc, s = clf_data(n=n, C=30, signal=1.0)
    lo_a, hi_a = bootstrap_ci(yc, s, "accuracy", seed=0)
    acc = classification_metrics(yc, s, n_classes=30)["accuracy"]
    assert lo_a < acc < hi_a
    # same seed -> same interval; a different seed -> (slightly) different
    assert bootstrap_ci(y, p, "r2", seed=0) == (lo, hi)
    assert bootstrap_ci(y, p, "r2", seed=1) != (lo, hi)


def test_bootstrap_vectorised_equals_looped_reference():
    yc, s = clf_data(n=1500, C=8, signal=1.0)
    pred = s.argmax(1)

    def f1_ref(a, b):
        return f1_score(a, b, average="macro", labels=np.union1d(a, b))

    def iou_ref(a, b):
        return jaccard_score(a, b, average="macro", labels=np.union1d(a, b))

    for name, ref in (("macro_f1", f1_ref), ("miou", iou_ref)):
        fast = bootstrap_ci(yc, s, name, seed=3, n_boot=60)
        slow = bootstrap_ci(yc, pred, ref, seed=3, n_boot=60)
        assert fast == pytest.approx(slow, rel=1e-12)
    y, p = reg_data(n=500)
    assert bootstrap_ci(y, p, "r2", seed=2, n_boot=80) == pytest.approx(
        bootstrap_ci(y, p, r2_score, seed=2, n_boot=80), rel=1e-10)
    assert bootstrap_ci(y, p, "mse_z", seed=2, n_boot=80, train_std=10.0) == pytest.approx(
        bootstrap_ci(y, p, lambda a, b: mean_squared_error(a, b) / 100.0, seed=2, n_boot=80), rel=1e-10)
    assert bootstrap_ci(yc, s, "top3", seed=2, n_boot=50) == pytest.approx(
        bootstrap_ci(yc, s, lambda a, b: topk_accuracy(a, b, 3), seed=2, n_boot=50))
    # a callable may return None for an undefined resample (constant y_true): dropped
    lo, hi = bootstrap_ci(np.array([1.0, 1.0, 1.0, 2.0]), np.array([1.0, 1.2, 0.9, 2.1]),
                          lambda a, b: regression_metrics(a, b, train_mean=0, train_std=1)["r2"], seed=0, n_boot=200)
    assert lo is not None and lo <= hi <= 1.0
    with pytest.raises(InputError, match="unknown metric"):
        bootstrap_ci(y, p, "r3", seed=0)
