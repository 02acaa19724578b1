"""Where on Earth a cell's errors lie: spatial autocorrelation of the test residuals (Moran's I on
a k-nearest-neighbour graph over great-circle distance, with PySAL's ``esda`` and ``libpysal``)
and the score against the distance from each test point to its nearest training point.

Coordinates are ``(lon, lat)`` float64 degrees; distances are great-circle kilometres on a sphere
of radius :data:`geobench.coords.EARTH_RADIUS_KM`."""
from __future__ import annotations

import numpy as np

from geobench.coords import chord_to_km
from geobench.errors import InputError

MORAN_K = 8  # neighbours per test point in the Moran graph
# Upper edges (km) of the distance-to-nearest-training-point bins; the last bin is open.
DISTANCE_BINS_KM = (10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
MIN_BIN_POINTS = 30  # a bin with fewer test points gets no score (None), only its count


def unit_vectors(lonlat: np.ndarray) -> np.ndarray:
    """(N, 3) unit vectors of (N, 2) ``(lon, lat)`` degrees (:func:`geobench.coords.lonlat_to_xyz`,
    with the shape checked). Chord distance between them is monotone in great-circle distance,
    so nearest neighbours are the same."""
    from geobench.coords import lonlat_to_xyz

    lonlat = np.asarray(lonlat, dtype=np.float64)
    if lonlat.ndim != 2 or lonlat.shape[1] != 2:
        raise InputError(f"expected (N, 2) (lon, lat) degrees, got shape {lonlat.shape}")
    return lonlat_to_xyz(lonlat)


def nearest_train_km(lonlat_test: np.ndarray, lonlat_train: np.ndarray) -> np.ndarray:
    """Great-circle km from each test point to its nearest training point (0 for a shared coordinate)."""
    from scipy.spatial import cKDTree

    if len(lonlat_train) == 0:
        raise InputError("no training points: the distance to the nearest one is undefined")
    d, _ = cKDTree(unit_vectors(lonlat_train)).query(unit_vectors(lonlat_test), k=1)
    return chord_to_km(d)


def knn_weights(lonlat: np.ndarray, k: int = MORAN_K):
    """A libpysal ``W`` linking each point to its ``k`` nearest others by great-circle distance
    (ties broken by index), binary before esda row-standardises it. Points at the same coordinates
    are each other's neighbours at distance 0."""
    from libpysal.weights import W
    from scipy.spatial import cKDTree

    n = len(lonlat)
    if n <= k:
        raise InputError(f"Moran's I needs more than k={k} points, got {n}")
    _, idx = cKDTree(unit_vectors(lonlat)).query(unit_vectors(lonlat), k=k + 1)
    # the point itself, wherever its tie put it (or absent among > k duplicates), is dropped: a
    # stable sort moves the other points to the front in their order, the first k are kept
    others = idx != np.arange(n)[:, None]
    idx = np.take_along_axis(idx, np.argsort(~others, axis=1, kind="stable"), axis=1)[:, :k]
    return W(dict(enumerate(idx.tolist())), silence_warnings=True)


def morans_i(values: np.ndarray, lonlat: np.ndarray, k: int = MORAN_K) -> dict[str, float | int | None]:
    """Moran's I of ``values`` (e.g. test residuals, or the 0/1 error of a classifier) on the
    ``k``-nearest-neighbour graph over great-circle distance, row-standardised: ``I``, its
    expectation ``EI`` = -1/(n-1), the z-score and two-sided p-value under randomisation
    (``z_rand``, ``p_rand``; analytic, no permutations), ``k`` and ``n``. I > 0: errors cluster
    in space. Constant values (every point right, say) have no I: None."""
    import esda

    v = np.asarray(values, dtype=np.float64)
    if v.shape != (len(lonlat),):
        raise InputError(f"values have shape {v.shape}, expected ({len(lonlat)},) for the points given")
    if not np.isfinite(v).all():
        raise InputError(f"values hold {int((~np.isfinite(v)).sum())} NaN/inf")
    out = {"k": int(k), "n": int(v.size)}
    if np.ptp(v) == 0:
        return {**out, "I": None, "EI": None, "z_rand": None, "p_rand": None}
    m = esda.Moran(v, knn_weights(lonlat, k), transformation="r", permutations=0)
    f = lambda x: None if not np.isfinite(x) else float(x)  # noqa: E731
    return {**out, "I": f(m.I), "EI": f(m.EI), "z_rand": f(m.z_rand), "p_rand": f(m.p_rand)}


def distance_bins(dist_km: np.ndarray, edges: tuple[float, ...] = DISTANCE_BINS_KM) -> list[tuple[float, float | None, np.ndarray]]:
    """(lower km, upper km or None for the open last bin, boolean mask) per bin of ``dist_km``;
    a bin holds lower <= d < upper."""
    d = np.asarray(dist_km, dtype=np.float64)
    lows = (0.0, *edges)
    ups = (*edges, None)
    return [(lo, up, (d >= lo) & (d < up if up is not None else np.isfinite(d))) for lo, up in zip(lows, ups)]


def by_distance(dist_km: np.ndarray, metric_fn, keys: tuple[str, ...],
                edges: tuple[float, ...] = DISTANCE_BINS_KM, min_points: int = MIN_BIN_POINTS) -> list[dict]:
    """The test score against distance to the nearest training point: per bin of ``dist_km``
    (see :func:`distance_bins`), ``lo_km``, ``hi_km``, ``n`` and the ``keys`` of
    ``metric_fn(mask)`` (a dict of metrics on the test points of the mask), None where the bin
    has fewer than ``min_points`` points. Empty bins are kept (n = 0), so every cell of a task
    has the same bins."""
    out = []
    for lo, hi, m in distance_bins(dist_km, edges):
        n = int(m.sum())
        scores = metric_fn(m) if n >= min_points else {}
        out.append({"lo_km": lo, "hi_km": hi, "n": n, **{k: scores.get(k) for k in keys}})
    return out


MIN_CONTINENT_POINTS = 50  # continents with fewer test points are left out of the spread
DISTANCE_KEYS = {"regression": ("rmse", "skill", "r2"), "classification": ("accuracy", "skill")}


def continent_spread(kind: str, per_continent: dict[str, dict], min_points: int = MIN_CONTINENT_POINTS) -> dict | None:
    """Error heterogeneity across continents from a record's ``per_continent`` metrics: the error
    is RMSE (target units) for regression and 1 - accuracy for classification; ``worst`` is the
    continent of the largest error, ``spread`` the largest minus the smallest, over continents
    with at least ``min_points`` test points. None with fewer than 2 such continents."""
    err = {}
    for cont, m in per_continent.items():
        if m.get("n", 0) < min_points:
            continue
        e = m.get("rmse") if kind == "regression" else (None if m.get("accuracy") is None else 1.0 - m["accuracy"])
        if e is not None:
            err[cont] = float(e)
    if len(err) < 2:
        return None
    worst = max(err, key=lambda c: (err[c], c))
    return {"error": "rmse" if kind == "regression" else "error_rate", "min_n": int(min_points),
            "n_continents": len(err), "worst": worst, "worst_error": err[worst],
            "best_error": min(err.values()), "spread": err[worst] - min(err.values())}


def geo_scores(kind: str, yt: np.ndarray, pred_col: np.ndarray, lonlat_te: np.ndarray, lonlat_tr: np.ndarray,
               per_continent: dict[str, dict], metric_fn) -> dict:
    """The geo block of a record: Moran's I of the test residuals (regression: ``y - pred``;
    classification: the 0/1 error) on the great-circle kNN graph (:func:`morans_i`), the
    per-continent error spread (:func:`continent_spread`) and the score by distance to the
    nearest training point (:func:`by_distance`; ``metric_fn(mask)`` scores the masked test
    points). Coordinates ``(lon, lat)`` degrees."""
    resid = (np.asarray(yt, np.float64) - pred_col) if kind == "regression" else (pred_col != yt).astype(np.float64)
    dist = nearest_train_km(lonlat_te, lonlat_tr)
    moran = morans_i(resid, lonlat_te) if len(yt) > MORAN_K else None
    return {"moran": None if moran is None else {"of": "residual" if kind == "regression" else "error01", **moran},
            "continents": continent_spread(kind, per_continent),
            "distance": {"median_km": float(np.median(dist)) if dist.size else None,
                         "bins": by_distance(dist, metric_fn, DISTANCE_KEYS[kind])}}
