"""Section ``linear``: the linear head (RANGE's probe, :mod:`geobench.heads.linear`) against the
scikit-learn estimators RANGE's evaluation code uses, fitted on the same data in the same run:
``MinMaxScaler + RidgeCV(alphas=(0.1, 1, 10), cv=3)`` on a regression target and
``MinMaxScaler + RidgeClassifierCV(alphas=(0.1, 1, 10), cv=10)`` on a region label (the
nearest of 150 random centres on the sphere, like countries), on SH features of area-uniform
points. Each row records the time ratio and whether the chosen alpha and the predictions agree."""
from __future__ import annotations

import numpy as np

from geobench.perf.config import Config
from geobench.perf.heads import _head_data
from geobench.perf.timing import log, row, timeit

N_REGIONS = 150


def region_labels(X: np.ndarray, n_regions: int, seed: int) -> np.ndarray:
    """Class of each row: the nearest of ``n_regions`` random rows in SH feature space (the
    first SH degrees are the unit vector, so this is a Voronoi partition of the sphere)."""
    rng = np.random.default_rng(seed)
    xyz = X[:, 1:4].astype(np.float64)
    centres = xyz[rng.choice(len(xyz), n_regions, replace=False)]
    _, codes = np.unique(np.argmax(xyz @ centres.T, axis=1), return_inverse=True)
    return codes


def section_linear(cfg: Config) -> tuple[list[dict], dict]:
    from sklearn.linear_model import RidgeClassifierCV, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from geobench.heads import make_head
    from geobench.heads.linear import RANGE_ALPHAS, RANGE_CV

    rows, raw = [], {"runs": {}}
    n_max = max(cfg.head_ns)
    for d in cfg.head_dims:
        X, y = _head_data(n_max + n_max // 4, d, cfg.seed)
        labels = region_labels(X, min(N_REGIONS, len(X) // 20), cfg.seed)
        for n in cfg.head_ns:
            tr, va = slice(0, n), slice(n_max, n_max + max(1, n // 4))
            for kind, target, ref in (
                    ("regression", y, RidgeCV(alphas=RANGE_ALPHAS, cv=RANGE_CV["regression"])),
                    ("classification", labels, RidgeClassifierCV(alphas=RANGE_ALPHAS, cv=RANGE_CV["classification"]))):
                size = f"{kind} N={n:,} d={d}"
                n_classes = int(labels.max()) + 1 if kind == "classification" else None
                fitted = {}

                def fit_ours(kind=kind, target=target, n_classes=n_classes):
                    fitted["ours"] = make_head("linear", kind, seed=0, n_threads=cfg.threads,
                                               n_classes=n_classes).fit(X[tr], target[tr])

                def fit_ref(ref=ref, target=target):
                    fitted["ref"] = make_pipeline(MinMaxScaler(), ref).fit(X[tr], target[tr])

                log(f"linear vs sklearn {size} ...")
                t_ours = timeit(fit_ours, cfg.repeats, budget=cfg.head_budget)
                t_ref = timeit(fit_ref, cfg.repeats, budget=cfg.head_budget)
                ours, sk = fitted["ours"], fitted["ref"]
                if kind == "regression":
                    diff = float(np.max(np.abs(ours.predict(X[va]) - sk.predict(X[va]))) / (np.std(y[va]) or 1.0))
                    agree = f"max|pred diff|/std(y)={diff:.1e}"
                else:
                    diff = float(np.mean(ours.predict(X[va]) != sk.predict(X[va])))
                    agree = f"labels differ on {diff:.2%} of held-out points"
                same_alpha = ours.alpha_ == float(sk[-1].alpha_)
                raw["runs"][size] = {"ours": {**t_ours, "alpha": ours.alpha_},
                                     "sklearn": {**t_ref, "alpha": float(sk[-1].alpha_)}, "disagreement": diff,
                                     "same_alpha": same_alpha}
                notes = [f"alpha {ours.alpha_:g} ({'same as' if same_alpha else 'DIFFERS from'} sklearn)", agree]
                if t_ours["budget_limited"] or t_ref["budget_limited"]:
                    notes.append(f"repeats {t_ours['repeats']}/{t_ref['repeats']} (time budget)")
                rows.append(row("linear", f"linear fit {size}", t_ours["median_s"], "s", times=t_ours,
                                ref_name=f"sklearn MinMaxScaler+{type(ref).__name__}(cv={ref.cv})",
                                ref_value=t_ref["median_s"], ref_unit="s",
                                ratio=t_ours["median_s"] / t_ref["median_s"],
                                ratio_meaning="time / sklearn time (same run)", note="; ".join(notes)))
        del X, y
    return rows, raw
