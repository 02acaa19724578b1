"""``mlp``: a torch multilayer-perceptron probe. Configurations are chosen by successive halving
on the validation loss; each configuration trains until its validation loss stops improving."""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from geobench.devices import cuda_ids
from geobench.errors import InputError

from geobench.heads.base import Head, carve_validation, grid, register_head

MLP_DEFAULT_GRID = {"hidden": (64, 256), "depth": (1, 2), "lr": (1e-3, 1e-4),
                    "weight_decay": (1e-4,), "dropout": (0.0,)}
MLP_TUNE_GRID = {"hidden": (64, 256, 512), "depth": (1, 2, 3), "lr": (1e-3, 1e-4),
                 "weight_decay": (0.0, 1e-4, 1e-2), "dropout": (0.0, 0.2)}
MLP_TUNE_EXTRA = 16  # tune=True: the default grid plus this many configs sampled from MLP_TUNE_GRID
SEARCHES = ("halving", "full")
CAPS = ("max_epochs", "max_samples")  # ``stopped_by`` values that are budget caps, not convergence


@register_head("mlp")
class MLPHead(Head):
    """Torch MLP probe. Inputs standardised on train; regression trains MSE on the z-scored
    target (predictions de-standardised), classification cross-entropy over the classes seen
    in training. AdamW (decoupled weight decay), batches of ``batch_size`` (None: 256 up to
    20k points, else 1024).

    **Convergence.** After every epoch the validation loss is computed; an epoch *improves* when
    its loss is below ``best * (1 - tol)``. After ``patience`` epochs in a row without improvement
    (at least ``min_patience_steps`` optimizer steps: on a small task an epoch is a few batches)
    the learning rate is divided by 10 (like torch's ``ReduceLROnPlateau``), at most ``decays``
    times; the next such plateau stops the configuration (``stopped_by = "converged"``), which
    keeps the weights of its last improving epoch. ``max_epochs`` (and ``max_samples``, training
    samples processed, None: no limit) are safety caps; a run they stop is flagged
    ``best_epoch_at_cap`` (it had not converged).

    **Search** (``search="halving"``, the default): successive halving over the configurations of
    ``MLP_DEFAULT_GRID`` (8; with ``tune=True`` plus ``MLP_TUNE_EXTRA`` sampled from
    ``MLP_TUNE_GRID``). Budgets are counted in optimizer steps: every configuration trains
    ``ceil(rung_epochs * steps per epoch)`` steps (default half an epoch: on a spatial-block split
    the chosen model converges within 10-20 epochs, and whole-epoch rungs made the losers cost
    more than that fit); the best ``1/eta`` go on to ``eta`` times as many steps, and so on until
    one is left, which trains on to convergence. A rung ranks the runs by their lowest validation
    loss so far, at epoch ends and at rung ends (ties: the better-ranked in the previous rung, at
    first the earlier configuration; a diverged run ranks last). A rung that ends inside an epoch
    computes the validation loss there for ranking only: early stopping (best loss, kept weights,
    patience) sees epoch ends alone, and the model in eval mode draws no random numbers, so the
    pause changes nothing in the run. Each configuration has its own seeded
    initialisation, batch order and dropout stream (on CPU; on a GPU dropout draws from the
    device's shared generator), so interleaving does not change it: the chosen configuration's
    model is bit for bit the one ``params=<chosen>`` trains alone (under the ``MKL_CBWR`` that
    ``import geobench`` sets: :data:`geobench.MKL_CBWR`), and
    ``timings_["chosen_fit_s"]`` (its own training time inside the search) is the cost of one fit.
    ``search="full"`` trains every configuration to its stop (the head's version-1 search;
    ``rung_epochs`` and ``eta`` are then unused).
    ``params`` (dict: hidden, depth, lr, weight_decay, dropout) fixes one configuration. The
    version-1 head is ``V1_SPEC`` (same predictions bit for bit, except that version 1 could pick
    a configuration whose first epoch diverged). ``best_epoch_at_cap`` meant something narrower in
    version 1: stopped by the sample cap with the best epoch the last or next-to-last one.

    Selection uses the validation split given to ``fit`` (the grid's, per seed); without one,
    10 % of train is held out deterministically. ``device``: ``cpu`` (default), ``cuda`` or
    ``mps``; GPU results are not bit-identical to CPU ones, and the GPU path is untested here.
    Same seed, thread count and device -> bit-identical predictions.
    """

    score_kind = "proba"
    version = 3  # 1: exhaustive 8-config search, constant lr, patience 10, 1.5M-sample cap;
    # 2: rungs of whole epochs, ranked by the best epoch-end loss; 3: rungs of optimizer steps
    V1_SPEC = "mlp:search=full:patience=10:tol=1e-7:decays=0:max_epochs=200:max_samples=1500000:min_patience_steps=1"

    def __init__(self, kind: str = "regression", *, seed: int = 0, n_threads: int = 2, tune: bool = False,
                 n_classes: int | None = None, params: dict | None = None, max_epochs: int = 300,
                 patience: int = 3, tol: float = 1e-3, decays: int = 2, batch_size: int | None = None,
                 search: str = "halving", rung_epochs: float = 0.5, eta: int = 3, max_samples: int | None = None,
                 min_patience_steps: int = 100, device: str = "cpu") -> None:
        super().__init__(kind, seed=seed, n_threads=n_threads, tune=tune, n_classes=n_classes)
        self.params = params
        self.max_epochs = max_epochs
        self.patience = patience
        self.tol = tol
        self.decays = decays
        self.batch_size = batch_size
        self.search = search
        self.rung_epochs = rung_epochs
        self.eta = eta
        self.max_samples = max_samples
        self.min_patience_steps = min_patience_steps
        self.device = device

    def _validate_params(self) -> None:
        from geobench.devices import check_device

        super()._validate_params()
        if self.search not in SEARCHES:
            raise InputError(f"mlp: search must be one of {SEARCHES}, got {self.search!r}")
        check_device(self.device)

        def count(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        for name in ("max_epochs", "patience", "min_patience_steps"):
            v = getattr(self, name)
            if not count(v) or v < 1:
                raise InputError(f"mlp: {name} must be a positive integer, got {v!r}")
        if self.batch_size is not None and (not count(self.batch_size) or self.batch_size < 1):
            raise InputError(f"mlp: batch_size must be a positive integer or None (256 up to 20k points, else "
                             f"1024), got {self.batch_size!r}")
        r = self.rung_epochs
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not (math.isfinite(r) and r > 0):
            raise InputError(f"mlp: rung_epochs (epochs in the first halving rung, e.g. 0.5) must be a number > 0, "
                             f"got {r!r}")
        if not count(self.decays) or self.decays < 0:
            raise InputError(f"mlp: decays must be an integer >= 0, got {self.decays!r}")
        if not count(self.eta) or self.eta < 2:
            raise InputError(f"mlp: eta (the halving factor) must be an integer >= 2, got {self.eta!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float)) or not 0 <= self.tol < 1:
            raise InputError(f"mlp: tol (relative improvement) must be a number in [0, 1), got {self.tol!r}")
        if self.max_samples is not None and (not count(self.max_samples) or self.max_samples < 1):
            raise InputError(f"mlp: max_samples must be a positive integer or None, got {self.max_samples!r}")

    def _configs(self) -> list[dict[str, Any]]:
        if self.params is not None:
            base = {"hidden": 256, "depth": 1, "lr": 1e-3, "weight_decay": 1e-4, "dropout": 0.0}
            unknown = set(self.params) - set(base)
            if unknown:
                raise InputError(f"mlp params has unknown keys {sorted(unknown)}; accepted: {sorted(base)}")
            return [{**base, **self.params}]
        configs = grid(MLP_DEFAULT_GRID)
        if self.tune:
            pool = [c for c in grid(MLP_TUNE_GRID) if c not in configs]
            rng = np.random.default_rng(self.seed)
            pick = rng.choice(len(pool), size=min(MLP_TUNE_EXTRA, len(pool)), replace=False)
            configs += [pool[i] for i in sorted(pick)]
        return configs

    def _fit(self, X, y, X_val, y_val) -> None:
        import torch

        from geobench.devices import torch_device

        dev = torch_device(self.device)
        if X_val is None:
            tr, va = carve_validation(X.shape[0], self.seed)
            X, y, X_val, y_val = X[tr], y[tr], X[va], y[va]
        self._mu = X.mean(axis=0)
        sd = X.std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        Xt = torch.from_numpy(((X - self._mu) / self._sd).astype(np.float32)).to(dev)
        Xv = torch.from_numpy(((X_val - self._mu) / self._sd).astype(np.float32)).to(dev)
        if self.kind == "regression":
            self._ymu, self._ysd = float(y.mean()), float(y.std()) or 1.0
            yt = torch.from_numpy(((y - self._ymu) / self._ysd).astype(np.float32))[:, None]
            yv = torch.from_numpy(((y_val - self._ymu) / self._ysd).astype(np.float32))[:, None]
            d_out, loss_fn = 1, torch.nn.functional.mse_loss
        else:
            yt, yv = torch.from_numpy(y.astype(np.int64)), torch.from_numpy(y_val.astype(np.int64))
            d_out, loss_fn = int(self.classes_.size), torch.nn.functional.cross_entropy
        bs = int(self.batch_size or (256 if Xt.shape[0] <= 20000 else 1024))
        max_steps = math.inf if self.max_samples is None else max(1, math.ceil(int(self.max_samples) / bs))
        data = (Xt, yt.to(dev), Xv, yv.to(dev), loss_fn, bs)
        t0 = time.perf_counter()
        runs = [_Run(self._build(Xt.shape[1], d_out, cfg, dev), cfg, data, self, max_steps)
                for cfg in self._configs()]
        best = self._search(runs)
        self._model = best.model
        self._model.load_state_dict(best.best_state)
        self._model.eval()
        self.chosen_params_ = {**best.cfg, "best_epoch": best.best_epoch, "val_loss": best.best_loss,
                               "epochs": best.epoch, "stopped_by": best.stopped_by,
                               "best_epoch_at_cap": best.stopped_by in CAPS, "lr_decays": int(self.decays) - best.decays_left,
                               "batch_size": bs,
                               "n_configs": len(runs), "search": self.search if len(runs) > 1 else "none",
                               "config_epochs": round(sum(r.steps for r in runs) / best.steps_per_epoch, 3)}
        # val_loss: best at an epoch end (inf for a run halved inside its first epoch); rung_score: the
        # lowest validation loss at an epoch or rung end, what the halving ranked by; epochs: begun
        self.search_results_ = [{**r.cfg, "val_loss": r.best_loss, "rung_score": r.score, "epochs": r.epoch,
                                 "steps": r.steps, "best_epoch": r.best_epoch,
                                 "stopped_by": r.stopped_by or "halved"} for r in runs]
        self.timings_ = {"search_s": round(time.perf_counter() - t0, 3), "chosen_fit_s": round(best.seconds, 3)}

    def _search(self, runs: list["_Run"]) -> "_Run":
        """Train the runs as ``search`` says; return the chosen one (lowest validation loss, first on ties)."""
        if self.search == "full" or len(runs) == 1:
            for r in runs:
                r.advance(math.inf)
            return min(runs, key=_loss)  # min keeps the first of equal losses
        alive = list(runs)
        until = rung_steps(float(self.rung_epochs), runs[0].steps_per_epoch)
        while len(alive) > 1:
            for r in alive:
                r.advance(until)
            alive = sorted(alive, key=_rung_score)[: max(1, math.ceil(len(alive) / int(self.eta)))]
            until *= int(self.eta)
        alive[0].advance(math.inf)
        return alive[0]

    def _build(self, d_in: int, d_out: int, cfg: dict[str, Any], dev):
        """The network of ``cfg``, its initial weights drawn from ``seed`` (the global torch RNGs,
        CPU and the CUDA device's, are left as they were)."""
        import torch
        import torch.nn as nn

        with torch.random.fork_rng(devices=cuda_ids(dev)):
            torch.manual_seed(self.seed)
            layers: list = []
            width = d_in
            for _ in range(int(cfg["depth"])):
                layers.append(nn.Linear(width, int(cfg["hidden"])))  # a new module per layer
                layers.append(nn.ReLU())
                if cfg["dropout"] > 0:
                    layers.append(nn.Dropout(float(cfg["dropout"])))
                width = int(cfg["hidden"])
            layers.append(nn.Linear(width, d_out))
            model = nn.Sequential(*layers).to(dev)
            rng_state = torch.get_rng_state()  # where this run's dropout stream starts
        return model, rng_state

    def _forward(self, X) -> np.ndarray:
        import torch

        dev = next(self._model.parameters()).device
        Xt = torch.from_numpy(((X - self._mu) / self._sd).astype(np.float32))
        outs = []
        with torch.no_grad():
            for s in range(0, Xt.shape[0], 8192):
                o = self._model(Xt[s : s + 8192].to(dev))
                if self.kind == "classification":
                    o = torch.softmax(o, dim=1)
                outs.append(o.cpu().numpy().astype(np.float64))
        return np.concatenate(outs) if outs else np.zeros((0, 1))

    def _predict(self, X) -> np.ndarray:
        return self._forward(X)[:, 0] * self._ysd + self._ymu

    def _scores(self, X) -> np.ndarray:
        return self._forward(X)

    def weight_norm(self) -> float:
        """L2 norm of all weight matrices (not biases) of the fitted network."""
        import torch

        return float(torch.sqrt(sum((p.detach() ** 2).sum() for n_, p in self._model.named_parameters()
                                    if n_.endswith("weight"))))


def rung_steps(rung_epochs: float, steps_per_epoch: int) -> int:
    """Optimizer steps of the first halving rung: ``rung_epochs`` epochs rounded up, at least 1
    (1e-9 absorbs float error: 1.1 epochs of 50 steps are 55 steps, not 56)."""
    return max(1, math.ceil(rung_epochs * steps_per_epoch - 1e-9))


def _loss(run: "_Run") -> float:
    """A run's best epoch-end validation loss for ranking (a diverged run's NaN ranks last)."""
    return run.best_loss if math.isfinite(run.best_loss) else math.inf


def _rung_score(run: "_Run") -> float:
    """A run's lowest validation loss at any epoch end or rung end (NaN: last)."""
    return run.score if math.isfinite(run.score) else math.inf


class _Run:
    """One configuration's training, advanced step by step (it may pause inside an epoch). It owns
    its batch-order generator and its global-RNG state (dropout), so runs can be interleaved
    without changing any of them."""

    def __init__(self, built, cfg: dict[str, Any], data: tuple, head: MLPHead, max_steps: float) -> None:
        import torch

        self.model, self.rng_state = built
        self.cfg = cfg
        self.Xt, self.yt, self.Xv, self.yv, self.loss_fn, self.bs = data
        self.steps_per_epoch = steps_per_epoch = math.ceil(self.Xt.shape[0] / self.bs)
        self.tol, self.max_epochs = float(head.tol), int(head.max_epochs)
        self.patience = max(int(head.patience), math.ceil(int(head.min_patience_steps) / steps_per_epoch))
        self.decays_left = int(head.decays)
        self.max_steps = max_steps
        self.gen = torch.Generator().manual_seed(head.seed)
        kw = {"lr": float(cfg["lr"]), "weight_decay": float(cfg["weight_decay"])}
        try:  # the fused kernel (torch >= 2.4) takes ~25 % less time per step than the for-loop version
            self.opt = torch.optim.AdamW(self.model.parameters(), fused=True, **kw)
        except (RuntimeError, TypeError):
            self.opt = torch.optim.AdamW(self.model.parameters(), **kw)
        self.best_loss, self.best_state, self.best_epoch = math.inf, None, 0
        self.bad = self.steps = self.epoch = 0
        self.score = math.inf  # lowest validation loss at an epoch end or a rung end (ranking only)
        self.perm = None  # the batch order of the epoch in progress (None: between epochs)
        self.pos = 0  # the next batch's start in ``perm``
        self.stopped_by: str | None = None
        self.seconds = 0.0

    def advance(self, until: float) -> None:
        """Train until ``until`` optimizer steps in all (``math.inf``: to the run's stop) or until
        the run stops. A pause inside an epoch scores the run on the validation split (``score``)."""
        import torch

        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=cuda_ids(next(self.model.parameters()).device)):
            torch.set_rng_state(self.rng_state)
            n = self.Xt.shape[0]
            while self.stopped_by is None and self.steps < until:
                if self.perm is None:
                    self.epoch += 1
                    self.perm, self.pos = torch.randperm(n, generator=self.gen).to(self.Xt.device), 0
                self._step(self.perm[self.pos : self.pos + self.bs])
                self.pos += self.bs
                if self.pos >= n:
                    self.perm = None
                    self._epoch_end()
            if self.perm is not None and self.stopped_by is None:
                self._seen(self._val_loss())
            self.rng_state = torch.get_rng_state()
        self.seconds += time.perf_counter() - t0

    def _seen(self, vl: float) -> None:
        """Count a validation loss into ``score`` (a non-finite one makes the run rank last)."""
        if not math.isfinite(vl) or vl < self.score:
            self.score = vl

    def _step(self, idx) -> None:
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.Xt[idx]), self.yt[idx])
        loss.backward()
        self.opt.step()
        self.steps += 1

    def _epoch_end(self) -> None:
        model = self.model
        vl = self._val_loss()
        self._seen(vl)
        if self.best_state is None or vl < self.best_loss - self.tol * abs(self.best_loss):
            self.best_loss, self.best_epoch, self.bad = vl, self.epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad += 1
        if self.bad >= self.patience and self.decays_left and math.isfinite(vl):
            self.decays_left -= 1
            self.bad = 0
            for group in self.opt.param_groups:
                group["lr"] *= 0.1
        if not math.isfinite(vl):
            self.stopped_by = "non-finite"
        elif self.bad >= self.patience:
            self.stopped_by = "converged"
        elif self.steps >= self.max_steps:
            self.stopped_by = "max_samples"
        elif self.epoch >= self.max_epochs:
            self.stopped_by = "max_epochs"

    def _val_loss(self) -> float:
        import torch

        self.model.eval()
        total, n = 0.0, self.Xv.shape[0]
        with torch.no_grad():
            for s in range(0, n, 8192):
                total += float(self.loss_fn(self.model(self.Xv[s : s + 8192]), self.yv[s : s + 8192],
                                            reduction="sum"))
        return total / n
