"""``constant``: the reference a probe must beat -- the training mean or the majority class."""
from __future__ import annotations

import numpy as np

from geobench.heads.base import Head, register_head


@register_head("constant")
class ConstantHead(Head):
    """Ignores the embedding. Regression predicts the mean of the training targets;
    classification scores the majority class of the training labels 1 and every other class 0
    (ties: the lowest class code), so the majority class always wins. Its R^2 on a hold-out
    split shows how far the test distribution is from the training one (e.g. -7 on the Africa
    zero-shot split of air temperature), and its ``skill`` is 0 by construction: the records'
    ``skill`` metric measures every other head against it. ``chosen_params_`` holds the value.
    """

    uses_validation = False  # nothing to select: it fits on train + val, like the linear probe

    score_kind = "proba"

    def _fit(self, X, y, X_val, y_val) -> None:
        if self.kind == "regression":
            self._value = float(np.mean(y))
            self.chosen_params_ = {"train_mean": self._value}
        else:
            self._major = int(np.argmax(np.bincount(y, minlength=self.classes_.size)))
            self.chosen_params_ = {"majority_class": int(self.classes_[self._major])}

    def _predict(self, X) -> np.ndarray:
        return np.full(X.shape[0], self._value)

    def _scores(self, X) -> np.ndarray:
        s = np.zeros((X.shape[0], self.classes_.size))
        s[:, self._major] = 1.0
        return s
