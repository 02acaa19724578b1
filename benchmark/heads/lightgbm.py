"""``lightgbm``: gradient-boosted trees with early stopping on the validation split."""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from geobench.errors import InputError

from geobench.heads.base import Head, carve_validation, grid, register_head

LGBM_MAX_CLASSES = 20
LGBM_DEFAULT = {"num_leaves": 31, "min_child_samples": 20, "colsample_bytree": 1.0}
LGBM_TUNE_GRID = {"num_leaves": (15, 31, 127), "learning_rate": (0.05, 0.1), "min_child_samples": (5, 20),
                  "colsample_bytree": (1.0,)}


@register_head("lightgbm")
class LightGBMHead(Head):
    """LightGBM probe: LGBMRegressor / LGBMClassifier with early stopping on the validation
    split (``stopping_rounds``, at most ``n_estimators`` rounds), ``num_threads=n_threads``,
    ``deterministic=True``, row-wise histograms. ``tune=True`` searches ``LGBM_TUNE_GRID`` by the
    best validation loss. Not applicable to classification with more than 20 classes (one tree per
    class and round: hours on 2 cores). Without a validation split, 10 % of train is held out
    deterministically.

    Tuned for a 2-core machine (version 2; ``results/perf.json``, section ``probes``, times it against
    version 1 on the same cells):
    ``learning_rate`` 0.1, ``max_bin`` 63, ``n_estimators`` 1000, ``stopping_rounds`` 20 (50 rounds
    gave the same test metrics on the grid's air-temperature and biome cells and took a quarter
    longer). A fit
    that early stopping did not end is flagged ``best_iteration_at_cap``. The version-1 head is
    ``V1_SPEC``.
    ``params`` (dict) overrides ``LGBM_DEFAULT`` (num_leaves, min_child_samples, colsample_bytree)
    and the options above; ``tune=True`` searches ``LGBM_TUNE_GRID``, whose learning rates replace
    ``learning_rate``.
    """

    score_kind = "proba"
    version = 2  # 1: learning rate 0.05, 255 bins, 50 stopping rounds, 2000 rounds
    V1_SPEC = "lightgbm:learning_rate=0.05:max_bin=255:n_estimators=2000:stopping_rounds=50"

    def __init__(self, kind: str = "regression", *, seed: int = 0, n_threads: int = 2, tune: bool = False,
                 n_classes: int | None = None, params: dict | None = None, learning_rate: float = 0.1,
                 max_bin: int = 63, n_estimators: int = 1000, stopping_rounds: int = 20) -> None:
        super().__init__(kind, seed=seed, n_threads=n_threads, tune=tune, n_classes=n_classes)
        self.params = params
        self.learning_rate = learning_rate
        self.max_bin = max_bin
        self.n_estimators = n_estimators
        self.stopping_rounds = stopping_rounds

    def _validate_params(self) -> None:
        super()._validate_params()
        if not float(self.learning_rate) > 0:
            raise InputError(f"lightgbm: learning_rate must be > 0, got {self.learning_rate!r}")
        for name, low in (("max_bin", 2), ("n_estimators", 1), ("stopping_rounds", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise InputError(f"lightgbm: {name} must be an integer >= {low}, got {v!r}")

    @classmethod
    def is_applicable(cls, kind: str, n_classes: int | None = None) -> tuple[bool, str | None]:
        if kind == "classification" and n_classes is not None and n_classes > LGBM_MAX_CLASSES:
            return False, (f"LightGBM multiclass over {n_classes} classes takes hours on 2 cores; "
                           f"skipped (limit {LGBM_MAX_CLASSES} classes)")
        return True, None

    def _configs(self) -> list[dict[str, Any]]:
        base = {**LGBM_DEFAULT, "learning_rate": float(self.learning_rate), "max_bin": int(self.max_bin),
                "n_estimators": int(self.n_estimators)}
        if self.tune and self.params is None:
            return [{**base, **c} for c in grid(LGBM_TUNE_GRID)]
        return [{**base, **(self.params or {})}]

    def _fit(self, X, y, X_val, y_val) -> None:
        import lightgbm as lgb

        if X_val is None:
            tr, va = carve_validation(X.shape[0], self.seed)
            X, y, X_val, y_val = X[tr], y[tr], X[va], y[va]
        if self.kind == "classification":  # LightGBM cannot score validation labels it never saw
            keep = np.isin(y_val, np.unique(y))
            X_val, y_val = X_val[keep], y_val[keep]
            if X_val.shape[0] == 0:
                raise InputError("lightgbm: no validation point has a class seen in training; "
                                 "pass a validation split that shares classes with train")
        rounds = int(self.stopping_rounds)
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
        best_it = int(self._model.best_iteration_ or cfg["n_estimators"])
        self.chosen_params_ = {**cfg, "best_iteration": best_it, "val_metric": metric, "val_loss": val_loss,
                               "stopping_rounds": rounds,
                               # early stopping never fired: the round budget ended the fit
                               "best_iteration_at_cap": best_it > int(cfg["n_estimators"]) - rounds}

    def _predict(self, X) -> np.ndarray:
        return self._model.predict(X, num_threads=self.n_threads)

    def _scores(self, X) -> np.ndarray:
        p = self._model.predict_proba(X, num_threads=self.n_threads)
        out = np.zeros((X.shape[0], self.classes_.size))
        out[:, self._model.classes_.astype(np.int64)] = p
        return out
