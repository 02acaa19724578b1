"""Figure files: palette PNGs under the committed-figure budget."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from geobench.reporting.png import MAX_FIGURE_BYTES, save_png  # noqa: E402


def test_save_png_writes_a_small_palette_png(tmp_path):
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.imshow(np.linspace(0, 1, 400).reshape(20, 20), cmap="viridis")
    p = save_png(fig, tmp_path / "a" / "fig.png", dpi=100)
    img = Image.open(p)
    assert img.mode == "P" and img.size == (600, 400) and p.stat().st_size < MAX_FIGURE_BYTES
    assert not plt.get_fignums()  # closed


def _noise(inches: float):
    fig, ax = plt.subplots(figsize=(inches, inches))
    ax.imshow(np.random.default_rng(0).uniform(size=(600, 600, 3)), interpolation="nearest")
    return fig


def test_save_png_lowers_the_dpi_to_fit_the_budget(tmp_path):
    p = save_png(_noise(6), tmp_path / "fit.png", dpi=100, max_bytes=150_000)  # ~214 kB at dpi 100
    assert p.stat().st_size <= 150_000 and Image.open(p).size[0] < 600  # re-rendered below dpi 100


def test_save_png_refuses_an_oversized_figure_and_keeps_the_old_file(tmp_path):
    from geobench.reporting.png import FigureTooLargeError

    old = tmp_path / "big.png"
    old.write_bytes(b"previous good figure")
    with pytest.raises(FigureTooLargeError, match="big.png.*budget"):
        save_png(_noise(8), old, dpi=100, max_bytes=20_000)
    assert old.read_bytes() == b"previous good figure" and not plt.get_fignums()
