"""Random convolutional features and the MOSAIKS encoder on real Blue Marble crops."""
from __future__ import annotations

import numpy as np
import pytest

from geobench import data
from geobench.encoders import imagery
from geobench.encoders.rcf import RCFeaturizer
from geobench.encoding import ENCODERS, get_encoder
from geobench.errors import InputError
from geobench.tasks.sampling import sample_sphere


@pytest.fixture(scope="module")
def fit_imgs():
    return imagery.crops(sample_sphere(300, seed=11), 16)


@pytest.fixture(scope="module")
def enc():
    return get_encoder("mosaiks")


def test_rcf_deterministic_under_seed(fit_imgs):
    a = RCFeaturizer(32, seed=0).fit(fit_imgs)
    b = RCFeaturizer(32, seed=0).fit(fit_imgs)
    c = RCFeaturizer(32, seed=1).fit(fit_imgs)
    np.testing.assert_array_equal(a.kernel, b.kernel)
    fa, fb, fc = a.transform(fit_imgs), b.transform(fit_imgs), c.transform(fit_imgs)
    assert fa.shape == (300, 64) and fa.dtype == np.float32
    np.testing.assert_array_equal(fa, fb)
    b.threads, b.chunk = 1, 7  # single-threaded chunks: the thread count never changes the features
    np.testing.assert_array_equal(b.transform(fit_imgs), fa)
    assert np.abs(fa - fc).max() > 0.05
    assert (fa >= 0).all() and (fa > 0).mean() > 0.2  # ReLU features, not all dead


def test_rcf_equals_explicit_whitened_patch_features(fit_imgs):
    """The folded convolution equals whitening each input patch and correlating with the filters."""
    r = RCFeaturizer(8, seed=3, bias=0.5).fit(fit_imgs)
    x = fit_imgs[:4].astype(np.float64)
    n, c, h, w = x.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))  # (n, c, h-2, w-2, 3, 3)
    patches = win.transpose(0, 2, 3, 1, 4, 5).reshape(n, (h - 2) * (w - 2), c * 9)
    white = (patches - r.mean) @ r.zca  # W symmetric
    z = white @ r.filters.reshape(8, -1).astype(np.float64).T  # (n, positions, k)
    want = np.concatenate([np.maximum(z - 0.5, 0).mean(1), np.maximum(-z - 0.5, 0).mean(1)], axis=1)
    np.testing.assert_allclose(r.transform(fit_imgs[:4]), want, atol=2e-5, rtol=1e-4)
    # filters are unit vectors in whitened space
    np.testing.assert_allclose(np.linalg.norm(r.filters.reshape(8, -1), axis=1), 1.0, atol=1e-5)
    # whitening flattens the patch spectrum: raw variances span > 3 decades (brightness
    # dominates); whitened, the leading directions all have variance ~1 (eps damps the tail)
    allp = np.lib.stride_tricks.sliding_window_view(fit_imgs.astype(np.float64), (3, 3), axis=(2, 3))
    allp = allp.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * 9)
    cov = np.cov(allp.T, bias=True)
    raw, ev = np.linalg.eigvalsh(cov), np.linalg.eigvalsh(r.zca @ cov @ r.zca)
    assert raw[-1] / raw[-5] > 10 and raw[-1] / raw[0] > 1e3
    assert ev.max() < 1.5 and ev[-5:].min() > 0.5


def test_rcf_errors(fit_imgs):
    with pytest.raises(InputError, match="before fit"):
        RCFeaturizer(4).transform(fit_imgs)
    r = RCFeaturizer(4).fit(fit_imgs)
    with pytest.raises(InputError, match="channels"):
        r.transform(fit_imgs[:, :2])
    with pytest.raises(InputError, match=r"\(N, C, H, W\)"):
        r.transform(fit_imgs[0])


def test_mosaiks_shape_meta_and_registry(enc):
    entry = ENCODERS.get("mosaiks")
    assert entry.kind == "parameter-free" and "Rolf" in entry.citation
    assert "random convolutional features of Blue Marble crops" in entry.description
    assert enc.dim == 512 and enc.meta["k"] == 256 and enc.meta["size"] == 32
    bmng_sha = data.get_declared("imagery/bmng.jpg").sha256
    assert enc.meta["imagery_sha256"] == enc.meta["weights_sha256"] == bmng_sha
    out = enc.encode(np.array([[0.0, 0.0], [100.0, 10.0]]))
    assert out.shape == (2, 512) and out.dtype == np.float32 and np.isfinite(out).all()


def test_mosaiks_deterministic_under_seed(enc):
    x = sample_sphere(40, seed=99)
    a = get_encoder("mosaiks:k=16").encode(x)
    np.testing.assert_array_equal(a, get_encoder("mosaiks:k=16").encode(x))
    b = get_encoder("mosaiks:k=16:seed=1").encode(x)
    assert a.shape == b.shape == (40, 32)
    assert np.abs(a - b).max() > 0.05


def test_mosaiks_point_uses_its_own_centred_crop(enc):
    img = imagery.load_bmng()
    crop = img[1200 - 16 : 1200 + 16, 4200 - 16 : 4200 + 16].transpose(2, 0, 1)[None] / np.float32(255)
    want = enc.featurizer.transform(crop.astype(np.float32))
    np.testing.assert_allclose(enc.encode(np.array([[100.0, 10.0]])), want, atol=1e-6)


def test_mosaiks_separates_desert_forest_ocean(enc):
    groups = {
        "sahara": [[10.0, 24.0], [14.0, 22.0], [20.0, 25.0]],
        "amazon": [[-65.0, -4.0], [-62.0, -2.0], [-60.0, -6.0]],
        "pacific": [[-140.0, -15.0], [-130.0, -20.0], [-150.0, -10.0]],
    }
    x = np.array([p for ps in groups.values() for p in ps])
    label = np.repeat(np.arange(3), 3)
    f = enc.encode(x)
    d = np.linalg.norm(f[:, None] - f[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert (label[d.argmin(axis=1)] == label).all()
    within = max(d[label == g][:, label == g][np.isfinite(d[label == g][:, label == g])].max() for g in range(3))
    between = min(d[label == g][:, label != g].min() for g in range(3))
    assert between > within


def test_mosaiks_reads_only_the_imagery_source(fetch_log):
    names = fetch_log
    get_encoder("mosaiks:k=8:n_fit=50").encode(np.array([[1.0, 2.0]]))
    assert set(names) == {"imagery/bmng.jpg"}
