"""Section ``heads``: fit time of the linear / mlp / lightgbm heads on SH features of a
smooth synthetic target, each against the linear head on the same data (the linear head
against scikit-learn is the ``linear`` section)."""
from __future__ import annotations

import math

import numpy as np

from geobench.perf.config import Config
from geobench.perf.timing import log, row, timeit


def _head_data(n_total: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from geobench.baselines.sh import spherical_harmonics
    from geobench.tasks.sampling import sample_sphere

    L = int(round(math.sqrt(dim)))
    if L * L != dim:
        from geobench.errors import InputError

        raise InputError(f"perf heads: input dims must be perfect squares (SH L**2), got {dim}")
    x = sample_sphere(n_total, seed + 2)
    X = spherical_harmonics(x, L, dtype=np.float32)
    lon, lat = np.deg2rad(x[:, 0]), np.deg2rad(x[:, 1])
    rng = np.random.default_rng(seed + 3)
    y = np.cos(lat) * np.sin(2 * lon) + 0.5 * np.sin(3 * lat) + 0.3 * np.cos(lat) ** 2 + 0.1 * rng.standard_normal(n_total)
    return X, y


def section_heads(cfg: Config) -> tuple[list[dict], dict]:
    from geobench.heads import make_head

    rows, raw = [], {"runs": {}}
    n_max = max(cfg.head_ns)
    n_val_max = max(1, n_max // 4)
    big = (max(cfg.head_ns), max(cfg.head_dims))
    for d in cfg.head_dims:
        X, y = _head_data(n_max + n_val_max, d, cfg.seed)
        Xva_all, yva_all = X[n_max:], y[n_max:]
        for n in cfg.head_ns:
            Xtr, ytr = X[:n], y[:n]
            nv = max(1, n // 4)
            Xva, yva = Xva_all[:nv], yva_all[:nv]
            size = f"N={n:,} d={d}"
            # the linear head: the reference of mlp/lightgbm (its comparison with sklearn is the
            # `linear` section)
            def fit_linear():
                make_head("linear", "regression", seed=0, n_threads=cfg.threads).fit(Xtr, ytr)

            log(f"linear {size} ...")
            t_lin = timeit(fit_linear, cfg.repeats, budget=cfg.head_budget)  # always: the reference of mlp/lightgbm
            raw["runs"][f"linear {size}"] = t_lin
            rows.append(row("heads", f"linear fit {size}", t_lin["median_s"], "s", times=t_lin,
                            note=f"{t_lin['repeats']} repeat(s)"))
            for name in [h for h in cfg.heads if h != "linear"]:
                opts = dict(cfg.head_options.get(name, {}))
                note = []
                reps = cfg.repeats
                # Caps keep the default run near 20 min: the MLP default search at the largest N runs
                # once; LightGBM at the largest N x d runs once in a reduced form.
                if name == "mlp" and n == big[0] and not cfg.quick:
                    reps = 1
                    note.append("1 repeat (the default search)")
                elif name == "lightgbm" and (n, d) == big and not cfg.quick:
                    reps = 1
                    opts["params"] = {**opts.get("params", {}), "n_estimators": 200}
                    note.append("CAPPED: 1 repeat, at most 200 boosting rounds (default 1000 with early stopping)")
                fitted = {}

                def fit_head(name=name, opts=opts):
                    head = make_head(name, "regression", seed=0, n_threads=cfg.threads, **opts)
                    fitted["h"] = head.fit(Xtr, ytr, eval_set=[(Xva, yva)])

                log(f"{name} {size} ...")
                t = timeit(fit_head, reps, budget=cfg.head_budget)
                cp = fitted["h"].chosen_params_
                if name == "mlp":
                    tm = getattr(fitted["h"], "timings_", {})
                    note.append(f"{cp.get('n_configs')} config(s), best epoch {cp.get('best_epoch')}, stopped by "
                                f"{cp.get('stopped_by')}; search / one fit of the chosen config "
                                f"{tm['search_s'] / max(tm['chosen_fit_s'], 1e-9):.2f}x")
                else:
                    note.append(f"best iteration {cp.get('best_iteration')}")
                if opts and not note[0].startswith("CAPPED"):
                    note.append(f"options {opts}")
                if t["budget_limited"]:
                    note.append(f"{t['repeats']} repeat(s) (time budget {cfg.head_budget:g}s)")
                raw["runs"][f"{name} {size}"] = {**t, "options": opts,
                                                 "chosen_params": {k: v for k, v in cp.items()
                                                                   if isinstance(v, (int, float, str, bool))}}
                rows.append(row("heads", f"{name} fit {size}", t["median_s"], "s", times=t,
                                ref_name="linear head, same data", ref_value=t_lin["median_s"], ref_unit="s",
                                ratio=t["median_s"] / t_lin["median_s"], ratio_meaning="time / linear time (same run)",
                                note="; ".join(note)))
        del X, y
    return rows, raw
