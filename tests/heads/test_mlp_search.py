"""The MLP head's successive-halving search: the chosen configuration's model is bit for bit the
one it trains alone (so its training time inside the search is one fit's cost), halving trains
far fewer configuration-epochs than the full search, and each configuration stops on
convergence (learning-rate decays, then a plateau) rather than on a budget."""
from __future__ import annotations

import numpy as np
import pytest

import geobench

from geobench.errors import InputError
from geobench.heads import make_head

KEYS = ("hidden", "depth", "lr", "weight_decay", "dropout")


def _problem(n=2400, d=10, seed=0, classes=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    f = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2] * X[:, 3]
    y = f + 0.2 * rng.normal(size=n)
    if classes:
        y = np.digitize(f, np.quantile(f, np.linspace(0, 1, classes + 1)[1:-1]))
    n_tr, n_va = int(0.6 * n), int(0.8 * n)
    return X[:n_tr], y[:n_tr], X[n_tr:n_va], y[n_tr:n_va], X[n_va:]


def _chosen(head) -> dict:
    return {k: head.chosen_params_[k] for k in KEYS}


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_halving_winner_is_the_configuration_trained_alone(kind):
    Xtr, ytr, Xva, yva, Xte = _problem(classes=4 if kind == "classification" else None)
    opts = {"n_classes": 4} if kind == "classification" else {}
    head = make_head("mlp", kind, seed=5, n_threads=1, **opts).fit(Xtr, ytr, eval_set=[(Xva, yva)])
    alone = make_head("mlp", kind, seed=5, n_threads=1, params=_chosen(head), **opts).fit(
        Xtr, ytr, eval_set=[(Xva, yva)])
    out = (lambda h: h.predict(Xte)) if kind == "regression" else (lambda h: h.predict_scores(Xte))
    assert np.array_equal(out(head), out(alone))
    assert head.chosen_params_["epochs"] == alone.chosen_params_["epochs"]
    assert head.chosen_params_["val_loss"] == alone.chosen_params_["val_loss"]
    t = head.timings_
    assert 0 < t["chosen_fit_s"] <= t["search_s"] and alone.chosen_params_["n_configs"] == 1
    assert alone.chosen_params_["search"] == "none" and head.chosen_params_["search"] == "halving"
    assert sorted({r["stopped_by"] for r in head.search_results_}) == ["converged", "halved"]


def test_interleaving_keeps_each_configurations_dropout_stream(monkeypatch):
    """With dropout, each run draws from its own saved RNG state: the halving winner still equals
    the configuration trained alone (a shared stream would differ after the first rung)."""
    import geobench.heads.mlp as mlp

    monkeypatch.setattr(mlp, "MLP_DEFAULT_GRID", {**mlp.MLP_DEFAULT_GRID, "dropout": (0.3,), "lr": (1e-3, 3e-3)})
    Xtr, ytr, Xva, yva, Xte = _problem(seed=1)
    head = make_head("mlp", "regression", seed=2, n_threads=1).fit(Xtr, ytr, eval_set=[(Xva, yva)])
    assert head.chosen_params_["dropout"] == 0.3 and head.chosen_params_["n_configs"] == 8
    alone = make_head("mlp", "regression", seed=2, n_threads=1, params=_chosen(head)).fit(
        Xtr, ytr, eval_set=[(Xva, yva)])
    assert np.array_equal(head.predict(Xte), alone.predict(Xte))


@pytest.mark.parametrize("preset", [None, "COMPATIBLE"])
def test_import_sets_mkl_reproducibility_unless_set(preset):
    """Without ``MKL_CBWR=...,STRICT`` MKL may round by memory alignment: a configuration trained
    inside the search then differs (by 1e-6 in val loss, measured) from the same one trained alone."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    if preset:
        env["MKL_CBWR"] = preset
    out = subprocess.run([sys.executable, "-c", "import os, geobench; print(os.environ['MKL_CBWR'])"], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == (preset or geobench.MKL_CBWR) and geobench.MKL_CBWR == "AUTO,STRICT"
    # torch first: the variable may come too late for MKL, so geobench warns and says so
    late = subprocess.run([sys.executable, "-W", "error", "-c", "import torch, geobench"],
                          env={k: v for k, v in env.items() if k != "MKL_CBWR"}, capture_output=True, text=True)
    assert late.returncode != 0 and "torch was imported before geobench" in late.stderr
    assert subprocess.run([sys.executable, "-W", "error", "-c", "import geobench, torch"], env=env).returncode == 0


def test_halving_schedule_and_cost_against_the_full_search():
    Xtr, ytr, Xva, yva, _ = _problem(seed=3)
    kw = {"min_patience_steps": 1}  # patience in epochs only: this test is about the schedule
    half = make_head("mlp", "regression", seed=0, n_threads=1, **kw).fit(Xtr, ytr, eval_set=[(Xva, yva)])
    full = make_head("mlp", "regression", seed=0, n_threads=1, search="full", **kw).fit(
        Xtr, ytr, eval_set=[(Xva, yva)])
    steps = sorted(r["steps"] for r in half.search_results_)
    # 1,440 points / 256 = 6 steps an epoch. Rung 0: all 8 train half an epoch (3 steps); the best
    # ceil(8/3) = 3 go on to 9 steps (1.5 epochs: both rungs end inside an epoch); the best of
    # those trains to convergence
    assert steps[:5] == [3] * 5 and steps[5:7] == [9, 9] and steps[7] > 9 and steps[7] % 6 == 0
    assert sorted(r["epochs"] for r in half.search_results_)[:7] == [1] * 5 + [2] * 2  # epochs begun
    assert half.chosen_params_["config_epochs"] == round(sum(steps) / 6, 3)
    # a run halved inside its first epoch has no epoch-end loss; it was ranked by its rung score
    early = [r for r in half.search_results_ if r["steps"] == 3]
    assert all(r["val_loss"] == float("inf") and 0 < r["rung_score"] < float("inf") for r in early)
    kept = {r["rung_score"] for r in half.search_results_ if r["steps"] > 3}
    assert max(kept) <= min(r["rung_score"] for r in early)  # the best three by rung score went on
    assert half.chosen_params_["config_epochs"] < full.chosen_params_["config_epochs"] / 2
    assert full.chosen_params_["stopped_by"] == "converged"  # (slow lr 1e-4 runs may reach max_epochs)
    assert half.chosen_params_["stopped_by"] == "converged" and half.chosen_params_["lr_decays"] == 2
    # the full search picks the lowest final loss; halving's choice is close to it here
    assert full.chosen_params_["val_loss"] == min(r["val_loss"] for r in full.search_results_)
    assert half.chosen_params_["val_loss"] <= 1.1 * full.chosen_params_["val_loss"]


def test_first_rung_steps():
    from geobench.heads.mlp import rung_steps

    assert [rung_steps(0.5, 6), rung_steps(1.1, 50), rung_steps(0.01, 6), rung_steps(1, 7), rung_steps(0.5, 1)] == \
        [3, 55, 1, 7, 1]
    assert 1.1 * 50 > 55  # the float product that a plain ceil would round up to 56


def test_tuned_search_halves_over_more_rungs():
    Xtr, ytr, Xva, yva, _ = _problem(n=1200, seed=4)
    head = make_head("mlp", "regression", seed=0, n_threads=1, tune=True).fit(Xtr, ytr, eval_set=[(Xva, yva)])
    steps = sorted(r["steps"] for r in head.search_results_)
    n = head.chosen_params_["n_configs"]
    # 720 points / 256 = 3 steps an epoch. 24 train ceil(1.5) = 2 steps -> the best 8 go on to 6 ->
    # the best 3 to 18 -> the best 1 to convergence
    assert n == 24 and steps[:16] == [2] * 16 and steps[16:21] == [6] * 5 and steps[21:23] == [18, 18]
    assert steps[23] > 18


@pytest.mark.parametrize("opts,match", [({"search": "grid"}, "search must be one of"),
                                        ({"eta": 1}, "eta"), ({"patience": 0}, "patience"),
                                        ({"rung_epochs": 0}, "rung_epochs .* > 0"),
                                        ({"rung_epochs": float("nan")}, "rung_epochs"),
                                        ({"tol": 1.5}, "tol"), ({"decays": -1}, "decays"),
                                        ({"device": "tpu"}, "device must be one of"),
                                        ({"batch_size": 0}, "batch_size"), ({"decays": True}, "decays"),
                                        ({"tol": "abc"}, "tol .*a number"),
                                        ({"max_samples": "abc"}, "max_samples must be a positive integer")])
def test_bad_search_options_are_refused(opts, match):
    Xtr, ytr, Xva, yva, _ = _problem(n=200)
    with pytest.raises(InputError, match=match):
        make_head("mlp", "regression", seed=0, n_threads=1, **opts).fit(Xtr, ytr, eval_set=[(Xva, yva)])


def test_an_unavailable_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():  # pragma: no cover - no GPU here
        pytest.skip("a CUDA GPU is present")
    Xtr, ytr, Xva, yva, _ = _problem(n=200)
    with pytest.raises(InputError, match="'cuda' is not available.*--device cpu"):
        make_head("mlp", "regression", seed=0, n_threads=1, device="cuda").fit(Xtr, ytr, eval_set=[(Xva, yva)])


def test_device_flag_becomes_part_of_the_specs():
    from geobench.encoding import resolve_spec
    from geobench.evaluation.identity import head_identity
    from geobench.evaluation.plan import with_device
    from geobench.heads.base import canonical_head_spec

    heads, encs = with_device(["mlp", "linear", "lightgbm"], ["satclip-bm:L=40", "wrap", "geoclip", "csp-bm",
                                                              "sh_siren_random"], "cuda")
    assert heads == ["mlp:device=cuda", "linear", "lightgbm"]
    assert encs == ["satclip-bm:L=40:device=cuda", "wrap", "geoclip:device=cuda", "csp-bm:device=cuda",
                    "sh_siren_random:device=cuda"]
    assert with_device(["mlp"], ["geoclip"], "cpu") == (["mlp"], ["geoclip"])
    assert with_device(["mlp:device=cuda"], [], "cuda") == (["mlp:device=cuda"], [])
    with pytest.raises(InputError, match="names device=cpu but --device is cuda"):
        with_device(["mlp:device=cpu"], [], "cuda")
    # cpu is the default: spelled out or not, one spec and one identity
    assert resolve_spec("satclip-bm:device=cpu") == "satclip-bm" and canonical_head_spec("mlp:device=cpu") == "mlp"
    assert head_identity("mlp:device=cuda", False) != head_identity("mlp", False)


def test_patience_is_at_least_min_patience_steps_batches():
    """On a small task an epoch is a few batches: patience counts at least ``min_patience_steps``
    optimizer steps (1,440 points / 256 = 6 batches: 17 epochs), so the noisy validation loss of
    a small split does not cut the learning rate after 18 steps."""
    from geobench.heads.mlp import MLPHead, _Run

    Xtr, ytr, Xva, yva, _ = _problem()
    head = MLPHead("regression", seed=0, n_threads=1)
    import torch

    data = (torch.zeros(1440, 3), torch.zeros(1440, 1), torch.zeros(10, 3), torch.zeros(10, 1), None, 256)
    cfg = {"hidden": 8, "depth": 1, "lr": 1e-3, "weight_decay": 0.0, "dropout": 0.0}
    assert _Run(head._build(3, 1, cfg, "cpu"), cfg, data, head, float("inf")).patience == 17
    big = (torch.zeros(60_000, 3), torch.zeros(60_000, 1), *data[2:5], 1024)
    assert _Run(head._build(3, 1, cfg, "cpu"), cfg, big, head, float("inf")).patience == 3  # 59 batches an epoch
