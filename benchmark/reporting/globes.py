"""Embedding globes: the learned encoders side by side on an Equal Earth map of the land.

Each panel colours the land by an encoder's first three principal components (RGB). The PCA
is fitted on area-uniform land points (:func:`land_sample`), so neither ocean nor the
over-sampled poles of a lon/lat grid decide the colours, and then applied to the pixels drawn:
the land pixel centres of an Equal Earth (EPSG:8857) raster, which are area-uniform too. Ocean
is light grey inside the globe outline. Projected coordinates are metres (x east, y north);
lon/lat inputs are (lon, lat) float64 degrees.

:func:`globe_panels` computes the figure's data, :func:`draw_globes` draws it and
:func:`plot_globes` does both.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geobench.errors import InputError

if TYPE_CHECKING:
    from geobench.encoding import Encoder

# the learned encoders (the paper's comparison) and SatCLIP's untrained twin, in leaderboard names
GLOBE_ENCODERS = ("satclip-bm", "satclip-bm:L=40", "csp-bm", "geoclip", "sh_siren_random")
PLOT_POINTS = 60_000  # land pixels per panel (approximate: sets the raster's pixel size)
FIT_POINTS = 20_000  # area-uniform land points the PCA is fitted on
EQUAL_EARTH = "EPSG:8857"  # WGS 84 / Equal Earth Greenwich
LAND_SHARE = 0.29  # approximate share of the Earth's surface that is land (sizes the raster only)
OCEAN_GREY = 0.93
# notes under the panels: (shown when a panel's name contains this, or always for "", text)
NOTES = (("", "Colours: first 3 principal components of each embedding as RGB, fitted on area-uniform "
              "land points (1st-99th percentile scaling)."),
         ("-bm", "-bm: trained here on Blue Marble."),
         ("sh_siren_random", "sh_siren_random: SatCLIP's architecture, untrained (for contrast)."),
         ("", "Equal Earth projection; ocean grey."))


@dataclass(frozen=True)
class GlobeGrid:
    """The land pixels of an Equal Earth raster (row 0 at the top).

    ``lonlat`` (M, 2) degrees: the land pixel centres; ``rows``/``cols`` (M,) their pixel index;
    ``inside`` (H, W) bool: pixel centre inside the globe outline; ``extent`` (x0, x1, y0, y1)
    metres, the raster's outer edges (matplotlib ``imshow`` order)."""

    lonlat: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray
    extent: tuple[float, float, float, float]


@dataclass(frozen=True)
class GlobePanel:
    """One encoder's colours: ``rgb`` (M, 3) in [0, 1], one row per land pixel of the grid."""

    encoder: str
    rgb: np.ndarray


# --------------------------------------------------------------------------- geometry
@lru_cache(maxsize=2)
def _transformer(inverse: bool):
    from pyproj import Transformer

    src, dst = ("EPSG:4326", EQUAL_EARTH)[:: -1 if inverse else 1]
    return Transformer.from_crs(src, dst, always_xy=True)


def equal_earth(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) Equal Earth (EPSG:8857) x, y metres of (N, 2) (lon, lat) degrees."""
    ll = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    x, y = _transformer(False).transform(ll[:, 0], ll[:, 1])
    return np.column_stack([x, y])


def globe_outline(n: int = 181) -> np.ndarray:
    """(K, 2) metres: the closed projected boundary of the globe (lon = +180 from the south to
    the north pole, the north pole line, lon = -180 back down, the south pole line)."""
    lat = np.linspace(-90.0, 90.0, n)
    lon = np.linspace(180.0, -180.0, n)
    ring = np.concatenate([np.column_stack([np.full(n, 180.0), lat]),
                           np.column_stack([lon, np.full(n, 90.0)]),
                           np.column_stack([np.full(n, -180.0), lat[::-1]]),
                           np.column_stack([lon[::-1], np.full(n, -90.0)])])
    return equal_earth(ring)


def land_sample(n: int, seed: int = 0) -> np.ndarray:
    """(n, 2) (lon, lat) degrees, area-uniform on land: candidates uniform in lon and in
    sin(lat), kept when inside the land mask of :func:`geobench.tasks.sampling.sample_land`
    (Natural Earth 1:10m land; its elevation-grid fallback, with a warning, when that file
    cannot be fetched). Deterministic given ``seed`` (default 0)."""
    from geobench.tasks.sampling import sample_land

    return sample_land(n, seed)


def globe_grid(n: int = PLOT_POINTS) -> GlobeGrid:
    """An Equal Earth raster with about ``n`` land pixels (square, equal-area pixels; the
    pixel side is sqrt(land area / n)). Pixels whose centre is outside the globe outline
    (checked by projecting the inverse-projected centre back) or not on land are dropped."""
    from geobench.tasks.sampling import is_land

    if int(n) != n or n < 100:
        raise InputError(f"n (land pixels per panel) must be an integer >= 100, got {n!r}")
    r_authalic = 6_371_007.181  # metres: the radius of the sphere of the WGS 84 ellipsoid's area
    side = np.sqrt(4 * np.pi * r_authalic**2 * LAND_SHARE / n)
    xmax, ymax = equal_earth(np.array([[180.0, 0.0], [0.0, 90.0]]))[[0, 1], [0, 1]]
    w, h = int(np.ceil(2 * xmax / side)), int(np.ceil(2 * ymax / side))
    x = (np.arange(w) - (w - 1) / 2) * side
    y = ((h - 1) / 2 - np.arange(h)) * side
    X, Y = np.meshgrid(x, y)
    lon, lat = _transformer(True).transform(X.ravel(), Y.ravel())
    lon, lat = np.asarray(lon), np.asarray(lat)
    ok = np.isfinite(lon) & np.isfinite(lat)
    back = np.full((lon.size, 2), np.inf)
    back[ok] = equal_earth(np.column_stack([lon[ok], lat[ok]]))
    inside = ok & (np.hypot(back[:, 0] - X.ravel(), back[:, 1] - Y.ravel()) < 1.0)  # round trip within 1 m
    land = inside.copy()
    land[inside] = is_land(lon[inside], lat[inside])
    idx = np.flatnonzero(land)
    return GlobeGrid(np.column_stack([lon[idx], lat[idx]]), idx // w, idx % w, inside.reshape(h, w),
                     (-w * side / 2, w * side / 2, -h * side / 2, h * side / 2))


# --------------------------------------------------------------------------- colours
def pca_fit_rgb(emb_fit: np.ndarray, emb_apply: np.ndarray) -> np.ndarray:
    """(N, 3) RGB in [0, 1] for the N rows of ``emb_apply``: the first three principal
    components of ``emb_fit`` (its mean and axes only), each scaled so that the 1st-99th
    percentile of the fit set's scores maps to [0, 1] (clipped). Component signs are fixed
    so that each axis's largest loading is positive. With fewer than three features (or a
    fit set of rank < 3) the missing channels are 0.5."""
    fit = np.asarray(emb_fit, dtype=np.float64)
    app = np.asarray(emb_apply, dtype=np.float64)
    if fit.ndim != 2 or app.ndim != 2 or fit.shape[1] != app.shape[1] or len(fit) < 2:
        raise InputError(f"pca_fit_rgb needs 2-D embeddings with the same number of features and >= 2 fit rows; "
                         f"got fit {fit.shape} and apply {app.shape}")
    if not (np.isfinite(fit).all() and np.isfinite(app).all()):
        raise InputError("pca_fit_rgb: the embeddings contain NaN or inf; check the encoder's output")
    mean = fit.mean(axis=0)
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    k = int(min(3, (s > s[0] * 1e-9).sum() if s.size and s[0] > 0 else 0))
    axes = vt[:k]
    axes = axes * np.sign(axes[np.arange(k), np.abs(axes).argmax(axis=1)])[:, None]
    f, a = (fit - mean) @ axes.T, (app - mean) @ axes.T
    lo, hi = np.percentile(f, 1, axis=0), np.percentile(f, 99, axis=0)
    rgb = np.full((len(app), 3), 0.5)
    rgb[:, :k] = np.clip((a - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0)
    return rgb


def _embed(enc, lonlat: np.ndarray) -> np.ndarray:
    from geobench.encoding import check_embedding

    return check_embedding(enc, enc.encode(lonlat), len(lonlat))


def globe_data(encoder: str | Encoder, points: np.ndarray, *, fit_points: np.ndarray | None = None,
               seed: int = 0) -> np.ndarray:
    """(N, 3) RGB in [0, 1] of ``encoder`` (a spec such as ``satclip-bm`` or an Encoder) at the
    (N, 2) (lon, lat) degree ``points``: :func:`pca_fit_rgb` fitted on the embedding of
    ``fit_points`` (default: ``land_sample(FIT_POINTS, seed)``, ``seed`` default 0)."""
    from geobench.encoding import get_encoder

    enc = get_encoder(encoder)
    fit = land_sample(FIT_POINTS, seed) if fit_points is None else fit_points
    return pca_fit_rgb(_embed(enc, fit), _embed(enc, np.asarray(points, dtype=np.float64)))


def globe_panels(encoders: tuple[str, ...] = GLOBE_ENCODERS, n: int = PLOT_POINTS, seed: int = 0,
                 fit_n: int = FIT_POINTS) -> tuple[GlobeGrid, list[GlobePanel]]:
    """The figure's data: the raster (:func:`globe_grid` with ~``n`` land pixels) and one panel
    per encoder that builds and encodes, the PCA fitted on ``land_sample(fit_n, seed)``
    (``seed`` default 0). An encoder that fails is skipped with a printed reason."""
    from geobench.encoding import get_encoder
    from geobench.encoding.encoder import spec_of

    grid = globe_grid(n)
    fit = land_sample(fit_n, seed)
    panels = []
    for spec in encoders:
        try:
            enc = get_encoder(spec)
            rgb = globe_data(enc, grid.lonlat, fit_points=fit)
        except Exception as e:  # weights unavailable, a broken plugin: the other panels still draw
            print(f"globes: skipping {spec}: {type(e).__name__}: {e}")
            continue
        panels.append(GlobePanel(spec_of(enc), rgb))
    return grid, panels


# --------------------------------------------------------------------------- drawing
def _image(grid: GlobeGrid, rgb: np.ndarray) -> np.ndarray:
    """(H, W, 4) RGBA: the panel's colours on land, grey ocean, transparent outside the globe."""
    img = np.zeros(grid.inside.shape + (4,))
    img[grid.inside] = (OCEAN_GREY, OCEAN_GREY, OCEAN_GREY, 1.0)
    img[grid.rows, grid.cols, :3] = rgb
    return img


def draw_globes(grid: GlobeGrid, panels: list[GlobePanel], out_path: str | Path, *, ncol: int = 3,
                dpi: int = 150) -> Path:
    """Draw ``panels`` on ``grid`` in a grid of ``ncol`` columns, each titled with its encoder,
    the notes in a spare cell (else under the panels); written with ``save_png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geobench.reporting.png import save_png

    if not panels:
        raise InputError("draw_globes: no panels to draw; every encoder failed (see the printed reasons)")
    ncol = max(1, min(ncol, len(panels)))
    nrow = -(-len(panels) // ncol)
    spare = nrow * ncol > len(panels)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 2.35 * nrow + (0.2 if spare else 0.55)), squeeze=False)
    outline = globe_outline()
    x0, x1, y0, y1 = grid.extent
    for ax, p in zip(axes.ravel(), panels):
        ax.imshow(_image(grid, p.rgb), extent=grid.extent, interpolation="nearest")
        ax.plot(outline[:, 0], outline[:, 1], color="0.35", lw=0.5)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(p.encoder, fontsize=10)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    names = " ".join(p.encoder for p in panels)
    notes = " ".join(text for key, text in NOTES if key in names)
    if spare:
        axes.ravel()[-1].text(0.05, 0.5, textwrap.fill(notes, 48), fontsize=8, va="center", ha="left",
                              transform=axes.ravel()[-1].transAxes)
        fig.tight_layout(pad=0.4, w_pad=1.5, h_pad=0.6)
    else:
        fig.text(0.5, 0.01, textwrap.fill(notes, 40 * ncol), fontsize=8, ha="center", va="bottom")
        fig.tight_layout(pad=0.4, w_pad=1.5, h_pad=0.6, rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    return save_png(fig, out_path, dpi=dpi)


def plot_globes(out_path: str | Path, encoders: tuple[str, ...] = GLOBE_ENCODERS, n: int = PLOT_POINTS,
                seed: int = 0, fit_n: int = FIT_POINTS) -> Path | None:
    """The embedding globes figure at ``out_path``: :func:`globe_panels` (``seed`` of the PCA
    fit sample, default 0) drawn by :func:`draw_globes`. None (nothing written) when no
    encoder could be drawn."""
    grid, panels = globe_panels(tuple(encoders), n, seed, fit_n)
    if not panels:
        print("globes: no encoder could be drawn; the figure was not written")
        return None
    return draw_globes(grid, panels, out_path)
