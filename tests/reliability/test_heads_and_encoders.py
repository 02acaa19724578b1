"""Bad-input catalogue: heads and encoders (see ``catalogue.py``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalogue import RUN, UNSEEN_SPLIT, Case, Ctx, _enc, _run_task, _unseen_seed, run_case
from catalogue import module_cache, synthetic_tasks  # noqa: F401  (fixtures, found by name)
from geobench.encoding import get_encoder
from geobench.errors import InputError
from geobench.evaluation.runner import run_grid
from geobench.evaluation.splits import apply_split, parse_split
from geobench.tasks.base import load_task


# --- heads and encoders --------------------------------------------------------------

def _run_unseen(c: Ctx):
    seed = _unseen_seed()
    return seed, run_grid(["_bad_unseen"], ["wrap"], ["linear"], [UNSEEN_SPLIT], [seed], results_dir=c.results, **RUN)


def _check_unseen(c: Ctx, out) -> None:
    seed, res = out
    (r,) = res.records
    assert r["status"] == "ok" and r["seed"] == seed
    pts = load_task("_bad_unseen")
    tr, va, te = apply_split(pts.df, parse_split(UNSEEN_SPLIT), seed)
    assert np.setdiff1d(np.unique(pts.y[te]), np.unique(pts.y[tr])).tolist() == [2]
    assert any("1 class(es) occur in test but not in train" in w for w in r["warnings"])
    preds = pd.read_parquet(c.results / r["predictions"])
    assert len(preds) == r["n_test"] and (preds["y"] == 2).sum() == 1
    assert not (preds["pred"] == 2).any()  # a class never trained on is never predicted
    assert r["metrics"]["accuracy"] == pytest.approx(float((preds["pred"] == preds["y"]).mean()), abs=1e-12)
    assert 0.9 < r["metrics"]["accuracy"] < 1  # east/west is easy; the unseen point is always wrong


def _nan_encoder(lonlat):
    out = lonlat / 90.0
    out[lonlat[:, 1] > 60] = np.nan
    return out


def _head_const(c: Ctx):
    from geobench.heads import make_head

    X = np.random.default_rng(0).normal(size=(50, 3))
    return make_head("linear", "regression", seed=0).fit(X, np.full(50, 3.5))


def _edited_user_encoder(c: Ctx):
    """The same name for two different functions (a notebook cell edited and re-run)."""
    import geobench

    def lat_only(x):
        return np.stack([np.sin(np.deg2rad(x[:, 1])), np.cos(np.deg2rad(x[:, 1]))], 1)

    def noise(x):
        return np.random.default_rng(0).normal(size=(len(x), 2))

    kw = dict(name="mine", tasks=["air_temperature"], seeds=1, progress=False, n_boot=0)
    return [geobench.evaluate(f, results_dir=c.tmp / f"r{i}", **kw)["r2"].item()
            for i, f in enumerate((lat_only, noise, lat_only))]


def _check_edited_user_encoder(c: Ctx, r2) -> None:
    assert r2[0] > 0.7 and abs(r2[1]) < 0.05  # the noise encoder's own result, not the cached one
    assert r2[2] == r2[0]  # back to the first function: its cached embedding is reused


HEADS_ENCODERS = [
    Case("user-encoder-edited-under-same-name", _edited_user_encoder, None, check=_check_edited_user_encoder),
    Case("encoder-overflows-float32", _run_task("air_temperature", enc=_enc("hugeenc", lambda x: x * 1e300, 2)),
         InputError, ("encoder 'hugeenc'", "float32 range", "rescale")),
    Case("unseen-test-class", _run_unseen, None, check=_check_unseen),
    Case("zero-variance-target-runner", _run_task("_bad_const"), InputError,
         ("zero variance", "15.0", "check the task's target column")),
    Case("zero-variance-target-head", _head_const, InputError, ("zero variance", "3.5")),
    Case("encoder-returns-nan", _run_task("air_temperature", enc=_enc("nanenc", _nan_encoder, 2)), InputError,
         ("encoder 'nanenc'", "NaN/inf", "points")),
    Case("encoder-wrong-rows", _run_task("air_temperature", enc=_enc("shortenc", lambda x: x[1:], 2)), InputError,
         ("encoder 'shortenc'", "(3075, 2)", "expected (3076, dim)")),
    Case("encoder-wrong-dim", _run_task("air_temperature", enc=_enc("dimenc", lambda x: np.hstack([x, x]), 2)),
         InputError, ("encoder 'dimenc'", "4 features", "declares dim=2")),
    Case("encoder-not-an-encoder", lambda c: get_encoder(42), InputError,
         ("cannot use 42 as an encoder", "registered name")),
]


CASES = HEADS_ENCODERS


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch, capsys, module_cache):
    run_case(case, tmp_path, monkeypatch, capsys, module_cache)
