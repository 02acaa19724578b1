"""Writing figure files: 8-bit palette PNGs under a size budget, and file-safe figure names."""
from __future__ import annotations

from pathlib import Path

from geobench.errors import GeobenchError

MAX_FIGURE_BYTES = 500_000  # committed figures stay below this


class FigureTooLargeError(GeobenchError):
    """A figure cannot be saved under the size budget."""


def figure_stem(s: str) -> str:
    """A spec as part of a figure's file name: ``=`` dropped, ``:`` and other unsafe characters
    as ``_`` (``sh:L=10`` -> ``sh_L10``, ``random:train=0.6:val=0.2`` -> ``random_train0.6_val0.2``)."""
    from geobench.cache import safe_name

    return safe_name(s.replace("=", ""), keep="-_.")


def save_png(fig, out: str | Path, dpi: int, *, max_bytes: int = MAX_FIGURE_BYTES) -> Path:
    """Save ``fig`` as an 8-bit palette PNG (256 colours: near-lossless for heat maps, line
    plots and the scatter maps) under ``max_bytes``, then close it. When the PNG is too large
    it is re-rendered at a lower dpi (down to half of ``dpi``); if it still does not fit, a
    FigureTooLargeError names the file and nothing is written (an existing file is kept)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from geobench.cache import atomic_write_bytes

    out = Path(out)
    try:
        for d in (dpi, int(dpi * 0.8), int(dpi * 0.65), dpi // 2):
            buf = io.BytesIO()
            fig.savefig(buf, dpi=d, format="png")
            img = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
            png = io.BytesIO()
            img.save(png, format="png", optimize=True)
            if png.tell() <= max_bytes:
                out.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(out, png.getvalue())
                return out
    finally:
        plt.close(fig)
    raise FigureTooLargeError(f"{out}: {png.tell():,} bytes at dpi {d} still exceeds the {max_bytes:,}-byte "
                              "figure budget; draw fewer points or panels (the file was not written)")
