"""``linear``: the RANGE ridge probe (k-fold selection in :mod:`geobench.heads.ridge_cv`; leave-one-out
here, with one eigendecomposition shared by all alphas and targets)."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from geobench.errors import InputError

from geobench.heads.base import Head, register_head
from geobench.heads.ridge_cv import RANGE_ALPHAS, _first_argmax, centred_pm1, ridge_kfold


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
        return centred_pm1(labels[sl], L, y_mean) if onehot else Yc[sl]

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


class _MinMax:
    """MinMax scaling to [0, 1] on train that does not depend on the units of the embedding.

    scikit-learn's ``MinMaxScaler`` treats a feature whose range is below ``10 * eps`` of the
    input dtype as constant (for float32, ranges below ~1.2e-6), so an embedding in tiny units
    silently lost all its features. Such features (range > 0 but below that threshold) are scaled
    here in float64; every other feature takes scikit-learn's path unchanged, so the numbers of
    ordinary embeddings stay bit-identical. Output: float64.
    """

    def fit(self, X: np.ndarray) -> "_MinMax":
        from sklearn.preprocessing import MinMaxScaler

        X = np.asarray(X)
        self._sk = MinMaxScaler().fit(X)
        lo, hi = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)  # exact in float64
        rng = hi - lo
        eps = np.finfo(X.dtype if X.dtype.kind == "f" else np.float64).eps
        self._tiny = np.flatnonzero((rng > 0) & (rng < 10 * eps))
        self._lo, self._rng = lo[self._tiny], rng[self._tiny]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        Xs = np.asarray(self._sk.transform(X), dtype=np.float64)
        if self._tiny.size:
            Xs[:, self._tiny] = (np.asarray(X)[:, self._tiny].astype(np.float64) - self._lo) / self._rng
        return Xs


RANGE_CV = {"regression": 3, "classification": 10}


@register_head("linear")
class LinearHead(Head):
    """RANGE linear probe, exactly as RANGE's evaluation code: MinMaxScaler fitted on the
    training data (in float64 for features whose range float32 scaling would lose, see
    :class:`_MinMax`), then ``RidgeCV(alphas=(0.1, 1, 10), cv=3)`` (regression) or
    ``RidgeClassifierCV(alphas=(0.1, 1, 10), cv=10)`` (classification, one-vs-all {-1, +1}
    targets, decision scores): alpha chosen by sklearn's k-fold search (:func:`ridge_kfold`),
    then a refit on all training data. The solve is in float64: on float64 embeddings the
    predictions equal scikit-learn's to 1e-9; on float32 ones (the grid's cache) scikit-learn
    would solve in float32, so they differ by float32 rounding (about 1e-5 relative).

    The head does not use a validation split (``uses_validation = False``): the grid fits it on
    train + val. Options: ``alphas`` (tuple) overrides the grid; ``cv`` is ``"range"`` (3 folds
    for regression, 10 for classification), a number of folds, or ``"loo"`` for efficient
    leave-one-out (:func:`ridge_gcv`, sklearn's ``RidgeCV(cv=None)``).
    ``chosen_params_``: alpha, alphas, cv, the mean CV score per alpha, ``alpha_at_edge``.
    """

    uses_validation: ClassVar[bool] = False
    version: ClassVar[int] = 2  # 2: k-fold selection as RANGE (was leave-one-out), fit on train + val

    def __init__(self, kind: str = "regression", *, seed: int = 0, n_threads: int = 2, tune: bool = False,
                 n_classes: int | None = None, alphas: tuple[float, ...] = RANGE_ALPHAS,
                 cv: str = "range") -> None:
        super().__init__(kind, seed=seed, n_threads=n_threads, tune=tune, n_classes=n_classes)
        self.alphas = alphas
        self.cv = cv

    def _cv(self) -> int | str:
        """The resolved ``cv``: "loo" or a number of folds >= 2 (InputError otherwise)."""
        cv = self.cv
        if isinstance(cv, str):
            cv = cv.strip().lower()
            if cv == "range":
                return RANGE_CV[self.kind]
            if cv == "loo":
                return cv
            if not cv.isdigit():
                raise InputError(f"linear: cv must be 'range', 'loo' or a number of folds >= 2, got {self.cv!r}")
            cv = int(cv)
        if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
            raise InputError(f"linear: cv must be 'range', 'loo' or a number of folds >= 2, got {self.cv!r}")
        return int(cv)

    def _fit(self, X, y, X_val, y_val) -> None:
        alphas = tuple(float(a) for a in self.alphas)
        if not alphas:
            raise InputError("linear: alphas must not be empty")
        cv = self._cv()
        self._scaler = _MinMax().fit(X)
        Xs = self._scaler.transform(X)
        clf = self.kind != "regression"
        if cv == "loo":
            r = ridge_gcv(Xs, None if clf else y, alphas, **({"labels": y, "n_labels": self.classes_.size} if clf else {}))
            score_name = "loo_neg_mse"
        else:
            r = ridge_kfold(Xs, None if clf else y, alphas, cv=cv,
                            **({"labels": y, "n_labels": self.classes_.size} if clf else {}))
            score_name = "cv_accuracy" if clf else "cv_r2"
        self._coef, self._intercept = r["coef"], r["intercept"]
        self.chosen_params_ = {"alpha": r["alpha"], "alphas": list(alphas), "cv": cv,
                               score_name: dict(zip(map(str, alphas), r["cv_scores"])),
                               "alpha_at_edge": bool(len(alphas) > 1 and r["alpha"] in (min(alphas), max(alphas)))}
        self.alpha_ = r["alpha"]
    def _decision(self, X) -> np.ndarray:
        Xs = self._scaler.transform(X)
        return Xs @ self._coef + self._intercept

    def _predict(self, X) -> np.ndarray:
        return self._decision(X)[:, 0]

    def _scores(self, X) -> np.ndarray:
        f = self._decision(X)
        if f.shape[1] == 1:  # binary: one decision column for label 1
            return np.hstack([-f, f])
        return f
