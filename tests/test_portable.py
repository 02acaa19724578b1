"""geobench.portable: elementary functions from IEEE basic operations, so that task points (whose
sha256 is their identity) are the same bits on every CPU. NumPy's own arcsin / log1p pick a
kernel by CPU (SVML on AVX-512), which gave the sampled tasks another identity on an AMD EPYC
than on the Xeon that made the records."""
from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from geobench import portable


PINNED_SHA256 = "76b0f2b51c8e5d69a138e50b4bd488838738f2c30f90305dc44a3f2c77470250"


def _ulps(got: np.ndarray, want: list[float]) -> float:
    want = np.asarray(want)
    return float(np.max(np.abs(got - want) / np.spacing(np.maximum(np.abs(want), 1e-300))))


def _inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    unit = np.concatenate([rng.random(50_000) * 2 - 1, [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1e-300, 0.4999999999,
                                                         0.5000000001, 1 - 2**-52]])
    dens = np.concatenate([rng.random(20_000) * 1e5, 10 ** rng.uniform(-300, 300, 20_000), rng.random(5_000) * 2 - 1,
                           [0.0, 1e-17, 5e-324, -0.5, 2.0**-53]])
    angle = np.concatenate([(rng.random(50_000) - 0.5) * math.pi, [0.0, math.pi / 2, -math.pi / 2, 1e-300]])
    return unit, dens, angle


def test_accurate_to_a_few_ulps_of_the_c_library():
    unit, dens, angle = _inputs()
    assert _ulps(portable.asin(unit), [math.asin(v) for v in unit]) <= 4
    assert _ulps(portable.log1p(dens), [math.log1p(v) for v in dens]) <= 4
    assert _ulps(portable.sin(angle), [math.sin(v) for v in angle]) <= 4
    # exact where the geometry needs it: the poles are +-90 degrees, not 90.00000000000001
    assert portable.degrees(portable.asin(np.array([1.0, -1.0]))).tolist() == [90.0, -90.0]
    assert portable.sin(np.array([math.pi / 2])).tolist() == [1.0]
    assert portable.log1p(np.array([0.0, 2.0**-60])).tolist() == [0.0, 2.0**-60]
    # outside the domain: NaN, never a number
    assert np.isnan(portable.asin(np.array([1.5, -1.01]))).all() and np.isnan(portable.log1p(np.array([-1.0, -3.0]))).all()
    assert np.isnan(portable.sin(np.array([2.0]))).all() and portable.log1p(np.array([np.inf])).tolist() == [np.inf]


def test_the_same_bits_whatever_simd_path_numpy_takes():
    """Each element's bits do not depend on where it sits in the array (SIMD body or scalar tail,
    alignment), nor on the CPU features NumPy may use (a child with every optional one disabled)."""
    unit, dens, _ = _inputs(1)
    full_a, full_l = portable.asin(unit), portable.log1p(dens)
    for k in range(1, 9):
        assert np.array_equal(portable.asin(unit[k:]), full_a[k:])
        assert np.array_equal(portable.log1p(dens[k:]), full_l[k:])
    assert all(portable.asin(float(v)) == full_a[i] for i, v in enumerate(unit[:300]))

    from numpy._core._multiarray_umath import __cpu_dispatch__

    code = ("import hashlib, numpy as np; from geobench.tasks.sampling import sample_sphere; "
            "from geobench import portable; p = sample_sphere(100_000, 3, lat_min=-63, lat_max=80); "
            "y = portable.log1p(np.abs(p[:, 0]) * 97.0); "
            "print(hashlib.sha256(p.tobytes() + y.tobytes()).hexdigest())")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(__cpu_dispatch__)}
    child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    from geobench.tasks.sampling import sample_sphere

    p = sample_sphere(100_000, 3, lat_min=-63, lat_max=80)
    y = portable.log1p(np.abs(p[:, 0]) * 97.0)
    here = hashlib.sha256(p.tobytes() + y.tobytes()).hexdigest()
    assert child.stdout.strip() == here
    # The contract across machines: these bits were computed on an AMD EPYC (AVX2). A machine whose
    # NumPy kernels round otherwise (an AVX-512 Xeon: SVML) must give them too; np.arcsin did not.
    assert here == PINNED_SHA256


@pytest.mark.parametrize("band", [(-90.0, 90.0), (-63.0, 80.0), (10.0, 10.5)])
def test_sampled_latitudes_stay_in_the_band_and_are_area_uniform(band):
    from geobench.tasks.sampling import sample_sphere

    lo, hi = band
    p = sample_sphere(200_000, 0, lat_min=lo, lat_max=hi)
    assert p[:, 1].min() >= lo and p[:, 1].max() <= hi and p[:, 0].min() >= -180 and p[:, 0].max() < 180
    # area-uniform: sin(lat) is uniform on [sin(lo), sin(hi)] (its mean is the midpoint, within 4 standard errors)
    s = np.sin(np.radians(p[:, 1]))
    a, b = math.sin(math.radians(lo)), math.sin(math.radians(hi))
    assert abs(s.mean() - (a + b) / 2) < 4 * (b - a) / math.sqrt(12 * len(s))
