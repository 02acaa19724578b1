"""``constant``: the label-only reference encoder. Every point gets the same one-dimensional
embedding ``[1.0]``, so a head sees no location at all and can only learn the training
labels' distribution: the linear head then predicts the train (+ val) mean for regression and
the majority class for classification, exactly the ``constant`` head (the reference of the
records' ``skill``). As an encoder it runs under every head and split of the grid, so each
leaderboard table has its "no location" row: on a hold-out split it shows how far the test
labels are from the training ones, which is what a negative R^2 must be read against.
"""
from __future__ import annotations

import numpy as np

from geobench.encoding import ArrayEncoder, register_encoder


def constant_features(lonlat: np.ndarray) -> np.ndarray:
    """``(N, 1)`` float64 ones, whatever the (lon, lat) degrees."""
    return np.ones((np.asarray(lonlat).shape[0], 1))


@register_encoder("constant", kind="label-only", license="MIT",
                  citation="reference: no location information (the train mean / majority class through any head)")
def constant_encoder() -> ArrayEncoder:
    """No location: the same feature [1.0] for every point (dim 1); heads learn only the labels."""
    return ArrayEncoder("constant", 1, constant_features, {})
