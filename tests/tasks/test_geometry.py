"""Sampling, antimeridian fix, point labelling and continents on the real Natural Earth files."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely

from geobench.errors import DataError, InputError
from geobench.tasks import geometry as G
from geobench.tasks import sampling as S


# --------------------------------------------------------------------------- sampling
def test_sample_sphere_is_area_uniform_and_deterministic():
    p = S.sample_sphere(200_000, seed=1)
    assert p.shape == (200_000, 2) and p.dtype == np.float64
    assert p[:, 0].min() >= -180 and p[:, 0].max() < 180
    # P(lat > 30°) = (1 - sin 30°) / 2 = 0.25; P(|lat| < 10°) = sin 10° = 0.1736
    assert abs(np.mean(p[:, 1] > 30) - 0.25) < 0.005
    assert abs(np.mean(np.abs(p[:, 1]) < 10) - np.sin(np.radians(10))) < 0.005
    assert np.array_equal(p, S.sample_sphere(200_000, seed=1))
    assert not np.array_equal(p[:10], S.sample_sphere(10, seed=2))


def test_sample_sphere_band_and_bad_input():
    p = S.sample_sphere(10_000, seed=0, lat_min=20, lat_max=40)
    assert p[:, 1].min() >= 20 and p[:, 1].max() <= 40
    # area-uniform within the band: median latitude is arcsin of the mid sine
    mid = np.degrees(np.arcsin(0.5 * (np.sin(np.radians(20)) + np.sin(np.radians(40)))))
    assert abs(np.median(p[:, 1]) - mid) < 0.5
    with pytest.raises(InputError):
        S.sample_sphere(10, lat_min=40, lat_max=20)
    with pytest.raises(InputError):
        S.sample_sphere(-1)
    with pytest.raises(InputError):
        S.sample_land(10, mask="sea")


def test_sample_land_masks_agree_and_are_deterministic():
    a = S.sample_land(20_000, seed=5, mask="land10m")
    assert a.shape == (20_000, 2)
    assert np.array_equal(a, S.sample_land(20_000, seed=5, mask="land10m"))
    assert np.array_equal(a[:1000], S.sample_land(1000, seed=5, mask="land10m"))  # prefix property
    assert S.is_land(a[:, 0], a[:, 1], mask="land10m").all()
    b = S.sample_land(20_000, seed=5, mask="elevation")
    assert S.is_land(b[:, 0], b[:, 1], mask="elevation").all()
    # the two masks differ only near coasts (1/12° grid vs 1:10m polygons)
    assert S.is_land(b[:, 0], b[:, 1], mask="land10m").mean() > 0.95
    assert S.is_land(a[:, 0], a[:, 1], mask="elevation").mean() > 0.95
    # lat band respected
    c = S.sample_land(2000, seed=0, lat_min=-10, lat_max=10, mask="elevation")
    assert np.abs(c[:, 1]).max() <= 10


def test_land_fraction_and_known_points():
    p = S.sample_sphere(100_000, seed=3)
    frac = S.is_land(p[:, 0], p[:, 1], mask="land10m").mean()
    assert 0.27 < frac < 0.31
    frac_elev = S.is_land(p[:, 0], p[:, 1], mask="elevation").mean()
    assert 0.27 < frac_elev < 0.32
    lon = np.array([0.0, 0.0, 2.35, -140.0, 178.0, 175.0])
    lat = np.array([0.0, -80.0, 48.86, 0.0, -17.8, 66.0])
    assert S.is_land(lon, lat, mask="land10m").tolist() == [False, True, True, False, True, True]


def test_auto_mask_falls_back_to_elevation(monkeypatch):
    import geobench.data as data

    real = data.fetch

    def fake(name, **kw):
        if name == "countries/land-10m.json":
            raise DataError("simulated: no network")
        return real(name, **kw)

    monkeypatch.setattr(data, "fetch", fake)
    with pytest.warns(UserWarning, match="elevation"):
        assert S.resolve_mask("auto") == "elevation"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = S.sample_land(500, seed=2)
    assert np.array_equal(got, S.sample_land(500, seed=2, mask="elevation"))


# --------------------------------------------------------------------------- antimeridian fix
def test_fix_antimeridian_splits_a_stitched_box():
    # a 20° x 10° box stitched across 180° as world-atlas stores it
    stitched = shapely.Polygon([(170, 0), (-170, 0), (-170, 10), (170, 10), (170, 0)])
    assert stitched.area == pytest.approx(3400)  # read naively: a band the other way round
    fixed = G.fix_antimeridian(stitched)
    assert fixed.is_valid and fixed.area == pytest.approx(200)
    assert fixed.contains(shapely.Point(175, 5)) and fixed.contains(shapely.Point(-175, 5))
    assert not fixed.contains(shapely.Point(0, 5))
    minx, _, maxx, _ = fixed.bounds
    assert minx == pytest.approx(-180) and maxx == pytest.approx(180)


def test_fix_antimeridian_closes_pole_ring():
    lons = np.linspace(-180, 180, 73)[:-1]
    ring = [(x, -80.0) for x in lons] + [(-180.0, -80.0)]  # encircles the south pole
    fixed = G.fix_antimeridian(shapely.Polygon(ring))
    assert fixed.area == pytest.approx(360 * 10, rel=1e-6)
    assert fixed.contains(shapely.Point(0, -85)) and not fixed.contains(shapely.Point(0, -75))


def test_countries_fixed_known_points():
    c = G.countries()
    assert len(c) == 255 and c.geometry.is_valid.all()
    assert set(c.geom_type) <= {"Polygon", "MultiPolygon"}
    assert c.total_bounds[0] >= -180 and c.total_bounds[2] <= 180

    def containing(lon, lat):
        return sorted(c.loc[c.contains(shapely.Point(lon, lat)), "name"])

    assert containing(-100.5, 65.5) == ["Canada"]  # not Russia
    assert containing(142.5, -16.5) == ["Australia"]  # not Fiji
    assert containing(175.0, 66.0) == ["Russia"]  # Chukotka, not USA
    assert containing(178.0, -17.8) == ["Fiji"]
    assert containing(0.0, 0.0) == []
    assert containing(0.0, -80.0) == ["Antarctica"]
    pts = np.array([[2.35, 48.86], [36.82, -1.29], [0.0, 0.0], [-179.0, 67.5]])
    assert G.label_points(pts, c, "name").tolist() == ["France", "Kenya", None, "Russia"]


def test_polygon_index_prefers_smallest_overlapping_polygon():
    big = shapely.box(0, 0, 10, 10)
    small = shapely.box(2, 2, 4, 4)
    pts = np.array([[3.0, 3.0], [8.0, 8.0], [20.0, 20.0]])
    assert G.polygon_index(pts, [big, small]).tolist() == [1, 0, -1]
    assert G.polygon_index(pts, [small, big]).tolist() == [0, 1, -1]


# --------------------------------------------------------------------------- continents
def test_assign_continents():
    lon = np.array([2.35, 36.82, -9.9, -140.0, -13.0, 0.0, -100.5])
    lat = np.array([48.86, -1.29, 39.0, 0.0, 39.0, -80.0, 65.5])
    cont, n_near = G.assign_continents(lon, lat)
    assert cont.tolist() == ["Europe", "Africa", "Europe", "Ocean", "Ocean", "Antarctica", "North America"]
    assert n_near == 1  # only the point ~50 km off Portugal


def test_assign_continents_nearest_radius_is_great_circle():
    # due west of the equatorial African coast (Gabon's coast is near 9.3°E at 1°S):
    # 1° of longitude at the equator is 111 km, so 1.5° off is inside 200 km and 2.5° is not.
    cont, n = G.assign_continents(np.array([9.3 - 1.5, 9.3 - 2.5]), np.array([-1.0, -1.0]))
    assert cont.tolist() == ["Africa", "Ocean"] and n == 1
