"""Blue Marble crops and the S2-100K tile loader, on the real staged files."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from geobench import data
from geobench.encoders import imagery
from geobench.errors import DataError, InputError

S2_NAMES = ["s2_tiles/index.csv", "s2_tiles/patch_502692.tif", "s2_tiles/patch_322265.tif",
            "s2_tiles/patch_70541.tif"]


@pytest.fixture(scope="module")
def img():
    return imagery.load_bmng()


def test_bmng_decodes_once(img):
    assert img.shape == (2700, 5400, 3) and img.dtype == np.uint8
    assert imagery.load_bmng() is img  # decoded once per process
    # Sahara is bright and Pacific ocean dark blue: the orientation is right.
    sahara, pacific = img[(90 - 24) * 15, (180 + 13) * 15], img[(90 + 20) * 15, (180 - 140) * 15]
    assert sahara.astype(int).sum() > 400 and pacific[2] > pacific[0] and pacific.astype(int).sum() < 200


def test_asymmetric_point_pixel_and_centred_crop(img):
    row, col = imagery.pixel_index(np.array([[100.0, 10.0]]))  # lon 100, lat 10
    assert (row[0], col[0]) == ((90 - 10) * 15, (100 + 180) * 15) == (1200, 4200)
    c = imagery.crops(np.array([[100.0, 10.0]]), size=32)
    assert c.shape == (1, 3, 32, 32) and c.dtype == np.float32
    want = img[1200 - 16 : 1200 + 16, 4200 - 16 : 4200 + 16].transpose(2, 0, 1) / np.float32(255)
    np.testing.assert_array_equal(c[0], want)
    np.testing.assert_array_equal(c[0, :, 16, 16] * 255, img[1200, 4200].astype(np.float32))
    # (lat, lon) = (10, 100) would be a different pixel
    assert not np.array_equal(c, imagery.crops(np.array([[10.0, 80.0]]), size=32))


def test_longitude_wraps_at_antimeridian(img):
    c = imagery.crops(np.array([[179.99, 0.0]]), size=8)[0]
    row, col = 1350, 5399
    cols = np.arange(col - 4, col + 4) % 5400
    assert cols.tolist() == [5395, 5396, 5397, 5398, 5399, 0, 1, 2]
    want = img[row - 4 : row + 4][:, cols].transpose(2, 0, 1) / np.float32(255)
    np.testing.assert_array_equal(c, want)
    # -180 and +180 are the same pixel column
    np.testing.assert_array_equal(imagery.crops(np.array([[-180.0, 5.0]]), 8),
                                  imagery.crops(np.array([[180.0, 5.0]]), 8))


def test_pole_reflects_across_with_half_turn(img):
    c = imagery.crops(np.array([[0.0, 89.99]]), size=8)[0]  # row 0, col 2700
    # crop rows 0..3 are image rows -4..-1 -> reflected rows 3..0 at col + 2700 (180 deg away)
    for i, r in enumerate([3, 2, 1, 0]):
        cols = (np.arange(2696, 2704) + 2700) % 5400
        np.testing.assert_array_equal(c[:, i], img[r, cols].T / np.float32(255))
    np.testing.assert_array_equal(c[:, 4], img[0, 2696:2704].T / np.float32(255))
    s = imagery.crops(np.array([[0.0, -90.0]]), size=8)[0]
    assert np.isfinite(s).all() and s.min() >= 0 and s.max() <= 1


def test_iter_crops_equals_crops_and_augmentation_is_seeded():
    rng = np.random.default_rng(5)
    x = np.c_[rng.uniform(-180, 180, 50), rng.uniform(-90, 90, 50)]
    whole = imagery.crops(x, 16)
    parts = list(imagery.iter_crops(x, 16, chunk=7))
    assert [p.shape[0] for p in parts] == [7] * 7 + [1]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    a = imagery.crops(x, 16, flip=True, rng=3)
    np.testing.assert_array_equal(a, imagery.crops(x, 16, flip=True, rng=3))
    # every flipped crop is one of the four flips of the plain crop, and some are flipped
    flips = [whole, whole[..., ::-1], whole[:, :, ::-1], whole[:, :, ::-1, ::-1]]
    match = np.stack([(a == f).all(axis=(1, 2, 3)) for f in flips])
    assert match.any(axis=0).all() and (~match[0]).sum() > 10
    j = imagery.crops(x, 16, jitter_px=3, rng=1)
    assert not np.array_equal(j, whole)
    np.testing.assert_array_equal(j, imagery.crops(x, 16, jitter_px=3, rng=1))
    with pytest.raises(InputError, match="pass rng"):
        imagery.crops(x, 16, jitter_px=2)
    with pytest.raises(InputError, match="swapped"):
        imagery.crops(np.array([[10.0, 100.0]]), 16)  # (lat, lon) by mistake


def test_crops_read_only_the_imagery_source(fetch_log):
    names = fetch_log
    x = np.array([[0.0, 0.0], [100.0, 10.0], [-60.0, -5.0]])
    imagery.crops(x, 32)
    list(imagery.iter_crops(x, 16, chunk=1, jitter_px=2, flip=True, rng=0))
    assert set(names) == {"imagery/bmng.jpg"}


@pytest.fixture(scope="module")
def s2_root():
    paths = [data.fetch(n) for n in S2_NAMES]
    return paths[0].parent


def test_s2_dataset_reads_real_tiles(s2_root):
    ds = imagery.S2Dataset(s2_root)
    assert len(ds) == 3
    # index.csv columns are lat,lon; the dataset gives (lon, lat)
    assert ds.lonlat.shape == (3, 2)
    np.testing.assert_allclose(ds.lonlat[0], [25.259424376718343, -13.00220637215935])
    for i in range(3):
        x, ll = ds[i]
        assert x.shape == (12, 256, 256) and x.dtype == np.float32
        np.testing.assert_array_equal(ll, ds.lonlat[i])
        assert 0.0 <= x.min() and x.max() < 2.0  # reflectance = DN / 10000
        assert 0.01 < np.median(x) < 1.0
    sahara_tile, _ = ds[2]  # lon 22.0, lat 26.2: bright desert
    assert np.median(sahara_tile) > np.median(ds[0][0])


def test_s2_dataset_images_subfolder_and_missing_tile(s2_root, tmp_path):
    (tmp_path / "images").mkdir()
    shutil.copy(s2_root / "index.csv", tmp_path / "index.csv")
    for f in ("patch_502692.tif", "patch_322265.tif", "patch_70541.tif"):
        shutil.copy(s2_root / f, tmp_path / "images" / f)
    ds = imagery.S2Dataset(tmp_path)
    assert ds.files[0].parent.name == "images"
    np.testing.assert_array_equal(ds[1][0], imagery.S2Dataset(s2_root)[1][0])
    (tmp_path / "images" / "patch_70541.tif").unlink()
    with pytest.raises(DataError, match="patch_70541.tif"):
        imagery.S2Dataset(tmp_path)
    with pytest.raises(DataError, match="index.csv"):
        imagery.S2Dataset(tmp_path / "images")
