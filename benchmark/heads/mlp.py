"""``mlp``: a torch multilayer-perceptron probe with early stopping and a small validation search."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from geobench.errors import InputError

from geobench.heads.base import Head, carve_validation, grid, register_head

MLP_DEFAULT_GRID = {"hidden": (64, 256), "depth": (1, 2), "lr": (1e-3, 1e-4),
                    "weight_decay": (1e-4,), "dropout": (0.0,)}
MLP_TUNE_GRID = {"hidden": (64, 256, 512), "depth": (1, 2, 3), "lr": (1e-3, 1e-4),
                 "weight_decay": (0.0, 1e-4, 1e-2), "dropout": (0.0, 0.2)}
MLP_TUNE_EXTRA = 16  # tune=True: the default grid plus this many configs sampled from MLP_TUNE_GRID


@register_head("mlp")
class MLPHead(Head):
    """Torch MLP probe. Inputs standardised on train; regression trains MSE on the z-scored
    target (predictions de-standardised), classification cross-entropy over the classes seen
    in training. AdamW (decoupled weight decay), early stopping on the validation loss
    (``patience`` epochs, best weights restored). Hyper-parameters are chosen by validation
    loss over ``MLP_DEFAULT_GRID`` (8 configs) or, with ``tune=True``, that grid plus
    ``MLP_TUNE_EXTRA`` configs sampled (seeded) from ``MLP_TUNE_GRID``. Without a validation
    split, 10 % of train is held out deterministically.

    Parameters: ``max_epochs`` (200), ``patience`` (10), ``batch_size`` (None: 256 up to 20k points, else 1024),
    ``max_samples`` (training samples processed per config, i.e. epochs x n, default 1.5M:
    caps large tasks at ~15 epochs of 100k points so the default search stays ~2 min).
    The cap binds on the 100k-point tasks; docs/results.md ("Protocol checks") counts the cells.
    ``chosen_params_["best_epoch_at_cap"]`` is True when the chosen config stopped at the cap
    (not by early stopping or ``max_epochs``) with its best epoch the last or next to last one:
    more training would likely have helped; raise ``max_samples`` for such tasks.
    ``params`` (dict: hidden, depth, lr, weight_decay, dropout) fixes one config.
    Same seed and thread count -> bit-identical predictions.
    """

    score_kind = "proba"

    def __init__(self, kind: str = "regression", *, seed: int = 0, n_threads: int = 2, tune: bool = False,
                 n_classes: int | None = None, params: dict | None = None, max_epochs: int = 200,
                 patience: int = 10, batch_size: int | None = None, max_samples: int = 1_500_000) -> None:
        super().__init__(kind, seed=seed, n_threads=n_threads, tune=tune, n_classes=n_classes)
        self.params = params
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.max_samples = max_samples

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

    def _build(self, d_in: int, d_out: int, cfg: dict[str, Any]):
        import torch.nn as nn

        layers: list = []
        width = d_in
        for _ in range(int(cfg["depth"])):
            layers.append(nn.Linear(width, int(cfg["hidden"])))  # a new module per layer
            layers.append(nn.ReLU())
            if cfg["dropout"] > 0:
                layers.append(nn.Dropout(float(cfg["dropout"])))
            width = int(cfg["hidden"])
        layers.append(nn.Linear(width, d_out))
        return nn.Sequential(*layers)

    def _fit(self, X, y, X_val, y_val) -> None:
        import time

        import torch

        if X_val is None:
            tr, va = carve_validation(X.shape[0], self.seed)
            X, y, X_val, y_val = X[tr], y[tr], X[va], y[va]
        self._mu = X.mean(axis=0)
        sd = X.std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        Xt = torch.from_numpy(((X - self._mu) / self._sd).astype(np.float32))
        Xv = torch.from_numpy(((X_val - self._mu) / self._sd).astype(np.float32))
        if self.kind == "regression":
            self._ymu, self._ysd = float(y.mean()), float(y.std()) or 1.0
            yt = torch.from_numpy(((y - self._ymu) / self._ysd).astype(np.float32))[:, None]
            yv = torch.from_numpy(((y_val - self._ymu) / self._ysd).astype(np.float32))[:, None]
            d_out, loss_fn = 1, torch.nn.functional.mse_loss
        else:
            yt, yv = torch.from_numpy(y.astype(np.int64)), torch.from_numpy(y_val.astype(np.int64))
            d_out, loss_fn = int(self.classes_.size), torch.nn.functional.cross_entropy
        n = Xt.shape[0]
        bs = int(self.batch_size or (256 if n <= 20000 else 1024))
        max_epochs = int(self.max_epochs)
        patience = int(self.patience)
        max_steps = max(1, math.ceil(int(self.max_samples) / bs))
        results = []
        best = None
        t0 = time.perf_counter()
        for cfg in self._configs():
            r = self._train_one(cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps)
            results.append({**cfg, "val_loss": r["val_loss"], "epochs": r["epochs"], "best_epoch": r["best_epoch"],
                            "best_epoch_at_cap": r["best_epoch_at_cap"]})
            if best is None or r["val_loss"] < best[1]["val_loss"]:
                best = (cfg, r)
        self._model = best[1]["model"]
        self._model.eval()
        self.chosen_params_ = {**best[0], "best_epoch": best[1]["best_epoch"], "val_loss": best[1]["val_loss"],
                               "epochs": best[1]["epochs"], "best_epoch_at_cap": best[1]["best_epoch_at_cap"],
                               "batch_size": bs, "n_configs": len(results),
                               "search_seconds": round(time.perf_counter() - t0, 3)}
        self.search_results_ = results

    def _train_one(self, cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps):
        import torch

        # Seed init and dropout without disturbing the caller's global torch RNG state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self._train_seeded(cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps)

    def _train_seeded(self, cfg, Xt, yt, Xv, yv, d_out, loss_fn, bs, max_epochs, patience, max_steps):
        import torch

        gen = torch.Generator().manual_seed(self.seed)
        model = self._build(Xt.shape[1], d_out, cfg)
        kw = {"lr": float(cfg["lr"]), "weight_decay": float(cfg["weight_decay"])}
        try:  # the fused CPU kernel (torch >= 2.4) takes ~25 % less time per step than the for-loop version
            opt = torch.optim.AdamW(model.parameters(), fused=True, **kw)
        except (RuntimeError, TypeError):
            opt = torch.optim.AdamW(model.parameters(), **kw)
        n = Xt.shape[0]
        best_loss, best_state, best_epoch, bad, steps, epoch, at_cap = math.inf, None, 0, 0, 0, 0, False
        for epoch in range(1, max_epochs + 1):
            model.train()
            perm = torch.randperm(n, generator=gen)
            for s in range(0, n, bs):
                idx = perm[s : s + bs]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                steps += 1
            vl = self._eval_loss(model, Xv, yv, loss_fn)
            if vl < best_loss - 1e-7 * abs(best_loss) or best_state is None:
                best_loss, best_epoch, bad = vl, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
            if bad >= patience or not math.isfinite(vl):
                break
            if steps >= max_steps:
                at_cap = epoch < max_epochs  # stopped by the sample cap, not by max_epochs
                break
        model.load_state_dict(best_state)
        return {"model": model, "val_loss": float(best_loss), "epochs": epoch, "best_epoch": best_epoch,
                "best_epoch_at_cap": bool(at_cap and best_epoch >= epoch - 1)}

    @staticmethod
    def _eval_loss(model, Xv, yv, loss_fn) -> float:
        import torch

        model.eval()
        total, n = 0.0, Xv.shape[0]
        with torch.no_grad():
            for s in range(0, n, 8192):
                total += float(loss_fn(model(Xv[s : s + 8192]), yv[s : s + 8192], reduction="sum"))
        return total / n

    def _forward(self, X) -> np.ndarray:
        import torch

        Xt = torch.from_numpy(((X - self._mu) / self._sd).astype(np.float32))
        outs = []
        with torch.no_grad():
            for s in range(0, Xt.shape[0], 8192):
                o = self._model(Xt[s : s + 8192])
                if self.kind == "classification":
                    o = torch.softmax(o, dim=1)
                outs.append(o.numpy().astype(np.float64))
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
