"""``--device`` for the torch encoders: an unknown or unavailable device fails with the fix named,
and the CPU default leaves the encoder's meta (so its identity) as it was before the flag."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from geobench.devices import device_meta, work_dtype
from geobench.encoding import get_encoder
from geobench.errors import InputError

TORCH_ENCODERS = ["satclip-bm", "csp-bm", "geoclip", "sh_siren_random"]


def test_device_meta_and_work_dtype():
    assert device_meta("cpu") == {} and device_meta("mps") == {"device": "mps"}
    with pytest.raises(InputError, match="device must be one of cpu, cuda, mps, got 'tpu'"):
        device_meta("tpu")
    assert work_dtype("cpu") == work_dtype("cuda") == torch.float64 and work_dtype("mps") == torch.float32


@pytest.mark.parametrize("name", TORCH_ENCODERS)
def test_torch_encoders_on_cpu_and_on_a_missing_gpu(name):
    lonlat = np.array([[-122.4, 37.8], [2.35, 48.86], [151.2, -33.9]])
    default, on_cpu = get_encoder(name), get_encoder(f"{name}:device=cpu")
    assert "device" not in default.meta and default.meta == on_cpu.meta
    np.testing.assert_array_equal(default.encode(lonlat), on_cpu.encode(lonlat))
    if torch.cuda.is_available():  # pragma: no cover - no GPU on the machines this runs on
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(InputError, match="'cuda' is not available.*use --device cpu"):
        get_encoder(f"{name}:device=cuda").encode(lonlat)
