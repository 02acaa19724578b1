"""Tabular and raster tasks on the real staged data (GEOBENCH_DATA set by conftest)."""
from __future__ import annotations

import numpy as np
import pytest

from geobench.tasks.base import get_spec, load_task, points_sha256
from geobench.tasks.climate import build_air_temperature
from geobench.tasks.socioeconomic import build_california_housing, build_median_income
from geobench.tasks.terrain import build_elevation, build_population, elevation_at, population_density_at


def test_air_temperature_builder():
    df = build_air_temperature()
    assert len(df) == 3076
    assert df["y"].min() == pytest.approx(-19.55, abs=1e-6)
    assert df["y"].max() == pytest.approx(30.458333, abs=1e-5)
    assert df["lat"].min() > -55 and df["lat"].max() < 82
    # warm near the equator, cold near the poles
    assert np.corrcoef(np.abs(df["lat"]), df["y"])[0, 1] < -0.85


def test_median_income_builder():
    df = build_median_income()
    assert len(df) == 3107
    assert df["y"].median() == pytest.approx(47483)
    assert df["y"].min() == 22045 and df["y"].max() == 134609
    assert df.loc[df["y"].idxmax(), "county"] == "Loudoun"
    assert df.loc[df["y"].idxmax(), "state"] == "VA"
    assert df.loc[df["y"].idxmin(), "county"] == "Holmes"
    assert not (df["fips"] % 1000 == 0).any()
    assert df["fips"].is_unique
    meta = df.attrs["meta"]
    assert meta["n_total_rows_dropped"] == 52 and meta["n_joined"] == 3140
    assert df["lon"].between(-130, -50).all() and df["lat"].between(22, 50).all()
    autauga = df.loc[df["fips"] == 1001].iloc[0]
    assert (autauga["lon"], autauga["lat"]) == pytest.approx((-86.64644, 32.532237))


def test_california_housing_builder():
    df = build_california_housing()
    assert len(df) == 20640
    assert df["y"].iloc[0] == pytest.approx(4.526)
    assert (df["y"] >= 5.00001 - 1e-9).sum() == 965 == df.attrs["meta"]["n_capped"]
    assert df["lon"].between(-124.5, -114).all() and df["lat"].between(32.5, 42.1).all()


def test_elevation_lookup():
    e = elevation_at(np.array([[86.9, 27.99], [5.3, 52.1], [-150.0, 0.0], [-68.15, -16.5]]))
    assert e[0] > 5000
    assert e[1] < 50
    assert np.isnan(e[2])
    assert 3000 < e[3] < 4500  # La Paz
    assert np.all((e[~np.isnan(e)] + 450) % 28 == 0)  # quantised to 28 m


def test_population_lookup():
    d = population_density_at(np.array([[90.41, 23.81], [10.0, 23.0], [-150.0, 0.0]]))
    assert d[0] > 10_000
    assert d[1] < 1
    assert np.isnan(d[2])


def test_specs_defaults_match_builders():
    import inspect

    for name, build in [("elevation", build_elevation), ("population", build_population),
                        ("air_temperature", build_air_temperature), ("median_income", build_median_income),
                        ("california_housing", build_california_housing)]:
        spec = get_spec(name)
        params = inspect.signature(build).parameters
        assert {k: p.default for k, p in params.items()} == spec.defaults, name
        assert "SatCLIP" in spec.citation
    assert get_spec("elevation").fidelity == "close proxy" and get_spec("elevation").proxy_note


def test_load_task_tabular_counts():
    assert len(load_task("air_temperature")) == 3076
    assert len(load_task("median_income")) == 3107
    pts = load_task("california_housing")
    assert len(pts) == 20640 and pts.y[0] == pytest.approx(4.526)
    assert pts.meta["n_capped"] == 965


def test_elevation_task_small(empty_cache):
    a = load_task("elevation", n_points=2000)
    assert len(a) == 2000
    y = a.y
    assert np.all(y >= -450) and np.all(np.isfinite(y))
    assert a.df["lat"].between(-63, 80).all()
    # labels equal a direct look-up
    np.testing.assert_array_equal(elevation_at(a.lonlat), y)
    b = load_task("elevation", n_points=2000, rebuild=True)
    assert points_sha256(b.df) == points_sha256(a.df) == a.sha256
    c = load_task("elevation", n_points=2000, seed=1)
    assert len(c) == 2000 and c.sha256 != a.sha256
    assert not np.isin(c.df["lon"].to_numpy(), a.df["lon"].to_numpy()).all()
    # a land sample: a real share of it is high ground, far more than over the ocean (none)
    assert (y > 1000).mean() > 0.1


def test_population_task_small(empty_cache):
    p = load_task("population", n_points=2000)
    assert len(p) == 2000
    assert np.all(np.isfinite(p.y)) and np.all(p.y >= 0)
    np.testing.assert_allclose(np.expm1(p.y), p.df["density"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(population_density_at(p.lonlat), p.df["density"].to_numpy())
    # same seed and size: the candidate draw is shared with elevation, so most points coincide
    e = load_task("elevation", n_points=2000)
    shared = np.isin(p.df["lon"].to_numpy(), e.df["lon"].to_numpy()).mean()
    assert shared > 0.8


def test_elevation_from_wheel_data_only(tmp_path, monkeypatch, empty_cache):
    """Only pvlib's Altitude.h5 and geopandas' naturalearth_lowres (both PyPI wheel members),
    no network: the land mask falls back to the elevation grid, which then drops nothing."""
    import os
    import shutil

    import geobench.data
    from geobench.tasks.geometry import NATURALEARTH_LOWRES

    src = os.environ["GEOBENCH_DATA"]
    mirror = tmp_path / "mirror"
    for name in ("elevation/Altitude.h5", *NATURALEARTH_LOWRES):
        (mirror / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.join(src, name), mirror / name)
    monkeypatch.setenv("GEOBENCH_DATA", str(mirror))

    def offline(*a, **k):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(geobench.data.fetching, "_download", offline)
    with pytest.warns(UserWarning, match="land-10m"):
        pts = load_task("elevation", n_points=500)
    assert len(pts) == 500 and np.all(pts.y >= -450)
    assert pts.meta["n_nodata_dropped"] == 0
