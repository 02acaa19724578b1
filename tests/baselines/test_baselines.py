"""Parameter-free baseline encoders: registration, shapes, formulas at hand-computed points,
(lon, lat) orientation, option parsing, and the noise control's lack of information."""
from __future__ import annotations

import math
import subprocess
import sys
from math import cos, radians, sin
from pathlib import Path

import numpy as np
import pytest

from geobench.encoding import ENCODERS, check_embedding, get_encoder
from geobench.errors import InputError

COORDS = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "satclip" / "coords.npy"

# name -> default dimension (S = frequency_num = 16)
DEFAULT_DIMS = {"direct": 2, "cartesian3d": 3, "wrap": 4, "theory": 96, "grid": 64, "sphereC": 48,
                "sphereC+": 96, "sphereM": 80, "sphereM+": 128, "rff": 256, "sh": 100, "random": 256}
PER_SCALE = {"theory": 6, "grid": 4, "sphereC": 3, "sphereC+": 6, "sphereM": 5, "sphereM+": 8}
P = np.array([[100.0, 10.0]])  # lon=100, lat=10: asymmetric, so a lon/lat mix-up shows


@pytest.fixture(scope="module")
def coords():
    return np.load(COORDS)


def one(spec, pt=P):
    return get_encoder(spec).encode(pt)[0]


def test_all_registered_as_parameter_free():
    for name in DEFAULT_DIMS:
        assert ENCODERS.get(name).kind == "parameter-free", name


@pytest.mark.parametrize("name", sorted(DEFAULT_DIMS))
def test_shape_and_finite_on_fixture_coords(name, coords):
    enc = get_encoder(name)
    assert enc.dim == DEFAULT_DIMS[name]
    emb = enc.encode(coords)
    check_embedding(enc, emb, 64)  # shape, declared dim, finiteness
    assert emb.shape == (64, DEFAULT_DIMS[name])
    assert np.unique(emb.round(12), axis=0).shape[0] > 50  # distinct points -> mostly distinct vectors
    with pytest.raises(InputError, match="swapped"):
        enc.encode(np.array([[10.0, 100.0]]))  # (lat, lon) order is rejected, not silently encoded


@pytest.mark.parametrize("name,k", sorted(PER_SCALE.items()))
def test_multiscale_dims_follow_formula(name, k, coords):
    for S in (1, 5):
        enc = get_encoder(f"{name}:frequency_num={S}")
        assert enc.dim == k * S and enc.encode(coords).shape == (64, k * S)


def test_direct_cartesian_wrap_values():
    assert np.allclose(one("direct"), [100 / 180, 10 / 90], rtol=0, atol=1e-15)
    lo, la = radians(100), radians(10)
    assert np.allclose(one("cartesian3d"), [cos(la) * cos(lo), cos(la) * sin(lo), sin(la)], rtol=0, atol=1e-15)
    w = [sin(math.pi * 100 / 180), cos(math.pi * 100 / 180), sin(math.pi * 10 / 90), cos(math.pi * 10 / 90)]
    assert np.allclose(one("wrap"), w, rtol=0, atol=1e-15)


def test_grid_and_theory_values():
    r_last = 360.0  # r_s = 1 * 360 ** (s / 15): r_0 = 1, r_15 = 360
    g = one("grid")
    assert np.allclose(g[[0, 1, 30, 31]], [sin(100), cos(100), sin(100 / r_last), cos(100 / r_last)], atol=1e-14)
    assert np.allclose(g[[32, 33, 62, 63]], [sin(10), cos(10), sin(10 / r_last), cos(10 / r_last)], atol=1e-14)
    r7 = 360 ** (7 / 15)
    assert g[14] == pytest.approx(sin(100 / r7), abs=1e-14)
    t = one("theory")
    a1, a2, a3 = 100.0, -50 + 5 * math.sqrt(3), -50 - 5 * math.sqrt(3)  # projections on 0/120/240 deg
    assert np.allclose(t[:6], [sin(a1), cos(a1), sin(a2), cos(a2), sin(a3), cos(a3)], atol=1e-12)
    assert np.allclose(t[90:], [sin(a1 / 360), cos(a1 / 360), sin(a2 / 360), cos(a2 / 360),
                                sin(a3 / 360), cos(a3 / 360)], atol=1e-14)


def test_sphere2vec_values():
    # scale 0: r = 1 deg, so lambda_0 = 100 and phi_0 = 10 (radians); single-scale terms use true radians
    L, F = 100.0, 10.0
    lam, phi = radians(100), radians(10)
    sc = one("sphereC")
    assert np.allclose(sc[:3], [sin(F), cos(F) * cos(L), cos(F) * sin(L)], atol=1e-14)
    assert np.allclose(sc[45:], [sin(F / 360), cos(F / 360) * cos(L / 360), cos(F / 360) * sin(L / 360)], atol=1e-14)
    scp = [sin(F), cos(F), sin(L), cos(L), cos(F) * cos(L), cos(F) * sin(L)]
    assert np.allclose(one("sphereC+")[:6], scp, atol=1e-14)
    sm = [sin(F), cos(F) * cos(lam), cos(phi) * cos(L), cos(F) * sin(lam), cos(phi) * sin(L)]
    assert np.allclose(one("sphereM")[:5], sm, atol=1e-14)
    smp = [sin(F), cos(F), sin(L), cos(L)] + sm[1:]
    assert np.allclose(one("sphereM+")[:8], smp, atol=1e-14)


def test_sphereC_at_unit_radius_is_xyz(coords):
    """With the single scale r = 180/pi deg, sphereC is the unit vector (z, x, y)."""
    r = 180 / math.pi
    enc = get_encoder(f"sphereC:frequency_num=1:min_radius={r!r}:max_radius={r!r}")
    xyz = get_encoder("cartesian3d").encode(coords)
    assert np.abs(enc.encode(coords) - xyz[:, [2, 0, 1]]).max() < 1e-12


@pytest.mark.parametrize("name", ["cartesian3d", "wrap", "rff", "sh"])
def test_periodic_in_longitude(name):
    lat = np.array([-70.0, 0.0, 45.0])
    enc = get_encoder(name)
    e = enc.encode(np.c_[np.full(3, 180.0), lat])
    w = enc.encode(np.c_[np.full(3, -180.0), lat])
    assert np.abs(e - w).max() < 1e-12


@pytest.mark.parametrize("variant", ["cos", "cossin"])
def test_rff_approximates_gaussian_kernel_of_chord(variant):
    """z(p).z(q) ~ exp(-sigma^2 |v_p - v_q|^2 / 2). p, q lie 30 deg apart along a meridian;
    read as (lat, lon) they would be only 14.9 deg apart, with a clearly larger kernel."""
    sigma = 2.0
    enc = get_encoder(f"rff:dim=20000:sigma={sigma}:variant={variant}")
    z = enc.encode(np.array([[60.0, 0.0], [60.0, 30.0]]))
    chord2 = 2 - 2 * cos(radians(30))
    assert z[0] @ z[1] == pytest.approx(math.exp(-sigma**2 * chord2 / 2), abs=0.03)
    swapped_chord2 = 2 - 2 * (sin(radians(60)) ** 2 + cos(radians(60)) ** 2 * cos(radians(30)))
    assert abs(z[0] @ z[1] - math.exp(-sigma**2 * swapped_chord2 / 2)) > 0.2
    assert z[0] @ z[0] == pytest.approx(1.0, abs=0.03)


def test_rff_seed_and_options(coords):
    a = get_encoder("rff:dim=128:seed=1")
    assert a.dim == 128 and a.meta["spec"] == "rff:dim=128:seed=1"
    ea = a.encode(coords)
    assert ea.shape == (64, 128)
    assert np.array_equal(ea, get_encoder("rff:seed=1:dim=128").encode(coords))
    assert not np.allclose(ea, get_encoder("rff:dim=128").encode(coords))
    with pytest.raises(InputError, match="no option"):
        get_encoder("rff:bandwidth=3")
    with pytest.raises(InputError):
        get_encoder("rff:dim=7:variant=cossin")
    with pytest.raises(InputError):
        get_encoder("rff:dim=abc")


def test_multiscale_bad_options():
    with pytest.raises(InputError):
        get_encoder("grid:min_radius=0")
    with pytest.raises(InputError):
        get_encoder("theory:min_radius=10:max_radius=5")
    with pytest.raises(InputError):
        get_encoder("sphereM:frequency_num=0")


def test_random_is_deterministic_per_point(coords):
    enc = get_encoder("random")
    e = enc.encode(coords)
    perm = np.random.default_rng(0).permutation(64)
    assert np.array_equal(enc.encode(coords[perm]), e[perm])  # order/batch independent
    assert np.array_equal(enc.encode(coords[5:6]), e[5:6])
    assert np.array_equal(enc.encode(np.array([[-0.0, 0.0]])), enc.encode(np.array([[0.0, -0.0]])))
    assert not np.allclose(get_encoder("random:seed=1").encode(coords), e)
    odd = get_encoder("random:dim=7").encode(coords)
    assert odd.shape == (64, 7) and np.array_equal(odd, e[:, :7])
    assert abs(e.mean()) < 0.03 and abs(e.std() - 1) < 0.03
    # lon/lat are not interchangeable keys
    assert not np.allclose(enc.encode(np.array([[10.0, 20.0]])), enc.encode(np.array([[20.0, 10.0]])))


def test_random_carries_no_location_information():
    """Ridge regression of latitude on the features: the noise control scores at chance on
    held-out points while SH (same protocol) is near perfect."""
    rng = np.random.default_rng(7)
    n = 3000
    pts = np.c_[rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))]
    # near-duplicates of training points in the test set get unrelated vectors
    pts[2500:] = pts[:500] + 1e-9
    y = pts[:, 1]

    def heldout_r2(spec):
        X = get_encoder(spec).encode(pts)
        X = np.c_[X, np.ones(n)]
        tr, te = slice(0, 2000), slice(2500, n)
        w = np.linalg.solve(X[tr].T @ X[tr] + 1.0 * np.eye(X.shape[1]), X[tr].T @ y[tr])
        resid = y[te] - X[te] @ w
        return 1 - resid.var() / y[te].var()

    assert heldout_r2("random") < 0.02
    assert heldout_r2("sh") > 0.95


def test_registration_is_cheap():
    code = ("import sys, geobench.baselines; "
            "assert 'torch' not in sys.modules and 'scipy' not in sys.modules, "
            "[m for m in ('torch', 'scipy') if m in sys.modules]")
    subprocess.run([sys.executable, "-c", code], check=True)
