"""Every registered encoder: (lon, lat) order, input validation, batch independence.

The asymmetric point lon=100, lat=10 is fed to every encoder: an encoder that read column 0
as latitude would see lat=100 and fail validation or give a different answer.
"""
from __future__ import annotations

import numpy as np
import pytest

from pathlib import Path

from geobench.encoding import ENCODERS, default_encoders, get_encoder
from geobench.encoders.csp import CHECKPOINT as CSP_BM
from geobench.errors import InputError

SATCLIP_FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "satclip" / "satclip_sh10_siren256_seed0.ckpt"
# every encoder that builds without options, and the architectures with weights named
NAMES = default_encoders() + [f"satclip:ckpt={SATCLIP_FIXTURE}", f"csp:ckpt={CSP_BM}"]
assert set(ENCODERS.names()) <= {n.split(":")[0] for n in NAMES}
P = np.array([[100.0, 10.0]])


class _Lazy(dict):
    def __missing__(self, name):
        self[name] = get_encoder(name)
        return self[name]


@pytest.fixture(scope="module")
def encoders():
    return _Lazy()


@pytest.mark.parametrize("name", NAMES)
def test_asymmetric_point_and_batch_independence(encoders, name):
    enc = encoders[name]
    one = np.asarray(enc.encode(P), dtype=np.float64)
    assert one.shape == (1, enc.dim) and np.isfinite(one).all()
    batch = np.array([[100.0, 10.0], [0.0, 0.0], [-50.0, -40.0], [179.9, 89.9]])
    many = np.asarray(enc.encode(batch), dtype=np.float64)
    np.testing.assert_allclose(many[0], one[0], rtol=1e-5, atol=1e-5)
    # A different place must give a different embedding (the noise control included); only the
    # label-only reference carries no location by design, and must then be the same everywhere.
    if ENCODERS.get(name.split(":")[0]).kind == "label-only":
        assert np.allclose(many, many[0])
    else:
        assert not np.allclose(many[0], many[1])


@pytest.mark.parametrize("name", NAMES)
def test_swapped_or_invalid_input_is_rejected(encoders, name):
    enc = encoders[name]
    with pytest.raises(InputError, match="swapped"):
        enc.encode(P[:, ::-1])  # (lon=10, lat=100): the columns look swapped
    with pytest.raises(InputError, match="NaN"):
        enc.encode(np.array([[np.nan, 0.0]]))


def test_known_values_at_asymmetric_point(encoders):
    lon, lat = np.deg2rad(100.0), np.deg2rad(10.0)
    np.testing.assert_allclose(encoders["direct"].encode(P)[0], [100 / 180, 10 / 90])
    np.testing.assert_allclose(encoders["cartesian3d"].encode(P)[0],
                               [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], atol=1e-7)
    np.testing.assert_allclose(encoders["wrap"].encode(P)[0],
                               [np.sin(lon), np.cos(lon), np.sin(np.pi * 10 / 90), np.cos(np.pi * 10 / 90)],
                               atol=1e-7)
