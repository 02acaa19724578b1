"""Spherical harmonics (geobench.baselines.sh): parity with the official SatCLIP numbers,
orthonormality, poles, antimeridian, precision and the encoder wrapper."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from geobench.baselines.sh import naive_spherical_harmonics, spherical_harmonics
from geobench.encoding import get_encoder
from geobench.errors import InputError

SAT = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "satclip"


@pytest.fixture(scope="module")
def coords():
    return np.load(SAT / "coords.npy")


def degree_order(L):
    """(l, m) of every column l**2 + l + m."""
    ls = np.concatenate([np.full(2 * l + 1, l) for l in range(L)])
    ms = np.concatenate([np.arange(-l, l + 1) for l in range(L)])
    return ls, ms


def test_parity_official_L10(coords):
    ours = spherical_harmonics(coords, 10)
    official = np.load(SAT / "sh_L10.npy")
    assert ours.shape == official.shape == (64, 100)
    assert np.abs(ours - official).max() < 1e-10
    assert ours[0, 0] == pytest.approx(0.886226925452758, abs=1e-15)  # sqrt(pi/4): the pi bug on m=0
    # Y_{1,0} is negative at the north pole in SatCLIP's south-pole convention
    assert ours[3, 2] == pytest.approx(-1.53499, abs=1e-5) and ours[4, 2] == pytest.approx(1.53499, abs=1e-5)


def test_parity_mp50_reference_L40(coords):
    ours = spherical_harmonics(coords, 40)
    ref = np.load(SAT / "sh_L40_reference_mp50.npy")
    assert np.abs(ours - ref).max() < 1e-9


def test_official_L40_differs_only_where_upstream_loses_precision(coords):
    """We compute the exact function: agree with the official L=40 output on low degrees
    (its error there is <= 1e-11) but not on l=39 near the pole (its error 0.60)."""
    ours = spherical_harmonics(coords, 40)
    official = np.load(SAT / "sh_L40.npy")
    assert np.abs(ours[:, : 13 * 13] - official[:, : 13 * 13]).max() < 1e-9
    assert abs(ours[3, 1560] - official[3, 1560]) > 0.1


def test_closed_form_relation(coords):
    """Upstream's closed form = analytic with correct m=0 norm and Condon-Shortley phase."""
    ls, ms = degree_order(10)
    conv = np.where(ms == 0, 1 / math.pi, (-1.0) ** np.abs(ms))
    closed = np.load(SAT / "sh_L10_closed_form.npy")
    assert np.abs(spherical_harmonics(coords, 10) * conv - closed).max() < 1e-10


def test_hand_computed_degree_one_and_two():
    """At (lon=100, lat=10): theta = lat + 90 = 100 deg from the south pole, phi = lon + 180."""
    y = spherical_harmonics(np.array([[100.0, 10.0]]), 3)[0]
    th, ph = math.radians(100.0), math.radians(280.0)
    c1 = math.sqrt(3 / (4 * math.pi))
    assert y[1] == pytest.approx(c1 * math.sin(th) * math.sin(ph), abs=1e-14)
    assert y[2] == pytest.approx(math.pi * c1 * math.cos(th), abs=1e-14)
    assert y[3] == pytest.approx(c1 * math.sin(th) * math.cos(ph), abs=1e-14)
    assert y[8] == pytest.approx(0.25 * math.sqrt(15 / math.pi) * math.sin(th) ** 2 * math.cos(2 * ph), abs=1e-14)
    # orthonormal: colatitude from the north pole (80 deg), phi = lon
    yo = spherical_harmonics(np.array([[100.0, 10.0]]), 2, convention="orthonormal")[0]
    assert yo[2] == pytest.approx(c1 * math.cos(math.radians(80)), abs=1e-14)
    assert yo[3] == pytest.approx(c1 * math.sin(math.radians(80)) * math.cos(math.radians(100)), abs=1e-14)
    # a lon/lat mix-up would give a different vector
    assert np.abs(spherical_harmonics(np.array([[10.0, 10.0]]), 3)[0] - y).max() > 0.1


def test_naive_reference_agrees(coords):
    for conv in ("satclip", "orthonormal"):
        assert np.abs(naive_spherical_harmonics(coords, 10, conv) - spherical_harmonics(coords, 10, conv)).max() < 1e-11
    assert np.abs(naive_spherical_harmonics(coords, 25) - spherical_harmonics(coords, 25)).max() < 1e-10


def gauss_grid(L):
    """Quadrature exact for products of degree < L harmonics: Gauss-Legendre in cos(colat),
    uniform in longitude."""
    x, w = np.polynomial.legendre.leggauss(L + 1)
    nphi = 2 * L + 1
    lon = -180 + 360 * np.arange(nphi) / nphi
    lat = np.degrees(np.arcsin(x))
    LON, LAT = np.meshgrid(lon, lat)
    W = np.repeat(w, nphi) * (2 * np.pi / nphi)
    return np.c_[LON.ravel(), LAT.ravel()], W


def test_orthonormal_by_quadrature():
    L = 10
    pts, w = gauss_grid(L)
    y = spherical_harmonics(pts, L, convention="orthonormal")
    gram = y.T @ (y * w[:, None])
    assert np.abs(gram - np.eye(L * L)).max() < 1e-10


def test_satclip_gram_has_pi_squared_on_m0():
    L = 10
    pts, w = gauss_grid(L)
    y = spherical_harmonics(pts, L)
    gram = y.T @ (y * w[:, None])
    _, ms = degree_order(L)
    assert np.abs(gram - np.diag(np.where(ms == 0, math.pi**2, 1.0))).max() < 1e-10


def test_conventions_related(coords):
    ls, ms = degree_order(20)
    factor = (-1.0) ** ls * np.where(ms == 0, math.pi, 1.0)
    a = spherical_harmonics(coords, 20)
    b = spherical_harmonics(coords, 20, convention="orthonormal")
    assert np.abs(a - b * factor).max() < 1e-12


@pytest.mark.parametrize("L", [40, 100])
def test_poles(L):
    pts = np.array([[0.0, 90.0], [37.0, 90.0], [-180.0, -90.0], [123.4, -90.0]])
    _, ms = degree_order(L)
    for conv in ("satclip", "orthonormal"):
        y = spherical_harmonics(pts, L, convention=conv)
        assert (y[:, ms != 0] == 0).all()
        assert np.abs(y[0] - y[1]).max() == 0  # longitude does not matter at a pole
        assert np.all(y[:, ms == 0] != 0)


def test_antimeridian():
    lat = np.array([-89.9, -60.0, -1.0, 0.0, 33.3, 75.0, 89.999])
    east = np.c_[np.full_like(lat, 180.0), lat]
    west = np.c_[np.full_like(lat, -180.0), lat]
    for conv in ("satclip", "orthonormal"):
        for L in (40, 100):
            assert np.abs(spherical_harmonics(east, L, conv) - spherical_harmonics(west, L, conv)).max() < 1e-12


def test_addition_theorem_L100():
    """Unsold: sum_m Y_lm^2 = (2l+1)/(4 pi) at every point, for every l < 100."""
    rng = np.random.default_rng(3)
    pts = np.r_[np.c_[rng.uniform(-180, 180, 200), np.degrees(np.arcsin(rng.uniform(-1, 1, 200)))],
                [[0, 89.99999], [10, -89.9999999], [180, 0]]]
    L = 100
    y = spherical_harmonics(pts, L, convention="orthonormal")
    assert np.isfinite(y).all()
    ls, _ = degree_order(L)
    sums = np.zeros((pts.shape[0], L))
    np.add.at(sums.T, ls, (y**2).T)
    expected = (2 * np.arange(L) + 1) / (4 * np.pi)
    assert np.abs(sums / expected - 1).max() < 1e-11


def test_float32_matches_float64(coords):
    y64 = spherical_harmonics(coords, 40)
    y32 = spherical_harmonics(coords, 40, dtype=np.float32)
    assert y32.dtype == np.float32
    # recurrences run in float64; float32 output is the rounded result
    assert np.abs(y32 - y64).max() < 1e-6
    assert np.isfinite(spherical_harmonics(coords, 100, dtype=np.float32)).all()


def test_chunking_and_out(coords):
    ref = spherical_harmonics(coords, 12)
    for cs in (1, 5, 64, 1000):  # chunking is the numpy path's
        assert np.array_equal(spherical_harmonics(coords, 12, chunk_size=cs, backend="numpy"), ref)
    out = np.full((64, 144), np.nan)
    res = spherical_harmonics(coords, 12, out=out)
    assert res is out and np.array_equal(out, ref)
    with pytest.raises(InputError, match="out must be"):
        spherical_harmonics(coords, 12, out=np.empty((64, 144), np.float32))
    with pytest.raises(InputError, match="out must be"):
        spherical_harmonics(coords, 12, out=np.empty((64, 100)))
    assert spherical_harmonics(np.empty((0, 2)), 5).shape == (0, 25)
    assert np.array_equal(spherical_harmonics(coords, 1), np.full((64, 1), math.sqrt(math.pi) / 2))


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint64 if a.dtype == np.float64 else np.uint32)


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(-180, 180, n), np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))])
    x[::7, 1] = 0.0  # equator rows: exact zeros, whose sign must not depend on the path
    x[:4] = [[0, 90], [0, -90], [100, 10], [-180, 0]]  # poles, the asymmetric point, the antimeridian
    return x


@pytest.mark.parametrize("L", [1, 2, 10, 40])
def test_compiled_kernel_is_bit_identical_to_numpy_path(L):
    pytest.importorskip("numba")
    x = _points(3000, L)
    for conv in ("satclip", "orthonormal"):
        for dt in (np.float64, np.float32):
            ref = spherical_harmonics(x, L, conv, dt, backend="numpy")
            assert np.array_equal(_bits(spherical_harmonics(x, L, conv, dt, backend="numpy", chunk_size=37)), _bits(ref))
            for threads in (1, 2):  # the serial and the parallel driver
                got = spherical_harmonics(x, L, conv, dt, backend="numba", n_threads=threads)
                assert got.dtype == ref.dtype and np.array_equal(_bits(got), _bits(ref)), (conv, dt, threads)


def test_backend_selection(monkeypatch):
    import sys

    from geobench.baselines import sh

    pytest.importorskip("numba")
    from geobench.baselines import sh_kernel

    monkeypatch.delenv("GEOBENCH_SH_BACKEND", raising=False)
    assert sh._kernel(None) is sh_kernel.sh_rows
    monkeypatch.setenv("GEOBENCH_SH_BACKEND", "numpy")
    assert sh._kernel(None) is None and sh._kernel("numba") is sh_kernel.sh_rows
    monkeypatch.setenv("GEOBENCH_SH_BACKEND", "fortran")
    with pytest.raises(InputError, match="GEOBENCH_SH_BACKEND='fortran'"):
        spherical_harmonics(_points(10, 0), 3)
    with pytest.raises(InputError, match="backend='cuda'"):
        spherical_harmonics(_points(10, 0), 3, backend="cuda")
    # numba missing: auto falls back to numpy with one warning; 'numba' says how to fix it
    monkeypatch.setenv("GEOBENCH_SH_BACKEND", "auto")
    monkeypatch.setitem(sys.modules, "geobench.baselines.sh_kernel", None)
    monkeypatch.setattr(sh, "_WARNED", [])
    with pytest.warns(RuntimeWarning, match="pip install numba"):
        assert sh._kernel(None) is None
    with pytest.raises(InputError, match="pip install numba"):
        sh._kernel("numba")


def test_kernel_follows_the_thread_limit(monkeypatch):
    import threading

    pytest.importorskip("numba")
    from geobench.baselines import sh_kernel
    from geobench.threads import current_limit, limit_threads

    seen = []
    real = sh_kernel.sh_rows
    monkeypatch.setattr(sh_kernel, "sh_rows", lambda *a: seen.append((a[-1], real(*a))))
    x = _points(2000, 1)
    with limit_threads(1):
        spherical_harmonics(x, 5)
        with limit_threads(2):
            spherical_harmonics(x, 5)
        spherical_harmonics(x, 5, n_threads=2)  # an explicit count wins
    assert seen == [(1, "serial"), (2, "parallel"), (2, "parallel")]
    # limits are per thread: two threads with different limits do not see each other's
    got, barrier = {}, threading.Barrier(2)

    def worker(n):
        with limit_threads(n):
            barrier.wait()
            got[n] = current_limit()
            barrier.wait()

    ts = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert got == {1: 1, 2: 2}


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_after_the_kernel_ran_survives():
    """GNU OpenMP kills a forked child that starts a parallel region; the kernel must switch to
    its serial driver there."""
    import os

    pytest.importorskip("numba")
    x = _points(5000, 2)
    ref = spherical_harmonics(x, 10, n_threads=2)  # the parent has run a parallel region
    pid = os.fork()
    if pid == 0:  # child
        ok = np.array_equal(spherical_harmonics(x, 10, n_threads=2), ref)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_bad_arguments(coords):
    with pytest.raises(InputError, match="convention"):
        spherical_harmonics(coords, 10, convention="schmidt")
    with pytest.raises(InputError, match="L must be"):
        spherical_harmonics(coords, 0)
    with pytest.raises(InputError, match="dtype"):
        spherical_harmonics(coords, 10, dtype=np.float16)
    with pytest.raises(InputError, match="swapped"):
        spherical_harmonics(np.array([[10.0, 100.0]]), 10)


def test_encoder_options(coords):
    enc = get_encoder("sh:L=40")
    assert enc.dim == 1600 and enc.meta["spec"] == "sh:L=40" and enc.meta["kind"] == "parameter-free"
    assert np.array_equal(enc.encode(coords), spherical_harmonics(coords, 40))
    e32 = get_encoder("sh:dtype=float32:convention=orthonormal").encode(coords)
    assert e32.dtype == np.float32 and e32.shape == (64, 100)
    assert np.abs(e32 - spherical_harmonics(coords, 10, convention="orthonormal")).max() < 1e-6
    assert np.abs(get_encoder("sh").encode(coords) - np.load(SAT / "sh_L10.npy")).max() < 1e-10
    with pytest.raises(InputError):
        get_encoder("sh:convention=bogus")
    with pytest.raises(InputError):
        get_encoder("sh:L=0")


def test_encoder_fills_output_in_blocks(coords):
    from geobench.baselines.sh import SHEncoder

    enc = SHEncoder("sh-test", 25, None, {}, batch_size=10, L=5, convention="orthonormal", dtype="float32")
    y = enc.encode(coords)
    assert y.dtype == np.float32
    assert np.array_equal(y, spherical_harmonics(coords, 5, "orthonormal", np.float32))


def test_torch_wrapper(coords):
    torch = pytest.importorskip("torch")
    from geobench.baselines.sh import spherical_harmonics_torch

    t = spherical_harmonics_torch(torch.from_numpy(coords), 10)
    assert t.dtype == torch.float64 and np.array_equal(t.numpy(), spherical_harmonics(coords, 10))
    t32 = spherical_harmonics_torch(torch.from_numpy(coords).float(), 10)
    assert t32.dtype == torch.float32 and t32.shape == (64, 100)
    assert np.abs(t32.numpy() - spherical_harmonics(coords, 10)).max() < 1e-4  # inputs were rounded to float32
