"""Figure files: palette PNGs under the committed-figure budget."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from geobench.plots import MAX_FIGURE_BYTES, save_png  # noqa: E402


def test_save_png_writes_a_small_palette_png(tmp_path):
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.imshow(np.linspace(0, 1, 400).reshape(20, 20), cmap="viridis")
    p = save_png(fig, tmp_path / "a" / "fig.png", dpi=100)
    img = Image.open(p)
    assert img.mode == "P" and img.size == (600, 400) and p.stat().st_size < MAX_FIGURE_BYTES
    assert not plt.get_fignums()  # closed


def test_save_png_refuses_an_oversized_figure(tmp_path):
    fig, ax = plt.subplots(figsize=(20, 20))
    ax.imshow(np.random.default_rng(0).uniform(size=(2000, 2000, 3)), interpolation="nearest")
    with pytest.raises(ValueError, match="figure budget"):
        save_png(fig, tmp_path / "big.png", dpi=100)
