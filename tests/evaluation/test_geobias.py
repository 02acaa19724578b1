"""The geo block of a record: Moran's I on the great-circle kNN graph, the distance to the nearest
training point, the score by distance bin and the continent spread, checked against brute force."""
import numpy as np
import pytest

from geobench.coords import EARTH_RADIUS_KM
from geobench.errors import InputError
from geobench.evaluation import geobias as G
from geobench.evaluation.metrics import regression_metrics


def _haversine_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) great-circle km between (lon, lat) degree points, by the haversine formula."""
    lo1, la1 = np.deg2rad(a[:, 0])[:, None], np.deg2rad(a[:, 1])[:, None]
    lo2, la2 = np.deg2rad(b[:, 0])[None, :], np.deg2rad(b[:, 1])[None, :]
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _points(n: int, seed: int = 0) -> np.ndarray:
    """Area-uniform points on the sphere, (lon, lat) degrees, some across the antimeridian."""
    rng = np.random.default_rng(seed)
    return np.c_[rng.uniform(-180, 180, n), np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))]


def _moran_dense(v: np.ndarray, ll: np.ndarray, k: int) -> float:
    """Moran's I by its formula on a dense row-standardised kNN matrix from haversine distances."""
    d = _haversine_km(ll, ll)
    np.fill_diagonal(d, np.inf)
    w = np.zeros_like(d)
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    np.put_along_axis(w, nn, 1.0 / k, axis=1)
    z = v - v.mean()
    return float(len(v) / w.sum() * (z @ w @ z) / (z @ z))


def test_morans_i_matches_the_formula_on_great_circle_neighbours():
    ll = _points(400)
    rng = np.random.default_rng(1)
    smooth = np.sin(np.deg2rad(ll[:, 1]) * 2) + np.cos(np.deg2rad(ll[:, 0])) + 0.3 * rng.normal(size=len(ll))
    noise = rng.normal(size=len(ll))
    for v in (smooth, noise):
        m = G.morans_i(v, ll, k=6)
        assert m["I"] == pytest.approx(_moran_dense(v, ll, 6), abs=1e-10)
        assert m["EI"] == pytest.approx(-1 / (len(ll) - 1))
    assert G.morans_i(smooth, ll, k=6)["z_rand"] > 10  # a smooth field clusters
    assert abs(G.morans_i(noise, ll, k=6)["z_rand"]) < 3  # noise does not
    assert G.morans_i(np.ones(len(ll)), ll)["I"] is None  # every point equally right: no I


def test_neighbours_cross_the_antimeridian():
    # in lon/lat degrees the first two points are 359.98 degrees apart, on the sphere 2.2 km;
    # the third is 10 degrees from the first on the same side of the line
    ll = np.array([[179.99, 0.0], [-179.99, 0.0], [170.0, 0.0], [0.0, 0.0], [0.01, 0.0]])
    w = G.knn_weights(ll, k=1)
    assert w.neighbors[0] == [1] and w.neighbors[1] == [0] and w.neighbors[2] == [0] and w.neighbors[3] == [4]
    assert G.nearest_train_km(ll[:1], ll[1:2])[0] == pytest.approx(2.2239, abs=1e-3)


def test_nearest_train_km_is_the_brute_force_minimum():
    te, tr = _points(300, 2), _points(500, 3)
    np.testing.assert_allclose(G.nearest_train_km(te, tr), _haversine_km(te, tr).min(axis=1), atol=1e-6)
    assert G.nearest_train_km(tr[:5], tr).max() == pytest.approx(0.0, abs=1e-6)  # shared coordinates: 0 km


def test_score_by_distance_bins_every_point_once():
    rng = np.random.default_rng(4)
    dist = np.r_[rng.uniform(0, 10, 40), rng.uniform(300, 400, 5), rng.uniform(3000, 9000, 60)]
    y, pred = rng.normal(size=dist.size), rng.normal(size=dist.size)
    bins = G.by_distance(dist, lambda m: regression_metrics(y[m], pred[m], train_mean=0.0, train_std=1.0),
                         ("rmse", "skill"))
    assert [b["hi_km"] for b in bins] == [*G.DISTANCE_BINS_KM, None]
    assert sum(b["n"] for b in bins) == dist.size
    first, mid, last = bins[0], bins[4], bins[-1]  # 0-10 km, 250-500 km, >= 2500 km
    assert first["n"] == 40 and mid["n"] == 5 and last["n"] == 60
    assert mid["rmse"] is None  # 5 points < MIN_BIN_POINTS: counted, not scored
    m = dist >= 2500
    assert last["rmse"] == pytest.approx(np.sqrt(np.mean((y[m] - pred[m]) ** 2)))


def test_continent_spread_names_the_worst_and_skips_small_continents():
    per = {"Africa": {"rmse": 3.0, "n": 120}, "Europe": {"rmse": 1.0, "n": 400},
           "Oceania": {"rmse": 9.0, "n": 10}, "Asia": {"rmse": 2.0, "n": 300}}
    s = G.continent_spread("regression", per)
    assert s["worst"] == "Africa" and s["spread"] == pytest.approx(2.0) and s["n_continents"] == 3
    acc = {"Africa": {"accuracy": 0.4, "n": 100}, "Europe": {"accuracy": 0.9, "n": 100}}
    c = G.continent_spread("classification", acc)
    assert c["worst"] == "Africa" and c["spread"] == pytest.approx(0.5) and c["error"] == "error_rate"
    assert G.continent_spread("regression", {"Europe": {"rmse": 1.0, "n": 400}}) is None


def test_geo_scores_of_a_classifier_use_the_zero_one_error():
    ll = _points(200, 5)
    yt = (ll[:, 1] > 0).astype(np.int64)
    pred = yt.copy()
    pred[ll[:, 1] > 60] = 0  # wrong only in the far north: errors cluster
    geo = G.geo_scores("classification", yt, pred, ll, _points(300, 6), {}, lambda m: {"accuracy": float((pred[m] == yt[m]).mean())})
    assert geo["moran"]["of"] == "error01" and geo["moran"]["z_rand"] > 5
    assert geo["continents"] is None and sum(b["n"] for b in geo["distance"]["bins"]) == 200


def test_bad_input_is_named():
    ll = _points(20)
    with pytest.raises(InputError, match="NaN"):
        G.morans_i(np.r_[np.nan, np.ones(19)], ll)
    with pytest.raises(InputError, match=r"\(N, 2\)"):
        G.unit_vectors(np.zeros((3, 3)))
    with pytest.raises(InputError, match="more than k=8"):
        G.knn_weights(ll[:5])

