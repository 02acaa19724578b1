"""iNaturalist 2018 loader end to end on the synthetic fixture in the official layout."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geobench.errors import DataError
from geobench.tasks.base import load_task
from geobench.tasks.inaturalist import features_for_points, load_image_features

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INAT = FIXTURES / "inat2018"
NAMES = ["Hylocichla mustelina", "Danaus plexippus", "Quercus robur", "Amanita muscaria", "Phascolarctos cinereus"]


@pytest.fixture
def inat_env(monkeypatch, empty_cache):
    monkeypatch.setenv("GEOBENCH_INAT_DIR", str(INAT))
    return INAT


def test_load_task_end_to_end(inat_env):
    pts = load_task("inaturalist_2018")
    df = pts.df
    # 60 train images: 3 null lat/lon + 1 without a location record; 20 val: 1 null
    assert len(df) == 75
    assert (df["split"] == "train").sum() == 56 and (df["split"] == "val").sum() == 19
    m = pts.meta
    assert (m["n_missing_location_train"], m["n_no_location_entry_train"], m["n_missing_location_val"]) == (3, 1, 1)
    assert m["n_dropped"] == 5
    # category ids 3, 7, 10, 11, 42 become codes 0..4, named from categories2018.json
    assert pts.classes == NAMES
    assert sorted(df["y"].unique()) == [0, 1, 2, 3, 4]
    assert (df["class_name"] == np.array(NAMES, dtype=object)[df["y"].to_numpy()]).all()
    # each synthetic species lives around its own centre: Koalas in Australia, oaks in Europe
    koala = df[df["class_name"] == "Phascolarctos cinereus"]
    assert (koala["lon"] > 130).all() and (koala["lat"] < -15).all()
    assert set(df["continent"]) >= {"Oceania", "Europe", "North America"}
    # feature rows line up with images (col 15 = image id) and labels (cols 0-4 = one-hot code)
    feats = features_for_points(df)
    assert feats.shape == (75, 16)
    np.testing.assert_array_equal(feats[:, 15], df["image_id"].to_numpy())
    np.testing.assert_array_equal(feats[:, :5].argmax(1), df["y"].to_numpy())


def test_image_features_shapes(inat_env):
    assert load_image_features(None, "train").shape == (60, 16)
    assert load_image_features(INAT, "val").dtype == np.float32
    with pytest.raises(Exception, match="split"):
        load_image_features(INAT, "test")


def test_missing_env_var_raises(monkeypatch, empty_cache):
    monkeypatch.delenv("GEOBENCH_INAT_DIR", raising=False)
    with pytest.raises(DataError, match="GEOBENCH_INAT_DIR"):
        load_task("inaturalist_2018")


def test_missing_file_named(monkeypatch, empty_cache, tmp_path):
    root = tmp_path / "inat"
    shutil.copytree(INAT, root)
    (root / "val2018_locations.json").unlink()
    monkeypatch.setenv("GEOBENCH_INAT_DIR", str(root))
    with pytest.raises(DataError, match="val2018_locations.json"):
        load_task("inaturalist_2018")
    monkeypatch.setenv("GEOBENCH_INAT_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="not a folder"):
        load_task("inaturalist_2018")


def test_locations_in_zip_subfolder(monkeypatch, empty_cache, tmp_path):
    """inat2018_locations.zip unpacks into inat2018_locations/; that layout works too."""
    root = tmp_path / "inat"
    shutil.copytree(INAT, root)
    (root / "inat2018_locations").mkdir()
    for s in ("train", "val"):
        (root / f"{s}2018_locations.json").rename(root / "inat2018_locations" / f"{s}2018_locations.json")
    (root / "categories2018.json").unlink()  # then names come from the (obfuscated) json categories
    monkeypatch.setenv("GEOBENCH_INAT_DIR", str(root))
    pts = load_task("inaturalist_2018")
    assert len(pts) == 75
    assert pts.classes != NAMES and len(set(pts.classes)) == 5


def test_fixture_script_reproduces_fixture(tmp_path):
    out = tmp_path / "regen"
    subprocess.run([sys.executable, str(FIXTURES / "make_inat2018.py"), str(out)], check=True)
    made = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    shipped = sorted(p.relative_to(INAT) for p in INAT.rglob("*") if p.is_file())
    assert made == shipped
    for rel in made:
        assert (out / rel).read_bytes() == (INAT / rel).read_bytes(), rel
