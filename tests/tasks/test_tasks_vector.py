"""The polygon-labelled tasks: countries, biome, ecoregions (real data, small point sets)."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from geobench.tasks.base import TASKS, get_spec, load_task
from geobench.tasks.ecology import ecoregion_table
from geobench.tasks.geometry import label_points

NAMES = ("countries", "biome", "ecoregions")


@pytest.mark.parametrize("name", NAMES)
def test_spec_defaults_match_builder(name):
    entry = TASKS.get(name)
    spec = entry.spec
    sig = inspect.signature(entry.build)
    assert spec.defaults == {k: p.default for k, p in sig.parameters.items()}
    assert spec.defaults == {"n_points": 100_000, "seed": 0, "include_ocean": False}
    assert spec.kind == "classification" and spec.expected_size == 100_000
    assert spec.fidelity == "close proxy" and spec.files


def test_ecoregion_table_counts_and_labels():
    e = ecoregion_table()
    assert len(e) == 822
    assert e["ECO_NAME"].nunique() == 822
    assert e["BIOME_NAME"].nunique() == 14
    assert e["REALM"].nunique() == 7
    assert "Rock and Ice" not in set(e["ECO_NAME"])
    assert e.geometry.is_valid.all() and not e.geometry.is_empty.any()
    pts = np.array([[-62.0, -4.0], [2.35, 48.86], [0.0, 0.0], [0.0, -80.0]])
    assert label_points(pts, e, "BIOME_NAME").tolist() == [
        "Tropical & Subtropical Moist Broadleaf Forests", "Temperate Broadleaf & Mixed Forests", None, None]


def test_countries_task_small_is_exact_size_and_deterministic():
    p = load_task("countries", n_points=5000, rebuild=True)
    assert len(p) == 5000
    df = p.df
    assert df["continent"].notna().all()
    assert set(df["continent"]) <= {"Africa", "Asia", "Europe", "North America", "South America", "Oceania",
                                    "Antarctica", "Seven seas (open ocean)", "Ocean"}
    assert (df["continent"] == "Ocean").mean() < 0.01  # land points; only tiny islands are > 200 km off
    assert "ocean" not in p.classes and p.classes == sorted(p.classes)
    assert (np.asarray(p.classes, dtype=object)[df["y"].to_numpy()] == df["class_name"].to_numpy()).all()
    # the biggest countries by area dominate an area-uniform land sample
    top = df["class_name"].value_counts().index[:3].tolist()
    assert set(top) <= {"Russia", "Antarctica", "Canada", "United States of America", "China", "Brazil", "Australia"}
    again = load_task("countries", n_points=5000, rebuild=True)
    assert again.sha256 == p.sha256
    other = load_task("countries", n_points=5000, seed=1)
    assert other.sha256 != p.sha256
    assert not np.allclose(other.lonlat[:100], p.lonlat[:100])


def test_countries_include_ocean_keeps_sphere_points():
    p = load_task("countries", n_points=4000, include_ocean=True)
    assert len(p) == 4000 and "ocean" in p.classes
    frac_ocean = float(np.mean(p.df["class_name"] == "ocean"))
    assert 0.66 < frac_ocean < 0.76  # ~71 % of the sphere is in no admin-0 unit
    assert p.meta["n_ocean"] == int(np.sum(p.df["class_name"] == "ocean"))


@pytest.mark.parametrize("name, column", [("biome", "BIOME_NAME"), ("ecoregions", "ECO_NAME")])
def test_ecology_tasks_small(name, column):
    p = load_task(name, n_points=3000)
    assert len(p) == 3000
    names = set(ecoregion_table()[column])
    assert set(p.classes) <= names and p.classes == sorted(p.classes)
    if name == "biome":
        assert len(p.classes) >= 12  # all but the rarest biomes appear in 3000 land points
    # every kept point re-labels to its class
    lab = label_points(p.lonlat, ecoregion_table(), column)
    assert (lab == p.df["class_name"].to_numpy()).all()
    assert get_spec(name).files == tuple(f"ecoregions/{r}.rda" for r in (
        "Afrotropic", "Australasia", "Indomalayan", "Nearctic", "Neotropic", "Oceania", "Palearctic"))
