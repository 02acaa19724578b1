"""Probe-head conventions: a scikit-learn estimator base class, the head registry, validation.

Heads are scikit-learn estimators (keyword parameters, ``get_params``/``set_params``, so
``sklearn.base.clone`` works) built by :func:`make_head` or directly::

    head = make_head("linear", "regression", seed=0)          # == LinearHead(kind="regression", seed=0)
    head.fit(X_train, y_train, eval_set=[(X_val, y_val)]).predict(X_test)

``X`` is an ``(n, d)`` embedding; ``y`` is a float target (regression) or integer class
codes ``0..n_classes-1`` (classification). ``eval_set`` follows LightGBM's convention (a list
of ``(X, y)`` pairs; the first is used for early stopping or model selection). The training
split may miss some classes: :meth:`Head.predict_scores` always returns ``(n, n_classes)``
scores over the full label set, with ``-inf`` (decision scores) or ``0`` (probabilities) for
classes absent from training, so they never win. Every head limits itself to ``n_threads``
BLAS/OpenMP/torch/LightGBM threads. Third-party heads register with :func:`register_head`
or the entry-point group ``geobench.heads`` (an entry point names a :class:`Head` subclass).
"""
from __future__ import annotations

import itertools
import json
from typing import Any, ClassVar, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from geobench.errors import InputError, NotApplicableError
from geobench.registry import Registry
from geobench.threads import limit_threads

KINDS = ("regression", "classification")

def _name_head(name: str, cls: Any) -> Any:
    """An entry point's Head subclass takes the entry point's name (as ``register_head`` does)."""
    if isinstance(cls, type) and issubclass(cls, Head):
        cls.name = name
    return cls


HEADS: Registry[type] = Registry(
    "head", builtin_modules=("geobench.heads.linear", "geobench.heads.mlp", "geobench.heads.lightgbm",
                     "geobench.heads.constant"),
    entry_point_group="geobench.heads", on_entry_point=_name_head)


class HeadNotApplicableError(NotApplicableError):
    """The head cannot run on this task (see ``Head.not_applicable_``); record, do not retry."""


def register_head(name: str, *, override: bool = False):
    """Class decorator registering a :class:`Head` subclass under ``name`` (DuplicateNameError
    for a name already registered, unless ``override=True``)."""

    def deco(cls: type) -> type:
        HEADS.register(name, cls, override=override)
        cls.name = name
        return cls

    return deco


def make_head(name: str, kind: str, *, seed: int, n_threads: int = 2, tune: bool = False,
              n_classes: int | None = None, **options: Any) -> "Head":
    """Build the head registered as ``name`` for a ``kind`` ('regression'|'classification') task.

    ``n_classes`` is required for classification. ``options`` are the head's own keyword
    parameters (e.g. ``params=`` to fix the MLP/LightGBM hyper-parameters). Unknown names
    raise UnknownNameError, unknown options InputError, each listing the valid ones.
    """
    cls = HEADS.get(name)
    accepted = own_params(cls)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InputError(f"head {name!r} has no option(s) {unknown}; accepted: {', '.join(accepted) or '(none)'}")
    head = cls(kind=kind, seed=seed, n_threads=n_threads, tune=tune, n_classes=n_classes, **options)
    head._validate_params()
    return head


def parse_head_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``name[:key=value...]`` (e.g. ``mlp:max_epochs=50``) -> (name, typed options).

    Options are the head's own constructor parameters, typed like their defaults; the shared
    ones (kind, seed, n_threads, tune, n_classes) are set by the grid and refused here.
    """
    from geobench.registry import convert_options, parse_spec

    name, raw = parse_spec(spec)
    cls = HEADS.get(name)
    shared = sorted(set(raw) & set(Head._get_param_names()))
    if shared:
        raise InputError(f"head {name!r}: {shared} are set by the grid (--seeds, --tune, the task), not in the "
                         f"head spec; head options are: {', '.join(own_params(cls)) or '(none)'}")
    return name, convert_options(cls.__init__, raw, f"head {name!r}")


def own_params(cls: type) -> list[str]:
    """A head class's own constructor parameters (not the shared ones)."""
    return [p for p in cls._get_param_names() if p not in Head._get_param_names()]


def head_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Every own option of head ``name`` with its default filled in (JSON-able: tuples as lists)."""
    import inspect

    cls = HEADS.get(name)
    sig = inspect.signature(cls.__init__).parameters
    full = {p: options.get(p, sig[p].default) for p in own_params(cls)}
    return json.loads(json.dumps(full, sort_keys=True, default=str))


def canonical_head_spec(spec: str) -> str:
    """The head spec with its options sorted and typed, those equal to their default dropped
    (``mlp:max_epochs=50``; ``linear:alphas=0.1/1/10`` is ``linear``)."""
    from geobench.encoding.encoder import canonical_spec

    name, opts = parse_head_spec(spec)
    return canonical_spec(name, opts, HEADS.get(name).__init__)


def head_is_applicable(name: str, kind: str, n_classes: int | None = None) -> tuple[bool, str | None]:
    """``(ok, reason)`` for running head ``name`` on a task, decided before fitting."""
    return HEADS.get(name).is_applicable(kind, n_classes)


def not_applicable_reason(name: str, kind: str, n_classes: int | None = None) -> str | None:
    """The reason head ``name`` cannot run on such a task, or None if it can."""
    ok, reason = head_is_applicable(name, kind, n_classes)
    return None if ok else (reason or f"head {name!r} is not applicable")


def as_2d_float(X: Any, what: str) -> np.ndarray:
    """``X`` as a finite 2-D float array (float dtypes kept, integers cast to float64)."""
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


def carve_validation(n: int, seed: int, frac: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (train_idx, val_idx): ``frac`` of ``n`` rows (at least 1) held out."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = min(max(1, int(round(frac * n))), n - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def grid(g: dict[str, tuple]) -> list[dict[str, Any]]:
    """Every combination of a ``{name: values}`` grid, in ``itertools.product`` order."""
    keys = list(g)
    return [dict(zip(keys, vals)) for vals in itertools.product(*(g[k] for k in keys))]


class Head(BaseEstimator):
    """Base class: parameters, validation, label bookkeeping, thread limits.

    Parameters (shared by every head): ``kind`` ('regression'|'classification'), ``seed``,
    ``n_threads``, ``tune`` (a larger hyper-parameter search where the head has one) and
    ``n_classes`` (classification). Subclasses add their own keyword parameters to
    ``__init__`` (scikit-learn convention: stored unchanged, validated in ``fit``) and implement
    ``_fit(X, y, X_val, y_val)`` with ``y`` float (regression) or compact codes
    ``0..len(classes_)-1`` (classification, ``classes_`` = labels seen in training),
    ``_predict(X)`` (regression) and ``_scores(X)`` -> ``(n, len(classes_))``.
    ``score_kind`` is ``"decision"`` (absent classes get ``-inf``) or ``"proba"`` (``0``).
    After ``fit``: ``chosen_params_`` (JSON-able; what the search chose), ``classes_``,
    ``n_features_in_``, and ``not_applicable_`` (a reason, or None).
    """

    name: ClassVar[str] = "head"
    score_kind: ClassVar[str] = "decision"
    version: ClassVar[int] = 1  # bump when the algorithm changes: it is part of every cell's identity
    # False: the head selects its hyper-parameters on the training data alone (e.g. by k-fold CV);
    # the grid then fits it on train + val and passes no eval_set
    uses_validation: ClassVar[bool] = True

    def __init__(self, kind: str = "regression", *, seed: int = 0, n_threads: int = 2, tune: bool = False,
                 n_classes: int | None = None) -> None:
        self.kind = kind
        self.seed = seed
        self.n_threads = n_threads
        self.tune = tune
        self.n_classes = n_classes

    # -- overridable ---------------------------------------------------------------
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
    def _validate_params(self) -> None:
        """Raise InputError for a bad kind, n_classes or n_threads (called by fit and make_head)."""
        if self.kind not in KINDS:
            raise InputError(f"head kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "classification" and (self.n_classes is None or int(self.n_classes) < 2):
            raise InputError(f"classification head {self.name!r} needs n_classes >= 2, got {self.n_classes!r}")
        if not isinstance(self.n_threads, int) or isinstance(self.n_threads, bool) or self.n_threads < 1:
            raise InputError(f"n_threads must be a positive integer, got {self.n_threads!r}")

    def fit(self, X: Any, y: Any, *, eval_set: Sequence[tuple[Any, Any]] | None = None) -> "Head":
        """Fit on ``(X, y)``; ``eval_set[0] = (X_val, y_val)`` drives early stopping / model selection.

        If the head is not applicable (see :meth:`is_applicable`), sets ``not_applicable_``
        and returns without fitting; ``predict`` then raises HeadNotApplicableError.
        """
        self._validate_params()
        self.chosen_params_: dict[str, Any] = {}
        self.timings_: dict[str, float] = {}  # a head's own timings (the MLP search), not parameters
        self._fitted = False
        ok, reason = self.is_applicable(self.kind, self.n_classes)
        self.not_applicable_ = None if ok else reason
        if not ok:
            return self
        X_val = y_val = None
        if eval_set:
            if not isinstance(eval_set[0], (tuple, list)) or len(eval_set[0]) != 2:
                raise InputError("eval_set must be a list of (X_val, y_val) pairs, e.g. [(X_val, y_val)]")
            X_val, y_val = eval_set[0]
        X = as_2d_float(X, f"head {self.name!r} training X")
        y = self._check_y(y, X.shape[0], "training")
        if (X_val is None) != (y_val is None):
            raise InputError("eval_set: pass both X_val and y_val")
        if X_val is not None:
            X_val = as_2d_float(X_val, f"head {self.name!r} validation X")
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
            code = np.full(int(self.n_classes), -1, dtype=np.int64)
            code[self.classes_] = np.arange(self.classes_.size)
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
                    self._fit(X, code[y], X_val, yvc)
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
        if getattr(self, "not_applicable_", None):
            raise HeadNotApplicableError(f"head {self.name!r} not applicable: {self.not_applicable_}")
        if not getattr(self, "_fitted", False):
            raise InputError(f"head {self.name!r} is not fitted; call fit() first")
        X = as_2d_float(X, f"head {self.name!r} X")
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
        out = np.full((X.shape[0], int(self.n_classes)), fill, dtype=np.float64)
        if self.classes_.size == 1:
            out[:, self.classes_[0]] = 0.0 if self.score_kind == "decision" else 1.0
            return out
        with limit_threads(self.n_threads):
            s = np.asarray(self._scores(X), dtype=np.float64)
        out[:, self.classes_] = s
        return out
