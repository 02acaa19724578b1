"""The appendix embedding maps: a global grid's embedding as RGB from its first three principal
components (the same PCA colouring as the globes)."""
from __future__ import annotations

import numpy as np


def test_pca_rgb_of_an_embedding_grid():
    from geobench.reporting.maps import embedding_grid, pca_rgb

    ds = embedding_grid("wrap", 30.0)
    rgb = pca_rgb(ds)
    h, w = ds["embedding"].shape[:2]
    assert rgb.shape == (h, w, 3) and rgb.min() >= 0 and rgb.max() <= 1
    assert (np.ptp(rgb.reshape(-1, 3), axis=0) > 0.5).all()  # three informative channels (wrap has 4 features)
    # the colour follows longitude: the grid's west edge and its centre differ
    assert not np.allclose(rgb[:, 0], rgb[:, w // 2])
