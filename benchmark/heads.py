"""Probe heads fitted on frozen embeddings: ``linear`` (RANGE ridge probe), ``mlp``, ``lightgbm``.

Heads are scikit-learn style estimators built by :func:`make_head`::

    head = make_head("linear", "regression", seed=0)
    head.fit(X_train, y_train, X_val, y_val).predict(X_test)

``X`` is an ``(n, d)`` embedding; ``y`` is a float target (regression) or integer class
codes ``0..n_classes-1`` (classification). The training split may miss some classes;
:meth:`Head.predict_scores` always returns ``(n, n_classes)`` scores over the full label set,
with ``-inf`` (decision scores) or ``0`` (probabilities) for classes absent from training,
so they never win. Every head limits itself to ``n_threads`` BLAS/OpenMP/torch/LightGBM
threads. Third-party heads register with :func:`register_head` or the entry-point group
``geobench.heads`` (an entry point names a :class:`Head` subclass).
"""
from __future__ import annotations

import inspect
import itertools
import math
from typing import Any, ClassVar

import numpy as np

from .errors import GeobenchError, InputError
from .registry import Registry
from .threads import limit_threads

KINDS = ("regression", "classification")

HEADS: Registry[type] = Registry("head", entry_point_group="geobench.heads")


class HeadNotApplicableError(GeobenchError):
    """The head cannot run on this task (see ``Head.not_applicable_``); record, do not retry."""


def register_head(name: str):
    """Class decorator registering a :class:`Head` subclass under ``name``."""

    def deco(cls: type) -> type:
        cls.name = name
        HEADS.register(name, cls)
        return cls

    return deco


def make_head(name: str, kind: str, *, seed: int, n_threads: int = 2, tune: bool = False,
              n_classes: int | None = None, **options: Any) -> "Head":
    """Build the head registered as ``name`` for a ``kind`` ('regression'|'classification') task.

    ``n_classes`` is required for classification. ``options`` are head-specific keyword
    arguments (e.g. ``params=`` to fix the MLP/LightGBM hyper-parameters). Unknown names
    raise UnknownNameError listing the valid ones.
    """
    cls = HEADS.get(name)
    return cls(kind, seed=seed, n_threads=n_threads, tune=tune, n_classes=n_classes, **options)


def head_is_applicable(name: str, kind: str, n_classes: int | None = None) -> tuple[bool, str | None]:
    """``(ok, reason)`` for running head ``name`` on a task, decided before fitting."""
    return HEADS.get(name).is_applicable(kind, n_classes)


def not_applicable_reason(name: str, kind: str, n_classes: int | None = None) -> str | None:
    """The reason head ``name`` cannot run on such a task, or None if it can."""
    ok, reason = head_is_applicable(name, kind, n_classes)
    return None if ok else (reason or f"head {name!r} is not applicable")


def _as_2d_float(X: Any, what: str) -> np.ndarray:
    try:
        a = np.asarray(X)
    except Exception as e:  # pragma: no cover - exotic inputs
        raise InputError(f"{what}: cannot convert to an array: {e}") from e
    if a.ndim != 2:
        raise InputError(f"{what}: expected a 2-D (n_points, n_features) array, got shape {a.shape}")
    if a.dtype.kind not in "fiub":
        raise InputError(f"{what}: expected a numeric array, got dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if a.shape[0] and not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a).all(axis=1))
        raise InputError(f"{what}: {bad.size} rows contain NaN/inf (first rows {bad[:10].tolist()}); "
                         "fix the embedding")
    return a


class Head:
    """Base class: validation, label bookkeeping, thread limits.

    Subclasses implement ``_fit(X, y, X_val, y_val)`` with ``y`` float (regression) or compact
    codes ``0..len(classes_)-1`` (classification, ``classes_`` = labels seen in training),
    ``_predict(X)`` (regression) and ``_scores(X)`` -> ``(n, len(classes_))``.
    ``score_kind`` is ``"decision"`` (absent classes get ``-inf``) or ``"proba"`` (``0``).
    """

    name: ClassVar[str] = "head"
    score_kind: ClassVar[str] = "decision"
    uses_validation: ClassVar[bool] = True

    def __init__(self, kind: str, *, seed: int = 0, n_threads: int = 2, tune: bool = False,
                 n_classes: int | None = None, **options: Any) -> None:
        if kind not in KINDS:
            raise InputError(f"head kind must be one of {KINDS}, got {kind!r}")
        if kind == "classification":
            if n_classes is None or int(n_classes) < 2:
                raise InputError(f"classification head {self.name!r} needs n_classes >= 2, got {n_classes!r}")
            n_classes = int(n_classes)
        if not isinstance(n_threads, int) or n_threads < 1:
            raise InputError(f"n_threads must be a positive integer, got {n_threads!r}")
        self.kind = kind
        self.seed = int(seed)
        self.n_threads = n_threads
        self.tune = bool(tune)
        self.n_classes = n_classes
        self.options = dict(options)
        self.chosen_params_: dict[str, Any] = {}
        self.not_applicable_: str | None = None
        self.classes_: np.ndarray | None = None
        self._fitted = False
        self._check_options()

    # -- overridable ---------------------------------------------------------------
    allowed_options: ClassVar[tuple[str, ...]] = ()

    def _check_options(self) -> None:
        unknown = sorted(set(self.options) - set(self.allowed_options))
        if unknown:
            raise InputError(f"head {self.name!r} has no option(s) {unknown}; accepted: "
                             f"{', '.join(self.allowed_options) or '(none)'}")

    @classmethod
    def is_applicable(cls, kind: str, n_classes: int | None = None) -> tuple[bool, str | None]:
        """``(True, None)`` if this head can run on a ``kind`` task with ``n_classes``."""
        return True, None

    def _fit(self, X, y, X_val, y_val) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, X) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scores(self, X) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- public API ----------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (JSON-serialisable)."""
        return {"name": self.name, "kind": self.kind, "seed": self.seed, "n_threads": self.n_threads,
                "tune": self.tune, "n_classes": self.n_classes, **self.options}

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> "Head":
        """Fit on ``(X, y)``; ``(X_val, y_val)`` drives early stopping / model selection.

        If the head is not applicable (see :meth:`is_applicable`), sets ``not_applicable_``
        and returns without fitting; ``predict`` then raises HeadNotApplicableError.
        """
        ok, reason = self.is_applicable(self.kind, self.n_classes)
        if not ok:
            self.not_applicable_ = reason
            return self
        X = _as_2d_float(X, f"head {self.name!r} training X")
        y = self._check_y(y, X.shape[0], "training")
        if (X_val is None) != (y_val is None):
            raise InputError("pass both X_val and y_val, or neither")
        if X_val is not None:
            X_val = _as_2d_float(X_val, f"head {self.name!r} validation X")
            y_val = self._check_y(y_val, X_val.shape[0], "validation")
            if X_val.shape[1] != X.shape[1]:
                raise InputError(f"validation X has {X_val.shape[1]} features but training X has {X.shape[1]}")
            if X_val.shape[0] == 0:
                X_val = y_val = None
        if X.shape[0] < 2:
            raise InputError(f"head {self.name!r}: need at least 2 training points, got {X.shape[0]}")
        self.n_features_in_ = X.shape[1]
        if self.kind == "regression":
            sd = float(np.std(y))
            if not np.isfinite(sd) or sd <= 1e-12 * max(1.0, float(np.abs(y).max())):
                raise InputError(
                    f"target has zero variance in the training split (all values = {float(y[0])!r}); "
                    "a regression probe cannot be fitted. Check the task's target column or the split.")
            self.classes_ = None
            with limit_threads(self.n_threads):
                self._fit(X, y, X_val, y_val)
        else:
            self.classes_ = np.unique(y)
            code = np.full(self.n_classes, -1, dtype=np.int64)
            code[self.classes_] = np.arange(self.classes_.size)
            self._code = code
            yc = code[y]
            yvc = None
            if y_val is not None:
                keep = code[y_val] >= 0  # validation points of classes absent from training cannot be scored
                if keep.any():
                    X_val, yvc = X_val[keep], code[y_val[keep]]
                else:
                    X_val = None
            if self.classes_.size == 1:
                self.chosen_params_ = {"degenerate": "only one class in the training split; predicts it"}
            else:
                with limit_threads(self.n_threads):
                    self._fit(X, yc, X_val, yvc)
        self._fitted = True
        return self

    def _check_y(self, y: Any, n: int, split: str) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise InputError(f"{split} y has shape {y.shape}; expected ({n},) to match X")
        if self.kind == "regression":
            y = y.astype(np.float64)
            if not np.isfinite(y).all():
                raise InputError(f"{split} y contains NaN/inf at rows {np.flatnonzero(~np.isfinite(y))[:10].tolist()}")
            return y
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                raise InputError(f"{split} labels must be integer class codes 0..n_classes-1")
        elif y.dtype.kind not in "iub":
            raise InputError(f"{split} labels must be integer class codes, got dtype {y.dtype}")
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise InputError(f"{split} labels must lie in 0..{self.n_classes - 1} (n_classes={self.n_classes}); "
                             f"got range {int(y.min())}..{int(y.max())}")
        return y

    def _ready(self, X: Any) -> np.ndarray:
        if self.not_applicable_:
            raise HeadNotApplicableError(f"head {self.name!r} not applicable: {self.not_applicable_}")
        if not self._fitted:
            raise InputError(f"head {self.name!r} is not fitted; call fit() first")
        X = _as_2d_float(X, f"head {self.name!r} X")
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"X has {X.shape[1]} features; the head was fitted on {self.n_features_in_}")
        return X

    def predict(self, X: Any) -> np.ndarray:
        """Regression: float predictions in target units. Classification: labels 0..n_classes-1."""
        if self.kind == "classification":
            return np.argmax(self.predict_scores(X), axis=1).astype(np.int64)
        X = self._ready(X)
        with limit_threads(self.n_threads):
            return np.asarray(self._predict(X), dtype=np.float64).reshape(-1)

    def predict_scores(self, X: Any) -> np.ndarray:
        """``(n, n_classes)`` float64 scores; classes absent from training never win."""
        if self.kind != "classification":
            raise InputError(f"predict_scores is only defined for classification (this head is {self.kind})")
        X = self._ready(X)
        fill = -np.inf if self.score_kind == "decision" else 0.0
        out = np.full((X.shape[0], self.n_classes), fill, dtype=np.float64)
        if self.classes_.size == 1:
            out[:, self.classes_[0]] = 0.0 if self.score_kind == "decision" else 1.0
            return out
        with limit_threads(self.n_threads):
            s = np.asarray(self._scores(X), dtype=np.float64)
        out[:, self.classes_] = s
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, seed={self.seed}, tune={self.tune})"


def _carve_validation(n: int, seed: int, frac: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (train_idx, val_idx): ``frac`` of ``n`` rows (at least 1) held out."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = min(max(1, int(round(frac * n))), n - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


# =====================================================================================
# linear: the RANGE probe (MinMaxScaler + RidgeCV / RidgeClassifierCV, alphas 0.1, 1, 10)
# =====================================================================================

RANGE_ALPHAS = (0.1, 1.0, 10.0)


def ridge_gcv(X: np.ndarray, y: np.ndarray | None = None, alphas: tuple[float, ...] = RANGE_ALPHAS, *,
              labels: np.ndarray | None = None, n_labels: int | None = None,
              chunk_rows: int | None = None) -> dict[str, Any]:
    """Ridge with efficient leave-one-out (GCV) alpha selection, identical to sklearn's RidgeCV.

    Same model and selection as ``sklearn.linear_model.RidgeCV(alphas, fit_intercept=True)``
    with ``gcv_mode='auto'`` (score = mean squared LOO error over all points and targets;
    the first best alpha wins), but one eigendecomposition of the centred ``X'X`` (n > d) or
    ``XX'`` (n <= d) is shared by all alphas and targets, and the LOO errors are accumulated
    over row chunks (memory ~ chunk x d).

    Targets: ``y`` ``(n,)`` or ``(n, k)``; or ``labels`` (compact codes ``0..n_labels-1``) for
    the one-vs-all ``{-1, +1}`` encoding of RidgeClassifierCV (binary: one column, +1 for
    label 1), never materialised as an ``n x k`` matrix.
    ``X`` is overwritten (centred in place); pass a copy if you need it.

    Returns ``dict(alpha, coef (d, k), intercept (k,), cv_scores (per alpha, = -mean sq. LOO error))``.
    """
    n, d = X.shape
    alphas = [float(a) for a in alphas]
    if X.dtype != np.float64:
        X = X.astype(np.float64)
    x_mean = X.mean(axis=0)
    X -= x_mean
    onehot = labels is not None
    if onehot:
        labels = np.asarray(labels, dtype=np.int64)
        L = int(n_labels)
        if L < 2:
            raise InputError("ridge_gcv: need at least 2 labels")
        counts = np.bincount(labels, minlength=L).astype(np.float64)
        if L == 2:  # LabelBinarizer: one column, +1 for label 1
            k = 1
            pos = labels == 1
            y_mean = np.array([(2.0 * counts[1] - n) / n])
        else:
            k = L
            y_mean = (2.0 * counts - n) / n  # mean of the {-1, +1} column
    else:
        Y = np.asarray(y, dtype=np.float64)
        Y = Y[:, None] if Y.ndim == 1 else Y
        k = Y.shape[1]
        y_mean = Y.mean(axis=0)
        Yc = Y - y_mean

    def yc_rows(sl: slice) -> np.ndarray:
        """Centred targets for rows ``sl`` as an array (rows, k)."""
        if not onehot:
            return Yc[sl]
        if L == 2:
            return (np.where(pos[sl], 1.0, -1.0) - y_mean[0])[:, None]
        lab = labels[sl]
        out = np.broadcast_to(-1.0 - y_mean, (lab.size, k)).copy()
        out[np.arange(lab.size), lab] += 2.0
        return out

    if chunk_rows is None:
        chunk_rows = int(max(256, min(n, 2**22 // max(d, k, 1))))
    xt1 = X.sum(axis=0)  # ~0 after centring; kept for exact parity with sklearn's intercept term
    # X' Yc, computed without building Yc for the one-hot encoding.
    if onehot and L > 2:
        S = np.zeros((L, d))
        _class_sums(S, labels, X, chunk_rows)
        xty = 2.0 * S.T - np.outer(xt1, 1.0 + y_mean)
    elif onehot:
        xty = (2.0 * X[pos].sum(axis=0) - xt1 - xt1 * y_mean[0])[:, None]
    else:
        xty = X.T @ Yc
    n_a = len(alphas)
    sse = np.zeros(n_a)
    if n > d:  # covariance mode: eigh(X'X)
        evals, V = np.linalg.eigh(X.T @ X)
        B = V.T @ xty  # (d, k)
        b1 = V.T @ xt1
        Ds = [1.0 / (evals + a) for a in alphas]
        # For many targets, ||alpha_c_i||^2 is expanded so that the cost does not scale with k.
        expand = k > d
        if expand:
            M = B @ B.T
            Bm = B @ (1.0 + y_mean)
            yc_sq_const = float(np.sum((1.0 + y_mean) ** 2))
        for s in range(0, n, chunk_rows):
            sl = slice(s, min(n, s + chunk_rows))
            Z = X[sl] @ V
            Z2 = Z * Z
            if not expand:
                Ycs = yc_rows(sl)
            for j, D in enumerate(Ds):
                alpha_d = 1.0 - Z2 @ D
                alpha_d -= (1.0 - Z @ (D * b1)) / n
                if expand:
                    ZD = Z * D
                    lab = labels[sl]
                    yc_sq = yc_sq_const - 4.0 * y_mean[lab]
                    byc = 2.0 * B[:, lab].T - Bm  # rows: B @ Yc_i
                    csq = yc_sq - 2.0 * np.einsum("ij,ij->i", ZD, byc) + np.einsum("ij,ij->i", ZD @ M, ZD)
                    sse[j] += float(np.sum(csq / alpha_d**2))
                else:
                    alpha_c = Ycs - Z @ (D[:, None] * B)
                    sse[j] += float(np.sum((alpha_c / alpha_d[:, None]) ** 2))
        scores = -sse / (n * k)
        best = _first_argmax(scores)
        coef = V @ (Ds[best][:, None] * B)
    else:  # gram mode: eigh(XX')
        evals, Q = np.linalg.eigh(X @ X.T)
        Ycs = yc_rows(slice(0, n))
        QTY = Q.T @ Ycs
        QT1 = Q.T @ np.ones(n)
        Q2 = Q * Q
        cs = []
        for j, a in enumerate(alphas):
            D = 1.0 / (evals + a)
            c = Q @ (D[:, None] * QTY)
            dd = Q2 @ D - (Q @ (D * QT1)) / n
            sse[j] = float(np.sum((c / dd[:, None]) ** 2))
            cs.append(c)
        scores = -sse / (n * k)
        best = _first_argmax(scores)
        coef = X.T @ cs[best]
    intercept = y_mean - x_mean @ coef
    return {"alpha": alphas[best], "coef": coef, "intercept": intercept, "cv_scores": scores.tolist()}


def _class_sums(S: np.ndarray, labels: np.ndarray, X: np.ndarray, chunk: int) -> None:
    """S[c] += sum of rows of X with label c (chunked sparse one-hot product)."""
    from scipy import sparse

    L = S.shape[0]
    for s in range(0, X.shape[0], chunk):
        lab = labels[s : s + chunk]
        E = sparse.csr_matrix((np.ones(lab.size), (lab, np.arange(lab.size))), shape=(L, lab.size))
        S += E @ X[s : s + chunk]


def _first_argmax(scores: np.ndarray) -> int:
    """Index of the first maximum (sklearn keeps an alpha only if strictly better)."""
    best = 0
    for j in range(1, len(scores)):
        if scores[j] > scores[best]:
            best = j
    return best


@register_head("linear")
class LinearHead(Head):
    """RANGE linear probe: MinMaxScaler fitted on train, then RidgeCV (regression) or
    RidgeClassifierCV (classification, one-vs-all {-1, +1} targets, decision scores) with
    alphas (0.1, 1, 10) chosen by efficient leave-one-out on the training split.

    The validation split is not used (the protocol selects alpha by LOO on train).
    Option ``alphas`` (tuple) overrides the grid.
    """

    allowed_options = ("alphas",)
    uses_validation = False

    def _fit(self, X, y, X_val, y_val) -> None:
        from sklearn.preprocessing import MinMaxScaler

        alphas = tuple(self.options.get("alphas", RANGE_ALPHAS))
        self._scaler = MinMaxScaler().fit(X)
        Xs = np.asarray(self._scaler.transform(X), dtype=np.float64)
        if self.kind == "regression":
            r = ridge_gcv(Xs, y, alphas)
        else:
            r = ridge_gcv(Xs, None, alphas, labels=y, n_labels=self.classes_.size)
        self._coef, self._intercept = r["coef"], r["intercept"]
        self.chosen_params_ = {"alpha": r["alpha"], "alphas": list(alphas),
                               "loo_neg_mse": dict(zip(map(str, alphas), r["cv_scores"]))}
        self.alpha_ = r["alpha"]

    def _decision(self, X) -> np.ndarray:
        Xs = np.asarray(self._scaler.transform(X), dtype=np.float64)
        return Xs @ self._coef + self._intercept

    def _predict(self, X) -> np.ndarray:
        return self._decision(X)[:, 0]

    def _scores(self, X) -> np.ndarray:
        f = self._decision(X)
        if f.shape[1] == 1:  # binary: one decision column for label 1
            return np.hstack([-f, f])
        return f


# =====================================================================================
# mlp: torch multilayer perceptron with early stopping and a small validation search
# =====================================================================================

MLP_DEFAULT_GRID = {"hidden": (64, 256), "depth": (1, 2), "lr": (1e-3, 1e-4),
                    "weight_decay": (1e-4,), "dropout": (0.0,)}
MLP_TUNE_GRID = {"hidden": (64, 256, 512), "depth": (1, 2, 3), "lr": (1e-3, 1e-4),
                 "weight_decay": (0.0, 1e-4, 1e-2), "dropout": (0.0, 0.2)}
MLP_TUNE_EXTRA = 16  # tune=True: the default grid plus this many configs sampled from MLP_TUNE_GRID


def _grid(g: dict[str, tuple]) -> list[dict[str, Any]]:
    keys = list(g)
    return [dict(zip(keys, vals)) for vals in itertools.product(*(g[k] for k in keys))]


@register_head("mlp")
class MLPHead(Head):
    """Torch MLP probe. Inputs standardised on train; regression trains MSE on the z-scored
    target (predictions de-standardised), classification cross-entropy over the classes seen
    in training. AdamW (decoupled weight decay), early stopping on the validation loss
    (``patience`` epochs, best weights restored). Hyper-parameters are chosen by validation
    loss over ``MLP_DEFAULT_GRID`` (8 configs) or, with ``tune=True``, that grid plus
    ``MLP_TUNE_EXTRA`` configs sampled (seeded) from ``MLP_TUNE_GRID``. Without a validation
    split, 10 % of train is held out deterministically.

    Options: ``max_epochs`` (200), ``patience`` (10), ``batch_size`` (256 below 20k points, else 1024),
    ``max_samples`` (training samples processed per config, i.e. epochs x n, default 1.5M:
    caps large tasks at ~15 epochs of 100k points so the default search stays ~2 min).
    ``params`` (dict: hidden, depth, lr, weight_decay, dropout) fixes one config.
    Same seed and thread count -> bit-identical predictions.
    """

    score_kind = "proba"
    allowed_options = ("params", "max_epochs", "patience", "batch_size", "max_samples")

    def _configs(self) -> list[dict[str, Any]]:
        if "params" in self.options:
            base = {"hidden": 256, "depth": 1, "lr": 1e-3, "weight_decay": 1e-4, "dropout": 0.0}
            unknown = set(self.options["params"]) - set(base)
            if unknown:
                raise InputError(f"mlp params has unknown keys {sorted(unknown)}; accepted: {sorted(base)}")
            return [{**base, **self.options["params"]}]
        configs = _grid(MLP_DEFAULT_GRID)
        if self.tune:
            pool = [c for c in _grid(MLP_TUNE_GRID) if c not in configs]
            rng = np.random.default_rng(self.seed)
            pick = rng.choice(len(pool), size=min(MLP_TUNE_EXTRA, len(pool)), replace=False)
            configs += [pool[i] for i in sorted(pick)]
        return configs

    def _build(self, d_in: int, d_out: int, cfg: dict[str, Any]):
        import torch.nn as nn

        layers: list = []
        width = d_in
        for _ in range(int(cfg["depth"])):
            layers.append(nn.Linear(width, int(cfg["hidden"])))  # a new module per layer
            layers.append(nn.ReLU())
            if cfg["dropout"] > 0:
                layers.append(nn.Dropout(float(cfg["dropout"])))
            width = int(cfg["hidden"])
        layers.append(nn.Linear(width, d_out))
        return nn.Sequential(*layers)

    def _fit(self, X, y, X_val, y_val) -> None:
        import time

        import torch

        if X_val is None:
            tr, va = _carve_validation(X.shape[0], self.seed)
            X, y, X_val, y_val = X[tr], y[tr], X[va], y[va]
        self._mu = X.mean(axis=0)
        sd = X.std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        Xt = torch.from_numpy(((X - self._mu) / self._sd).astype(np.float32))
        Xv = torch.from_numpy(((X_val - self._mu) / self._sd).astype(np.float32))
        if self.kind == "regression":
            self._ymu, self._ysd = float(y.mean()), float(y.std()) or 1.0
            yt = torch.from_numpy(((y - self._ymu) / self._ysd).astype(np.float32))[:, None]
            yv = torch.from_numpy(((y_val - self._ymu) / self._ysd).astype(np.float32))[:, None]
            d_out, loss_fn = 1, torch.nn.functional.mse_loss
        else:
            yt, yv = torch.from_numpy(y.astype(np.int64)), torch.from_numpy(y_val.astype(np.int64))
            d_out, loss_fn = int(self.classes_.size), torch.nn.functional.cross_entropy
        n = Xt.shape[0]
        bs = int(self.options.get("batch_size", 256 if n <= 20000 else 1024))
        max_epochs = int(self.options.get("max_epochs", 200))
        patience = int(self.options.get("patience", 10))
        max_steps = max(1, math.ceil(int(self.options.get("max_samples", 1_500_000)) / bs))
        results = []
        best = None
        t0 = time.perf_counter()
        for cfg in self._configs():
            r = self._train_one(cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps)
            results.append({**cfg, "val_loss": r["val_loss"], "epochs": r["epochs"], "best_epoch": r["best_epoch"]})
            if best is None or r["val_loss"] < best[1]["val_loss"]:
                best = (cfg, r)
        self._model = best[1]["model"]
        self._model.eval()
        self.chosen_params_ = {**best[0], "best_epoch": best[1]["best_epoch"], "val_loss": best[1]["val_loss"],
                               "batch_size": bs, "n_configs": len(results),
                               "search_seconds": round(time.perf_counter() - t0, 3)}
        self.search_results_ = results

    def _train_one(self, cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps):
        import torch

        # Seed init and dropout without disturbing the caller's global torch RNG state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self._train_seeded(cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps)

    def _train_seeded(self, cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps):
        import torch

        gen = torch.Generator().manual_seed(self.seed)
        model = self._build(Xt.shape[1], d_out, cfg)
        kw = {"lr": float(cfg["lr"]), "weight_decay": float(cfg["weight_decay"])}
        try:  # the fused CPU kernel (torch >= 2.4) takes ~25 % less time per step than the for-loop version
            opt = torch.optim.AdamW(model.parameters(), fused=True, **kw)
        except (RuntimeError, TypeError):
            opt = torch.optim.AdamW(model.parameters(), **kw)
        n = Xt.shape[0]
        best_loss, best_state, best_epoch, bad, steps, epoch = math.inf, None, 0, 0, 0, 0
        for epoch in range(1, max_epochs + 1):
            model.train()
            perm = torch.randperm(n, generator=gen)
            for s in range(0, n, bs):
                idx = perm[s : s + bs]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                steps += 1
            vl = self._eval_loss(model, Xv, yv, loss_fn)
            if vl < best_loss - 1e-7 * abs(best_loss) or best_state is None:
                best_loss, best_epoch, bad = vl, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
            if bad >= patience or steps >= max_steps or not math.isfinite(vl):
                break
        model.load_state_dict(best_state)
        return {"model": model, "val_loss": float(best_loss), "epochs": epoch, "best_epoch": best_epoch}

    @staticmethod
    def _eval_loss(model, Xv, yv, loss_fn) -> float:
        import torch

        model.eval()
        total, n = 0.0, Xv.shape[0]
        with torch.no_grad():
            for s in range(0, n, 8192):
                total += float(loss_fn(model(Xv[s : s + 8192]), yv[s : s + 8192], reduction="sum"))
        return total / n

    def _forward(self, X) -> np.ndarray:
        import torch

        Xt = torch.from_numpy(((X - self._mu) / self._sd).astype(np.float32))
        outs = []
        with torch.no_grad():
            for s in range(0, Xt.shape[0], 8192):
                o = self._model(Xt[s : s + 8192])
                if self.kind == "classification":
                    o = torch.softmax(o, dim=1)
                outs.append(o.numpy().astype(np.float64))
        return np.concatenate(outs) if outs else np.zeros((0, 1))

    def _predict(self, X) -> np.ndarray:
        return self._forward(X)[:, 0] * self._ysd + self._ymu

    def _scores(self, X) -> np.ndarray:
        return self._forward(X)

    def weight_norm(self) -> float:
        """L2 norm of all weight matrices (not biases) of the fitted network."""
        import torch

        return float(torch.sqrt(sum((p.detach() ** 2).sum() for n_, p in self._model.named_parameters()
                                    if n_.endswith("weight"))))


# =====================================================================================
# lightgbm: gradient-boosted trees with early stopping on the validation split
# =====================================================================================

LGBM_MAX_CLASSES = 20
LGBM_DEFAULT = {"num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 20,
                "colsample_bytree": 1.0, "n_estimators": 2000}
LGBM_TUNE_GRID = {"num_leaves": (15, 31, 127), "learning_rate": (0.05, 0.1), "min_child_samples": (5, 20),
                  "colsample_bytree": (1.0,), "n_estimators": (2000,)}


@register_head("lightgbm")
class LightGBMHead(Head):
    """LightGBM probe: LGBMRegressor / LGBMClassifier with early stopping on the validation
    split (``stopping_rounds`` 50, at most ``n_estimators`` rounds), ``num_threads=n_threads``,
    ``deterministic=True``. ``tune=True`` searches ``LGBM_TUNE_GRID`` by the best validation loss.
    Not applicable to classification with more than 20 classes (hours on 2 cores).
    Without a validation split, 10 % of train is held out deterministically.
    Options: ``params`` (dict) overrides LGBM_DEFAULT; ``stopping_rounds`` (50).
    """

    score_kind = "proba"
    allowed_options = ("params", "stopping_rounds")

    @classmethod
    def is_applicable(cls, kind: str, n_classes: int | None = None) -> tuple[bool, str | None]:
        if kind == "classification" and n_classes is not None and n_classes > LGBM_MAX_CLASSES:
            return False, (f"LightGBM multiclass over {n_classes} classes takes hours on 2 cores; "
                           f"skipped (limit {LGBM_MAX_CLASSES} classes)")
        return True, None

    def _configs(self) -> list[dict[str, Any]]:
        if self.tune and "params" not in self.options:
            return _grid(LGBM_TUNE_GRID)
        return [{**LGBM_DEFAULT, **self.options.get("params", {})}]

    def _fit(self, X, y, X_val, y_val) -> None:
        import lightgbm as lgb

        if X_val is None:
            tr, va = _carve_validation(X.shape[0], self.seed)
            X, y, X_val, y_val = X[tr], y[tr], X[va], y[va]
        if self.kind == "classification":  # LightGBM cannot score validation labels it never saw
            keep = np.isin(y_val, np.unique(y))
            X_val, y_val = X_val[keep], y_val[keep]
            if X_val.shape[0] == 0:
                raise InputError("lightgbm: no validation point has a class seen in training; "
                                 "pass a validation split that shares classes with train")
        rounds = int(self.options.get("stopping_rounds", 50))
        best = None
        for cfg in self._configs():
            common = dict(random_state=self.seed, n_jobs=self.n_threads, deterministic=True,
                          force_row_wise=True, verbose=-1, **cfg)
            if self.kind == "regression":
                model = lgb.LGBMRegressor(**common)
            else:
                model = lgb.LGBMClassifier(**common)
            # lightgbm >= 4.7 takes eval_X/eval_y (eval_set is deprecated there); older needs eval_set
            ev = ({"eval_X": (X_val,), "eval_y": (y_val,)} if "eval_X" in inspect.signature(model.fit).parameters
                  else {"eval_set": [(X_val, y_val)]})
            model.fit(X, y, **ev,
                      callbacks=[lgb.early_stopping(rounds, first_metric_only=True, verbose=False)])
            res = model.best_score_["valid_0"]
            val_loss = float(next(iter(res.values())))
            if best is None or val_loss < best[1]:
                best = (cfg, val_loss, model, next(iter(res)))
        cfg, val_loss, self._model, metric = best
        self.chosen_params_ = {**cfg, "best_iteration": int(self._model.best_iteration_ or cfg["n_estimators"]),
                               "val_metric": metric, "val_loss": val_loss, "stopping_rounds": rounds}

    def _predict(self, X) -> np.ndarray:
        return self._model.predict(X, num_threads=self.n_threads)

    def _scores(self, X) -> np.ndarray:
        p = self._model.predict_proba(X, num_threads=self.n_threads)
        out = np.zeros((X.shape[0], self.classes_.size))
        out[:, self._model.classes_.astype(np.int64)] = p
        return out
