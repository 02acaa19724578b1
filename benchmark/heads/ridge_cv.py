"""k-fold ridge alpha selection, identical to scikit-learn's ``RidgeCV(alphas, cv=k)`` and
``RidgeClassifierCV(alphas, cv=k)`` (RANGE's linear probe), at a fraction of its cost.

scikit-learn refits ``Ridge`` for every (alpha, fold): ``len(alphas) x k`` Gram matrices of
``n x d`` rows. Here, when every fold's training part has more rows than features, the
centred Gram matrix of a fold is *downdated* from one full Gram matrix (minus the fold's test
rows, minus the mean correction), and each alpha is one Cholesky solve of ``d x d`` -- the
same linear system scikit-learn solves (``_solve_cholesky``). With fewer rows than features, one
eigendecomposition of ``XX'`` per fold is shared by all alphas (scikit-learn's kernel path
solves the same dual system). Both also share the solve across all one-vs-all targets.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

RANGE_ALPHAS = (0.1, 1.0, 10.0)


def _solve_gram(G: np.ndarray, xty: np.ndarray, alphas: tuple[float, ...]) -> list[np.ndarray]:
    """``(G + alpha I)^-1 xty`` for each alpha by Cholesky (as sklearn's ``_solve_cholesky``);
    an eigendecomposition if ``G + alpha I`` is not numerically positive definite."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    out = []
    for a in alphas:
        A = G.copy()
        A.flat[:: A.shape[0] + 1] += a
        try:
            out.append(cho_solve(cho_factor(A, overwrite_a=True, check_finite=False), xty, check_finite=False))
        except LinAlgError:
            evals, V = np.linalg.eigh(G)
            out.append(V @ ((V.T @ xty) / (evals + a)[:, None]))
    return out


def centred_pm1(labels: np.ndarray, n_labels: int, y_mean: np.ndarray) -> np.ndarray:
    """The one-vs-all ``{-1, +1}`` targets of ``labels`` (codes ``0..n_labels-1``) minus their
    column means ``y_mean``, as scikit-learn's RidgeClassifier encodes them: binary = one column,
    +1 for label 1; otherwise one column per label. Shape ``(n, 1 or n_labels)``."""
    if n_labels == 2:
        return (np.where(labels == 1, 1.0, -1.0) - y_mean[0])[:, None]
    out = np.broadcast_to(-1.0 - y_mean, (labels.size, n_labels)).copy()
    out[np.arange(labels.size), labels] += 2.0
    return out


def _ridge_path(X: np.ndarray, alphas: tuple[float, ...], *, y: np.ndarray | None = None,
                labels: np.ndarray | None = None, n_labels: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Ridge fits (with intercept) for every alpha from one eigendecomposition of the centred
    ``XX'`` (the path for fewer rows than features): the model of sklearn's ``Ridge(alpha)``
    (``RidgeClassifier(alpha)`` for ``labels``). Returns (coefs ``(d, k)``, intercepts ``(k,)``)."""
    X = np.asarray(X, dtype=np.float64)
    x_mean = X.mean(axis=0)
    Xc = X - x_mean
    n = X.shape[0]
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        L = int(n_labels)
        y_mean = (2.0 * np.bincount(labels, minlength=L) - n) / n
        y_mean = y_mean[1:] if L == 2 else y_mean
        Yc = centred_pm1(labels, L, y_mean)
    else:
        Y = np.asarray(y, dtype=np.float64)
        Y = Y[:, None] if Y.ndim == 1 else Y
        y_mean = Y.mean(axis=0)
        Yc = Y - y_mean
    evals, Q = np.linalg.eigh(Xc @ Xc.T)
    QTY = Q.T @ Yc
    XtQ = Xc.T @ Q
    coefs = [XtQ @ (QTY / (evals + a)[:, None]) for a in alphas]
    return coefs, [y_mean - x_mean @ c for c in coefs]


class _Gram:
    """The full centred Gram matrix of ``X`` (float64), from which every subset's centred Gram
    matrix, centred rows and mean follow without recomputing ``n x d x d`` products."""

    def __init__(self, X: np.ndarray) -> None:
        self.m = X.mean(axis=0)
        self.Xg = X - self.m
        self.A = self.Xg.T @ self.Xg
        self.s = self.Xg.sum(axis=0)
        self.n = X.shape[0]

    def fit(self, alphas: tuple[float, ...], te: np.ndarray | None, rows: np.ndarray | None, **targets: Any):
        """Ridge fits on all rows but ``te`` (``rows`` = their indices, None = all): (coefs, intercepts)."""
        if te is None:
            rows, n_tr, s_tr, G = np.arange(self.n), self.n, self.s, self.A.copy()
        else:
            Xte = self.Xg[te]
            n_tr, s_tr = self.n - te.size, self.s - Xte.sum(axis=0)
            G = self.A - Xte.T @ Xte
        mu = s_tr / n_tr  # the part's mean, relative to the full mean
        G -= n_tr * np.outer(mu, mu)
        xty, y_mean = self._targets(rows, n_tr, s_tr - n_tr * mu, mu, **targets)
        coefs = _solve_gram(G, xty, alphas)
        return coefs, [y_mean - (self.m + mu) @ c for c in coefs]

    def _targets(self, rows: np.ndarray, n_tr: int, xt1: np.ndarray, mu: np.ndarray, *, y: np.ndarray | None = None,
                 labels: np.ndarray | None = None, n_labels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(Xc' Yc (d, k), mean of Y (k,))`` for the centred rows ``Xc = Xg[rows] - mu`` (column
        sums ``xt1``, ~0) without copying them (sums over rows are products of ``Xg`` with sparse or
        zero-padded weights): regression targets ``y``, or the one-vs-all ``{-1, +1}`` encoding of
        ``labels`` (compact codes ``0..n_labels-1``; binary = one column, +1 for label 1)."""
        from scipy import sparse

        if labels is None:
            Y = np.asarray(y, dtype=np.float64)
            Y = Y[:, None] if Y.ndim == 1 else Y
            y_mean = Y.mean(axis=0)
            W = np.zeros((self.n, Y.shape[1]))
            W[rows] = Y - y_mean
            return self.Xg.T @ W - np.outer(mu, W.sum(axis=0)), y_mean
        labels = np.asarray(labels, dtype=np.int64)
        L = int(n_labels)
        counts = np.bincount(labels, minlength=L).astype(np.float64)
        E = sparse.csr_matrix((np.ones(rows.size), (labels, rows)), shape=(L, self.n))
        S = np.asarray(E @ self.Xg) - counts[:, None] * mu  # class sums of the centred rows
        if L == 2:
            y_mean = np.array([(2.0 * counts[1] - n_tr) / n_tr])
            return (2.0 * S[1] - xt1 - xt1 * y_mean[0])[:, None], y_mean
        y_mean = (2.0 * counts - n_tr) / n_tr
        return 2.0 * S.T - np.outer(xt1, 1.0 + y_mean), y_mean


def ridge_kfold(X: np.ndarray, y: np.ndarray | None = None, alphas: tuple[float, ...] = RANGE_ALPHAS, *,
                cv: int = 3, labels: np.ndarray | None = None, n_labels: int | None = None) -> dict[str, Any]:
    """Ridge with k-fold alpha selection, identical to sklearn's ``RidgeCV(alphas, cv=cv)``
    (regression: ``y``) and ``RidgeClassifierCV(alphas, cv=cv)`` (classification: ``labels``).

    As sklearn's ``GridSearchCV`` inside them: the folds of ``check_cv(cv, y, classifier=...)``
    (unshuffled ``KFold`` for regression, unshuffled ``StratifiedKFold`` for classification),
    the estimator's default score per fold (R^2 for Ridge, accuracy for RidgeClassifier whose
    label set is the classes present in the fold's training part), the unweighted mean over
    folds, the first best alpha on ties, then a refit on all rows with that alpha.

    Returns ``dict(alpha, coef (d, k), intercept (k,), cv_scores (mean fold score per alpha))``.
    """
    from sklearn.model_selection import check_cv

    alphas = tuple(float(a) for a in alphas)
    clf = labels is not None
    target = np.asarray(labels if clf else y)
    X = np.asarray(X, dtype=np.float64)
    with warnings.catch_warnings():  # StratifiedKFold: "the least populated class has only 1 member", as usual
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        folds = list(check_cv(cv, target, classifier=clf).split(X, target))
    n, d = X.shape
    gram = _Gram(X) if n - max(te.size for _, te in folds) > d else None
    fold_scores = []
    for tr, te in folds:
        if clf:
            present = np.unique(target[tr])
            if present.size < 2:  # a one-class fold predicts that class
                fold_scores.append([float(np.mean(target[te] == present[0]))] * len(alphas))
                continue
            code = np.full(int(n_labels), -1, dtype=np.int64)
            code[present] = np.arange(present.size)
            kw = {"labels": code[target[tr]], "n_labels": present.size}
        else:
            kw = {"y": target[tr]}
        coefs, icepts = gram.fit(alphas, te, tr, **kw) if gram else _ridge_path(X[tr], alphas, **kw)
        row = []
        for c, b in zip(coefs, icepts):
            f = X[te] @ c + b
            if clf:
                pred = present[(f[:, 0] > 0).astype(np.int64)] if f.shape[1] == 1 else present[f.argmax(axis=1)]
                row.append(float(np.average(pred == target[te])))  # sklearn's accuracy_score
            else:
                row.append(_r2(target[te], f))
        fold_scores.append(row)
    # as GridSearchCV: an (alphas, folds) array averaged along its rows, so that exact ties (common
    # for accuracy) come out as ties in the same floating-point summation order
    scores = np.average(np.ascontiguousarray(np.asarray(fold_scores, dtype=np.float64).T), axis=1)
    best = _first_argmax(scores)
    kw = {"labels": target, "n_labels": n_labels} if clf else {"y": target}
    if n > d:
        coefs, icepts = (gram or _Gram(X)).fit((alphas[best],), None, None, **kw)
    else:
        coefs, icepts = _ridge_path(X, (alphas[best],), **kw)
    return {"alpha": alphas[best], "coef": coefs[0], "intercept": icepts[0], "cv_scores": scores.tolist()}


def _r2(y_true: np.ndarray, pred: np.ndarray) -> float:
    """sklearn's ``r2_score`` (uniform average over targets; a constant fold scores 1 if perfect, else 0)."""
    Y = np.asarray(y_true, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    ss_res = ((Y - pred) ** 2).sum(axis=0)
    ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(ss_tot != 0, 1.0 - ss_res / np.where(ss_tot != 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


def _first_argmax(scores: np.ndarray) -> int:
    """Index of the first maximum (sklearn keeps an alpha only if strictly better)."""
    best = 0
    for j in range(1, len(scores)):
        if scores[j] > scores[best]:
            best = j
    return best


__all__ = ["RANGE_ALPHAS", "centred_pm1", "ridge_kfold"]
