"""The spatial block bootstrap: on a synthetic field with known spatial correlation it covers the
true spread of the metric where the i.i.d. bootstrap does not; with one point per block it is
the i.i.d. bootstrap draw for draw; its weighted metrics equal the metrics of duplicated rows."""
from __future__ import annotations


import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from sklearn.metrics import r2_score

from geobench.errors import InputError
from geobench.evaluation.intervals import block_bootstrap_ci, ci_method, parse_ci
from geobench.evaluation.metrics import (_BOOT_NAMED, bootstrap_ci, classification_metrics, regression_metrics,
                                         topk_accuracy)
from geobench.evaluation.splits import block_codes

REG = ("r2", "mse", "mse_z", "rmse", "mae")
CLF = tuple(m for m in _BOOT_NAMED if m not in REG)


def _reg(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n) * 3 + 10
    return y, y + rng.normal(scale=2.0, size=n)


def _clf(n: int, C: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    s = rng.normal(size=(n, C))
    s[np.arange(n), y] += 1.0
    return y, s


def test_one_point_per_block_is_the_iid_bootstrap_draw_for_draw():
    """Blocks are numbered in sorted label order: labels increasing with the point index give
    block k = point k, so the same seed draws the same points."""
    y, p = _reg(400)
    labels = 100_000 * np.arange(400) + 7  # any increasing codes
    for m in REG:
        kw = dict(n_boot=300, seed=5, train_std=3.0)
        assert bootstrap_ci(y, p, m, blocks=labels, **kw) == pytest.approx(bootstrap_ci(y, p, m, **kw), rel=1e-12), m
    # in another order the draws differ but the distribution is the same
    wide = dict(n_boot=4000, seed=1)
    assert bootstrap_ci(y, p, "r2", blocks=labels[::-1], **wide) == pytest.approx(bootstrap_ci(y, p, "r2", **wide),
                                                                                  abs=0.01)
    yc, s = _clf(400, 7)
    for m in CLF:
        assert bootstrap_ci(yc, s, m, n_boot=300, seed=5, blocks=np.arange(400)) == \
            pytest.approx(bootstrap_ci(yc, s, m, n_boot=300, seed=5), rel=1e-12), m


def _reference(name: str, C: int):
    """The metric ``name`` of plain (duplicated) rows, from the non-bootstrap implementations."""
    if name in REG:
        if name == "r2":
            return r2_score
        return lambda a, b: regression_metrics(a, b, train_mean=0.0, train_std=3.0)[name] if name != "mse" \
            else float(np.mean((a - b) ** 2))
    if name.startswith("top") and name != "top1":
        return lambda a, b: topk_accuracy(a, b, int(name[3:]))
    key = "accuracy" if name == "top1" else name
    return lambda a, b: classification_metrics(a, b, n_classes=C)[key]


def test_weighted_block_metrics_equal_the_metrics_of_the_duplicated_rows():
    """Each resample's vectorised value (block counts times per-block sums) equals the metric
    computed on the rows of the drawn blocks, repeated as often as drawn (same draws: same seed)."""
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-40, 40, 300), rng.uniform(-30, 30, 300)
    blocks = block_codes(lon, lat, 10)  # 48 blocks of uneven size
    y, p = _reg(300)
    for m in REG:
        fast = bootstrap_ci(y, p, m, n_boot=40, seed=2, blocks=blocks, train_std=3.0)
        slow = bootstrap_ci(y, p, _reference(m, 0), n_boot=40, seed=2, blocks=blocks)
        assert fast == pytest.approx(slow, rel=1e-9), m
    C = 12
    yc, s = _clf(300, C)
    for m in CLF:
        fast = bootstrap_ci(yc, s, m, n_boot=40, seed=2, blocks=blocks)
        slow = bootstrap_ci(yc, s, _reference(m, C), n_boot=40, seed=2, blocks=blocks)
        assert fast == pytest.approx(slow, rel=1e-9), m
    labels = s.argmax(axis=1)  # predicted labels instead of scores
    for m in ("accuracy", "macro_f1", "miou"):
        assert bootstrap_ci(yc, labels, m, n_boot=40, seed=2, blocks=blocks) == pytest.approx(
            bootstrap_ci(yc, labels, _reference(m, C), n_boot=40, seed=2, blocks=blocks), rel=1e-9), m


def test_fewer_than_two_blocks_give_no_interval_and_a_warning():
    y, p = _reg(200)
    with pytest.warns(UserWarning, match="block bootstrap over 1 block"):
        assert bootstrap_ci(y, p, "r2", seed=0, blocks=np.zeros(200)) == (None, None)
    lo, hi = bootstrap_ci(y, p, "r2", seed=0, blocks=np.arange(200) % 2)  # two blocks: defined
    assert lo is not None and lo <= hi
    with pytest.raises(InputError, match="one label per test point"):
        bootstrap_ci(y, p, "r2", seed=0, blocks=np.arange(10))


def test_block_bootstrap_of_100k_points():
    """1000 resamples of 100k points over 10-degree blocks give an interval around the estimate
    for each kind of metric (the timing is in ``python -m geobench.perf --sections bootstrap``)."""
    from geobench.evaluation.metrics import classification_metrics, regression_metrics

    rng = np.random.default_rng(0)
    n = 100_000
    ll = np.column_stack([rng.uniform(-180, 180, n), rng.uniform(-60, 75, n)])
    y, p = _reg(n)
    yc, s = _clf(n, 30)
    est = {"r2": regression_metrics(y, p, train_mean=10.0, train_std=3.0)["r2"],
           "accuracy": classification_metrics(yc, s, n_classes=30)["accuracy"],
           "macro_f1": classification_metrics(yc, s, n_classes=30)["macro_f1"]}
    for name, (a, b) in {"r2": (y, p), "accuracy": (yc, s), "macro_f1": (yc, s.argmax(axis=1))}.items():
        lo, hi = block_bootstrap_ci(a, b, name, ll, 10.0, seed=0)
        assert lo < est[name] < hi, name


def _field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise on a 1-degree grid, scaled to unit variance by the kernel's
    constant (not by each realisation's own spread, which would hide its large-scale variation)."""
    return gaussian_filter(rng.normal(size=shape), sigma, mode="wrap") * np.sqrt(4 * np.pi) * sigma


def test_block_bootstrap_covers_the_true_spread_of_a_spatially_correlated_error():
    """2000 test points on a 100 x 60 degree window; the predictor's error is a smooth random
    field (correlation length about 3 degrees) plus noise. Over 120 independent realisations of
    the field, the spread of the test MSE is the true one; each realisation's 95 % interval
    should cover the MSE's expectation about 95 % of the time. The i.i.d. bootstrap treats
    the 2000 errors as independent and is several times too narrow."""
    rng = np.random.default_rng(0)
    nx, ny, n, sigma = 100, 60, 2000, 2.0
    lon, lat = rng.uniform(0, nx, n), rng.uniform(-ny / 2, ny / 2, n)
    ix, iy = lon.astype(int), (lat + ny / 2).astype(int)
    blocks = block_codes(lon, lat, 10)
    signal = 2 * np.sin(np.deg2rad(lat) * 3) + np.cos(np.deg2rad(lon) * 2)
    mse, block, iid = [], [], []
    for k in range(120):
        r = np.random.default_rng(100 + k)
        y = signal + 0.3 * r.normal(size=n)
        p = signal + _field(r, (nx, ny), sigma)[ix, iy]
        mse.append(float(np.mean((y - p) ** 2)))
        block.append(bootstrap_ci(y, p, "mse", n_boot=200, seed=k, blocks=blocks))
        iid.append(bootstrap_ci(y, p, "mse", n_boot=200, seed=k))
    mse, block, iid = np.array(mse), np.array(block), np.array(iid)
    truth, spread = mse.mean(), mse.std(ddof=1)  # expectation and true sampling sd of the test MSE
    assert np.unique(blocks).size == 60 and 1.0 < truth < 1.2

    def coverage(ci):
        return float(np.mean((ci[:, 0] <= truth) & (truth <= ci[:, 1])))

    def width(ci):  # median interval width relative to the true 95 % width
        return float(np.median(ci[:, 1] - ci[:, 0]) / (2 * 1.96 * spread))

    assert coverage(block) >= 0.8 and 0.6 < width(block) < 1.4, (coverage(block), width(block))
    assert coverage(iid) <= 0.65 and width(iid) < 0.5, (coverage(iid), width(iid))
    assert coverage(block) - coverage(iid) >= 0.25


def test_ci_method_follows_the_task_block_size_and_the_split():
    from geobench.evaluation.grid import REGIONAL_BLOCK_DEG, block_deg, grid_plan

    assert ci_method("block", "air_temperature", "random") == "block:deg=10"
    assert ci_method("block", "median_income", "random") == "block:deg=2"
    assert ci_method("block", "california_housing", "continent:Africa") == "block:deg=1"
    assert ci_method("block", "elevation", "spatial_block:deg=5") == "block:deg=5"  # the split's own blocks
    assert ci_method("block:deg=2.5", "elevation", "random") == "block:deg=2.5"
    assert ci_method("iid", "elevation", "spatial_block") == "iid"
    # one place: the grid's spatial split uses the same block size as the bootstrap
    for task in ("air_temperature", *REGIONAL_BLOCK_DEG):
        (_, splits), = grid_plan([task])
        assert f"spatial_block:deg={block_deg(task):g}" in splits
        assert ci_method("block", task, splits[0]) == f"block:deg={block_deg(task):g}"
    for bad in ("blocks", "block:deg=0", "block:size=3", "iid:deg=2"):
        with pytest.raises(InputError, match="unknown CI method"):
            parse_ci(bad)


def test_block_codes_are_distinct_at_any_size_and_keep_the_split_order():
    """Codes sort like (lon block, lat block), so the spatial split's block order is unchanged
    from the earlier stride of 100,000, and tiny blocks no longer collide."""
    from geobench.evaluation.splits import block_codes

    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-180, 180, 5000), rng.uniform(-90, 90, 5000)
    lon[:2], lat[:2] = [180.0, -180.0], [90.0, -90.0]  # the edges
    for deg in (10.0, 2.0, 1.0, 0.5, 0.001):
        bx = np.floor((lon + 180.0) / deg).astype(np.int64)
        by = np.floor((lat + 90.0) / deg).astype(np.int64)
        pairs = np.unique(np.c_[bx, by], axis=0)  # lexicographic (bx, by)
        codes = block_codes(lon, lat, deg)
        u = np.unique(codes)
        assert u.size == pairs.shape[0]  # no two blocks share a code
        first = {c: (x, y) for c, x, y in zip(codes, bx, by)}
        assert [tuple(first[c]) for c in u] == [tuple(p) for p in pairs]  # same order as (bx, by)


def test_no_bootstrap_is_no_interval_method_in_the_identity(tmp_path):
    """``--bootstrap 0`` computes no interval: the identity says ``ci: none`` (not a CI method the
    row does not have), so the row is a different cell from one with an interval."""
    from geobench.evaluation.runner import run_grid

    kw = dict(results_dir=tmp_path, tracking_uri="none", progress=False)
    off = run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 1, n_boot=0, **kw).records[0]
    on = run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], 1, **kw).records[0]
    assert off["identity"]["ci"] == "none" and off.get("ci_method") is None and not any((off["ci95"] or {}).values())
    assert on["identity"]["ci"] == "block:deg=10" and on["key"] != off["key"] and on["metrics"] == off["metrics"]
