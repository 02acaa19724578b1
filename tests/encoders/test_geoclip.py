"""GeoCLIP re-implementation against numbers from the official geoclip==1.3.0 wheel."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geobench.encoding import ENCODERS, get_encoder
from geobench.errors import CheckpointError, ChecksumError

FIX = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"


@pytest.fixture(scope="module")
def enc():
    return get_encoder("geoclip")


def test_parity_with_official_wheel(enc):
    lonlat = np.load(FIX / "satclip" / "coords.npy")  # (lon, lat)
    latlon = np.load(FIX / "geoclip" / "coords_latlon.npy")  # what the official encoder was fed
    np.testing.assert_array_equal(latlon, lonlat[:, ::-1].astype(np.float32))
    ref = np.load(FIX / "geoclip" / "geoclip_embeddings.npy")
    out = enc.encode(lonlat)
    assert out.shape == (64, 512) and out.dtype == np.float32
    assert np.abs(out - ref).max() < 5e-5
    # The fixture is not trivially small: wrong order of ops or a swapped column would show.
    assert np.abs(ref).max() > 0.05


def test_equal_earth_projection_matches_fixture():
    import torch

    from geobench.encoders.geoclip import equal_earth_projection

    latlon = torch.from_numpy(np.load(FIX / "geoclip" / "coords_latlon.npy"))
    ref = np.load(FIX / "geoclip" / "geoclip_equal_earth.npy")
    got = equal_earth_projection(latlon).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)


def test_asymmetric_point_flips_inside(enc):
    import torch

    from geobench.encoders.geoclip import forward_latlon

    ours = enc.encode(np.array([[100.0, 10.0]]))  # lon 100, lat 10
    with torch.no_grad():
        upstream = forward_latlon(torch.tensor([[10.0, 100.0]]), enc.state_dict).numpy()  # (lat, lon)
        unflipped = forward_latlon(torch.tensor([[100.0, 10.0]]), enc.state_dict).numpy()  # the bug
    np.testing.assert_allclose(ours, upstream, atol=1e-6)
    assert np.abs(ours - unflipped).max() > 1e-2


def test_batching_does_not_change_outputs(enc):
    from geobench.encoders.geoclip import GeoCLIPEncoder

    rng = np.random.default_rng(0)
    x = np.c_[rng.uniform(-180, 180, 300), rng.uniform(-90, 90, 300)]
    small = GeoCLIPEncoder(state_dict=enc.state_dict, meta={}, batch_size=64)
    np.testing.assert_allclose(small.encode(x), enc.encode(x), atol=1e-5)


def test_registry_entry_and_meta(enc):
    entry = ENCODERS.get("geoclip")
    assert entry.kind == "pretrained" and entry.license == "MIT"
    assert "Vivanco Cepeda" in entry.citation and "NeurIPS 2023" in entry.citation
    assert enc.dim == 512 and enc.name == "geoclip"
    assert enc.meta["weights_sha256"] == "94b80ae3af89fca78539e129dd2929d321247f5ceeeb0a31bc2c31041a253394"
    assert enc.meta["spec"] == "geoclip"


def test_garbage_weights_file_is_a_checkpoint_error(tmp_path):
    from geobench.encoders.geoclip import load_weights

    bad = tmp_path / "location_encoder_weights.pth"
    bad.write_bytes(b"not a torch file" * 100)
    with pytest.raises(CheckpointError, match="cannot be read as a torch state_dict"):
        load_weights(bad)


def test_state_dict_with_wrong_shape_is_a_checkpoint_error(tmp_path, enc):
    import torch

    from geobench.encoders.geoclip import load_weights

    sd = dict(enc.state_dict)
    sd["LocEnc1.capsule.3.weight"] = torch.zeros(1024, 512)
    p = tmp_path / "w.pth"
    torch.save(sd, p)
    with pytest.raises(CheckpointError, match=r"LocEnc1\.capsule\.3\.weight.*expected \(1024, 1024\)"):
        load_weights(p)
    del sd["LocEnc1.capsule.3.weight"]
    torch.save(sd, p)
    with pytest.raises(CheckpointError, match="lack tensor"):
        load_weights(p)


def test_corrupt_mirror_copy_is_a_checksum_error(tmp_path, monkeypatch, empty_cache):
    from geobench.data import cache_path

    # empty cache: the (corrupt, right-sized) mirror copy is what fetch finds first
    assert not cache_path("geoclip/location_encoder_weights.pth").exists()
    mirror = tmp_path / "mirror"
    (mirror / "geoclip").mkdir(parents=True)
    (mirror / "geoclip" / "location_encoder_weights.pth").write_bytes(b"\0" * 37806041)
    monkeypatch.setenv("GEOBENCH_DATA", str(mirror))
    with pytest.raises(ChecksumError, match="fails its checksum"):
        get_encoder("geoclip")
