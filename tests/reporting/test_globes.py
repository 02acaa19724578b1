"""The embedding-globes figure: area-uniform land sampling, PCA fitted on the fit set only,
the Equal Earth raster, and the figure file."""
from __future__ import annotations

import numpy as np
import pytest

from geobench.errors import InputError
from geobench.reporting import globes

R_AUTHALIC = 6_371_007.181  # metres, WGS 84 authalic radius (EPSG:8857 is on the ellipsoid)
A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796  # Equal Earth coefficients (Šavrič et al. 2018)


def _project(geom):
    """``geom`` (lon/lat) in Equal Earth metres, with pyproj directly (not the module under test)."""
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:8857", always_xy=True)
    return shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def _tropical_land_share() -> float:
    """Share of the land area with |lat| < 30°: polygon areas of the land mask in an equal-area projection."""
    import shapely
    from shapely.geometry import box

    from geobench.tasks.geometry import land_geometry

    land = land_geometry()
    return _project(shapely.intersection(land, box(-180, -30, 180, 30))).area / _project(land).area


def test_land_sample_is_on_land_and_area_uniform():
    import shapely

    from geobench.tasks.geometry import land_geometry

    n = 20_000
    pts = globes.land_sample(n, seed=1)
    assert pts.shape == (n, 2) and pts.dtype == np.float64
    assert shapely.contains_xy(land_geometry(), pts[:, 0], pts[:, 1]).all()
    share = _tropical_land_share()  # ~0.446
    tol = 0.015  # > 4.5 binomial standard deviations at n = 20000
    assert abs(np.mean(np.abs(pts[:, 1]) < 30) - share) < tol
    # the test can fail: land points uniform in lat (not in sin(lat)) over-weight high latitudes (~0.26)
    rng = np.random.default_rng(0)
    cand = np.column_stack([rng.uniform(-180, 180, 8 * n), rng.uniform(-90, 90, 8 * n)])
    naive = cand[shapely.contains_xy(land_geometry(), cand[:, 0], cand[:, 1])][:n]
    assert abs(np.mean(np.abs(naive[:, 1]) < 30) - share) > 5 * tol
    # deterministic given the seed
    np.testing.assert_array_equal(globes.land_sample(500, seed=1), pts[:500])
    assert not np.array_equal(globes.land_sample(500, seed=2), pts[:500])


def test_pca_is_fitted_on_the_fit_set_only():
    d = 8
    # a full factorial over symmetric levels: features 0, 1, 2 exactly uncorrelated with
    # variances 3 > 2 > 1 (scaled), so the principal axes are exactly features 0, 1, 2
    a, b, c = np.meshgrid(np.linspace(-3, 3, 21), np.linspace(-2, 2, 21), np.linspace(-1, 1, 11), indexing="ij")
    fit = np.zeros((a.size, d))
    fit[:, 0], fit[:, 1], fit[:, 2] = a.ravel(), b.ravel(), c.ravel()
    fit += 5.0  # a mean the PCA must remove (the fit set's)
    p = [np.percentile(fit[:, j] - 5.0, [1, 99]) for j in range(3)]
    centre = [-lo / (hi - lo) for lo, hi in p]  # the colour of the fit mean, from the fit percentiles
    # apply set: a huge spread along feature 5 (constant in the fit set) must not change any colour
    app = np.full((6, d), 5.0)
    app[:3, 5] = [-1e3, 0.0, 1e3]
    app[3, 0] += 100.0  # far past the fit set's 99th percentile along PC1 -> R clips to 1
    app[4, 0] -= 100.0  # -> R clips to 0
    app[5, 1] += p[1][1]  # exactly at the fit set's 99th percentile along PC2 -> G = 1
    rgb = globes.pca_fit_rgb(fit, app)
    assert rgb.shape == (6, 3) and rgb.min() >= 0 and rgb.max() <= 1
    for i in range(3):
        np.testing.assert_allclose(rgb[i], centre, atol=1e-9)
    np.testing.assert_allclose(rgb[3], [1.0, centre[1], centre[2]], atol=1e-9)
    np.testing.assert_allclose(rgb[4], [0.0, centre[1], centre[2]], atol=1e-9)
    np.testing.assert_allclose(rgb[5], [centre[0], 1.0, centre[2]], atol=1e-9)
    # fitted on the apply set instead, feature 5 would be PC1 and the first rows would differ
    assert np.ptp(globes.pca_fit_rgb(app, app)[:3], axis=0).max() > 0.5


def test_pca_fit_rgb_refuses_mismatched_embeddings():
    with pytest.raises(InputError, match="same number of features"):
        globes.pca_fit_rgb(np.ones((10, 4)), np.ones((3, 5)))
    with pytest.raises(InputError, match="NaN"):
        globes.pca_fit_rgb(np.full((10, 4), np.nan), np.ones((3, 4)))


def test_pca_fit_rgb_fills_missing_components_with_grey():
    fit = np.column_stack([np.linspace(-1, 1, 100), np.zeros(100)])  # rank 1
    rgb = globes.pca_fit_rgb(fit, fit[:3])
    np.testing.assert_allclose(rgb[:, 1:], 0.5)


def test_equal_earth_known_points():
    xy = globes.equal_earth(np.array([[0.0, 0.0], [180.0, 0.0], [180.0, 90.0], [0.0, 90.0], [-180.0, 0.0]]))
    np.testing.assert_allclose(xy[0], [0.0, 0.0], atol=1e-6)
    # the equator's end: x = R 2 sqrt(3) pi / (3 A1)
    np.testing.assert_allclose(xy[1], [R_AUTHALIC * 2 * np.sqrt(3) * np.pi / (3 * A1), 0.0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(xy[4], [-xy[1, 0], 0.0], atol=1e-6)
    # the pole line is shorter than the equator: at the pole theta = pi/3, x ratio = cos(theta) A1 / P'(theta)
    th = np.pi / 3
    ratio = np.cos(th) * A1 / (A1 + 3 * A2 * th**2 + 7 * A3 * th**6 + 9 * A4 * th**8)  # ~0.59
    assert xy[2, 0] / xy[1, 0] == pytest.approx(ratio, rel=1e-6) and ratio < 0.6
    assert xy[3, 0] == pytest.approx(0.0, abs=1e-6) and xy[2, 1] == pytest.approx(xy[3, 1])
    outline = globes.globe_outline()
    np.testing.assert_allclose(outline[0], outline[-1], atol=1e-6)  # closed
    assert np.abs(outline[:, 0]).max() == pytest.approx(xy[1, 0]) and outline[:, 1].max() == pytest.approx(xy[3, 1])


def test_globe_grid_pixels_are_equal_area_land():
    import shapely

    from geobench.tasks.geometry import land_geometry

    g = globes.globe_grid(3000)
    x0, x1, y0, y1 = g.extent
    h, w = g.inside.shape
    side = (x1 - x0) / w
    assert (y1 - y0) / h == pytest.approx(side)  # square pixels
    # the pixels inside the outline cover the globe's area 4 pi R^2
    assert g.inside.sum() * side**2 == pytest.approx(4 * np.pi * R_AUTHALIC**2, rel=0.03)
    assert abs(len(g.lonlat) - 3000) < 300
    assert shapely.contains_xy(land_geometry(), g.lonlat[:, 0], g.lonlat[:, 1]).all()
    assert g.inside[g.rows, g.cols].all()
    # each land pixel centre projects back to its pixel centre
    xy = globes.equal_earth(g.lonlat)
    np.testing.assert_allclose(xy[:, 0], x0 + (g.cols + 0.5) * side, atol=1.0)
    np.testing.assert_allclose(xy[:, 1], y1 - (g.rows + 0.5) * side, atol=1.0)
    with pytest.raises(InputError, match="n"):
        globes.globe_grid(10)


def test_globe_data_is_rgb_per_point_and_uses_the_given_fit_points():
    pts = globes.land_sample(300, seed=3)
    fit = globes.land_sample(1000, seed=4)
    rgb = globes.globe_data("wrap", pts, fit_points=fit)
    assert rgb.shape == (300, 3) and rgb.min() >= 0 and rgb.max() <= 1
    np.testing.assert_array_equal(rgb, globes.globe_data("wrap", pts, fit_points=fit))
    assert not np.allclose(rgb, globes.globe_data("wrap", pts, fit_points=fit[fit[:, 1] > 0]))


def test_plot_globes_writes_a_small_png_and_skips_broken_encoders(tmp_path, capsys):
    from PIL import Image

    from geobench.reporting.png import MAX_FIGURE_BYTES

    out = globes.plot_globes(tmp_path / "globes.png", encoders=("wrap", "no_such_encoder", "sh"), n=3000, fit_n=2000)
    assert out == tmp_path / "globes.png" and out.stat().st_size < MAX_FIGURE_BYTES
    assert Image.open(out).size[0] > 1000
    assert "skipping no_such_encoder" in capsys.readouterr().out
    assert globes.plot_globes(tmp_path / "none.png", encoders=("no_such_encoder",), n=3000, fit_n=500) is None
    assert not (tmp_path / "none.png").exists()
