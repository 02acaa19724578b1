"""Probe heads fitted on frozen embeddings: ``linear`` (the RANGE ridge probe), ``mlp``, ``lightgbm``,
``constant`` (the train-mean / majority-class reference).

Each is a scikit-learn estimator (see :mod:`geobench.heads.base`); the head modules load when a
head name is first resolved through :data:`HEADS`.
"""
from geobench.heads.base import (HEADS, KINDS, Head, HeadNotApplicableError, head_is_applicable, make_head, not_applicable_reason,
                   register_head)

__all__ = ["HEADS", "KINDS", "Head", "HeadNotApplicableError", "head_is_applicable", "make_head",
           "not_applicable_reason", "register_head"]
