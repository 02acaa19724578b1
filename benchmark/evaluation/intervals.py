"""Confidence intervals that hold under spatial correlation: the spatial block bootstrap.

The i.i.d. bootstrap resamples test points one by one, as if their errors were independent.
Neighbouring points share their errors (a probe that misses a mountain range misses every
point on it), so under spatial correlation its interval is far too narrow. The block
bootstrap resamples whole blocks instead: the test points are grouped into ``deg`` x ``deg``
lon/lat blocks (the blocks of the ``spatial_block`` split, :func:`~geobench.evaluation.splits.block_codes`);
one resample draws as many blocks as are occupied, uniformly with replacement, and keeps every
point of each drawn block (a block drawn k times counts k times). With one point per block it
is the i.i.d. bootstrap, draw for draw.

Every named metric of :func:`~geobench.evaluation.metrics.bootstrap_ci` is a function of
per-block sums (absolute and squared errors, hits, per-class counts), so a resample's value is
a ratio of products ``counts @ sums`` of its block counts: 1000 resamples cost the same for
20k or 100k points once the sums are taken.

CI methods, as a cell's identity (``identity.ci``) and its record (``ci_method``) name them:
``block:deg=D`` (the block bootstrap with D-degree blocks) or ``iid``. The ``ci`` option of
:func:`~geobench.evaluation.runner.run_grid` (``--ci``) is ``block`` (the default: the
task's block size, :func:`geobench.evaluation.grid.block_deg`, or the split's own ``deg`` for a
``spatial_block`` split, whose test set is made of whole blocks), ``block:deg=D`` or ``iid``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from geobench.errors import InputError

MIN_BLOCKS = 2  # with fewer occupied blocks a block bootstrap is undefined: no interval
FEW_BLOCKS = 10  # below this many the interval is rough; the record says so
CI_CHOICES = ("block", "block:deg=D", "iid")


def parse_ci(text: str) -> tuple[str, float | None]:
    """``("block", deg or None)`` or ``("iid", None)`` from a ``--ci`` / ``ci_method`` string."""
    kind, _, rest = str(text).strip().partition(":")
    if kind == "iid" and not rest:
        return "iid", None
    if kind == "block":
        if not rest:
            return "block", None
        k, _, v = rest.partition("=")
        if k == "deg":
            try:
                deg = float(v)
            except ValueError:
                deg = float("nan")
            if 0 < deg <= 90:
                return "block", deg
    raise InputError(f"unknown CI method {text!r}; use one of {', '.join(CI_CHOICES)} (D in (0, 90] degrees)")


def ci_method(ci: str, task: str, split: str) -> str:
    """The canonical CI method of a cell (``block:deg=10``, ``iid``) for the ``ci`` option."""
    from geobench.evaluation.grid import block_deg
    from geobench.evaluation.splits import parse_split

    kind, deg = parse_ci(ci)
    if kind == "iid":
        return "iid"
    if deg is None:
        sp = parse_split(split)
        deg = sp.params["deg"] if sp.kind == "spatial_block" else block_deg(task)
    return f"block:deg={float(deg):g}"


def ci_blocks(method: str | None, lon: Any, lat: Any) -> np.ndarray | None:
    """Block codes of test points for a ``block:deg=D`` method; None for ``iid`` (or no method)."""
    from geobench.evaluation.splits import block_codes

    if not method:
        return None
    kind, deg = parse_ci(method)
    return None if kind == "iid" else block_codes(lon, lat, deg)


def block_bootstrap_ci(y_true: Any, y_pred_or_scores: Any, metric_fn: Any, lonlat: Any, deg: float,
                       **kw: Any) -> tuple[float | None, float | None]:
    """:func:`~geobench.evaluation.metrics.bootstrap_ci` over ``deg``-degree blocks of the
    test points ``lonlat`` ((n, 2) lon, lat degrees)."""
    from geobench.evaluation.metrics import bootstrap_ci
    from geobench.evaluation.splits import block_codes

    ll = np.asarray(lonlat, dtype=np.float64)
    return bootstrap_ci(y_true, y_pred_or_scores, metric_fn, blocks=block_codes(ll[:, 0], ll[:, 1], deg), **kw)


def resample_stats(metric_fn: str | Callable, yt: np.ndarray, pred: np.ndarray, blocks: Any, *, n_boot: int,
                   rng: np.random.Generator, train_std: float | None) -> np.ndarray:
    """``n_boot`` block-bootstrap values of the metric (NaN where undefined). Each chunk of
    resamples draws block indices ``rng.integers(0, B, (m, B))`` (B occupied blocks), the
    draws of the i.i.d. bootstrap when every point is its own block."""
    b = np.asarray(blocks)
    if b.ndim != 1 or b.shape[0] != yt.shape[0]:
        raise InputError(f"blocks must be a 1-D array of one label per test point ({yt.shape[0]}), got shape {b.shape}")
    _, inv = np.unique(b, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    B = int(inv.max()) + 1
    stats = np.empty(n_boot)
    chunk = max(1, min(n_boot, 2_000_000 // B))
    if callable(metric_fn):
        order = np.argsort(inv, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(inv, minlength=B))[:-1])
    else:
        stat = block_stat(metric_fn, yt, pred, inv, B, train_std)
    for s in range(0, n_boot, chunk):
        m = min(chunk, n_boot - s)
        drawn = rng.integers(0, B, (m, B))
        if callable(metric_fn):  # the duplicated rows themselves (slow; a reference for tests)
            for j in range(m):
                idx = np.concatenate([members[k] for k in drawn[j]])
                v = metric_fn(yt[idx], pred[idx])
                stats[s + j] = np.nan if v is None else float(v)
        else:
            counts = np.bincount((drawn + (np.arange(m) * B)[:, None]).ravel(), minlength=m * B)
            stats[s : s + m] = stat(counts.reshape(m, B).astype(np.float64))
    return stats


def _sums(inv: np.ndarray, B: int, v: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(inv, weights=v, minlength=B).astype(np.float64)


def block_stat(name: str, yt: np.ndarray, pred: np.ndarray, inv: np.ndarray, B: int,
               train_std: float | None) -> Callable[[np.ndarray], np.ndarray]:
    """A function ``counts (m, B) -> (m,)``: the metric ``name`` on the test points weighted by
    their block's count, i.e. on the resample's duplicated rows."""
    from geobench.evaluation import metrics as M

    if name not in M._BOOT_NAMED:
        raise InputError(f"unknown metric {name!r} for bootstrap_ci; use one of {', '.join(M._BOOT_NAMED)} "
                         "or pass a callable f(y_true, y_pred)")
    n_b = _sums(inv, B)
    if name in ("r2", "mse", "mse_z", "rmse", "mae"):
        err = M._vec(yt, "y_true") - M._vec(pred, "y_pred")
        if name == "mae":
            a = _sums(inv, B, np.abs(err))
            return lambda c: (c @ a) / (c @ n_b)
        q = _sums(inv, B, err * err)
        if name in ("mse", "mse_z"):
            if name == "mse_z" and (train_std is None or not train_std > 0):
                raise InputError("bootstrap of mse_z needs train_std > 0")
            scale = 1.0 / train_std**2 if name == "mse_z" else 1.0
            return lambda c: (c @ q) / (c @ n_b) * scale
        if name == "rmse":
            return lambda c: np.sqrt((c @ q) / (c @ n_b))
        y = M._vec(yt, "y_true")
        yc = y - y.mean()
        s1_b, s2_b = _sums(inv, B, yc), _sums(inv, B, yc * yc)
        floor = 1e-12 * max(1.0, float(s2_b.sum())) / y.size  # as the i.i.d. path: constant y_true is undefined

        def r2(c: np.ndarray) -> np.ndarray:
            w, s1 = c @ n_b, c @ s1_b
            ss_tot = c @ s2_b - s1 * s1 / w
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(ss_tot > floor, 1.0 - (c @ q) / ss_tot, np.nan)

        return r2
    y = M._labels(yt, "y_true", None)
    if pred.ndim == 2:
        s = M._check_scores(pred, y.size)
        p, C = np.argmax(s, axis=1), s.shape[1]
    else:
        if name.startswith("top") and name != "top1":
            raise InputError(f"{name} needs a scores matrix (n, n_classes), not predicted labels")
        s, p = None, M._labels(pred, "predicted labels", None)
        C = int(max(y.max(), p.max())) + 1
    if name.startswith("top") and s is not None:
        hit = (M._ranks(y, s) < int(name[3:])).astype(np.float64)
    else:
        hit = (p == y).astype(np.float64)
    if name == "accuracy" or name.startswith("top"):
        h = _sums(inv, B, hit)
        return lambda c: (c @ h) / (c @ n_b)
    from scipy import sparse

    def per_class(rows: np.ndarray, cls: np.ndarray):  # (C, B) counts of class per block
        return sparse.csr_matrix((np.ones(rows.size), (cls, rows)), shape=(C, B))

    ok = p == y
    TP, NT, NP = per_class(inv[ok], y[ok]), per_class(inv, y), per_class(inv, p)

    def f1_iou(c: np.ndarray) -> np.ndarray:
        ct = c.T
        tp, nt, npred = (np.asarray(S @ ct).T for S in (TP, NT, NP))
        present = (nt + npred) > 0
        if name == "macro_f1":
            v = 2.0 * tp / np.where(present, nt + npred, 1.0)
        else:
            v = tp / np.where(present, nt + npred - tp, 1.0)
        return (v * present).sum(axis=1) / present.sum(axis=1)

    return f1_iou
