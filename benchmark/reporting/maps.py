"""Embedding maps: an encoder evaluated on a regular lon/lat grid, its first three principal
components drawn as RGB with coastlines."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from geobench.reporting.png import figure_stem, save_png


def embedding_grid(encoder: str, res_deg: float = 1.0):
    """Embeddings of ``encoder`` on a regular lon/lat grid of cell centres, as an xarray Dataset
    with variable ``embedding`` (lat, lon, feature)."""
    import xarray as xr

    from geobench.encoding import get_encoder

    lon = np.arange(-180 + res_deg / 2, 180, res_deg)
    lat = np.arange(90 - res_deg / 2, -90, -res_deg)
    LON, LAT = np.meshgrid(lon, lat)
    enc = get_encoder(encoder)
    emb = np.asarray(enc.encode(np.column_stack([LON.ravel(), LAT.ravel()])), dtype=np.float32)
    return xr.Dataset({"embedding": (("lat", "lon", "feature"), emb.reshape(lat.size, lon.size, -1))},
                      coords={"lat": lat, "lon": lon, "feature": np.arange(emb.shape[1])},
                      attrs={"encoder": encoder, "res_deg": res_deg})


def pca_rgb(ds) -> np.ndarray:
    """First three principal components of the embedding grid as (H, W, 3) RGB in [0, 1]
    (:func:`~geobench.reporting.globes.pca_fit_rgb` fitted and applied on the grid itself)."""
    from geobench.reporting.globes import pca_fit_rgb

    e = ds["embedding"].values
    flat = e.reshape(-1, e.shape[-1]).astype(np.float64)
    return pca_fit_rgb(flat, flat).reshape(e.shape[0], e.shape[1], 3)


def _coastlines(ax) -> None:
    try:
        from geobench.tasks.geometry import land_geometry

        land = land_geometry().simplify(0.2)
        for poly in getattr(land, "geoms", [land]):
            x, y = poly.exterior.xy
            ax.plot(x, y, color="black", lw=0.3)
    except Exception:  # coastlines are decoration; the map is still meaningful without them
        pass


def plot_embedding_maps(out_dir: Path, encoders: tuple[str, ...], res_deg: float = 1.0) -> list[Path]:
    """One ``embedding_<encoder>.png`` per encoder under ``out_dir``; an encoder that cannot be
    built (e.g. weights unavailable) is skipped with a printed reason."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for enc in encoders:
        try:
            ds = embedding_grid(enc, res_deg)
        except Exception as e:  # an encoder whose weights are unavailable is skipped, loudly
            print(f"maps: skipping {enc}: {e}")
            continue
        rgb = pca_rgb(ds)
        fig, ax = plt.subplots(figsize=(8, 4.3))
        ax.imshow(rgb, extent=(-180, 180, -90, 90), interpolation="nearest")
        _coastlines(ax)
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_title(f"{enc}: first 3 principal components of the embedding as RGB ({res_deg:g}° grid)", fontsize=9)
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        fig.tight_layout()
        paths.append(save_png(fig, out_dir / f"embedding_{figure_stem(enc)}.png", dpi=100))
    return paths
