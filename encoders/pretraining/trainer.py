"""Contrastive (location, image) pretraining shared by SatCLIP and CSP: the training loop.

Both models see the same pairs (:mod:`.pairs`) and the same image side: frozen teacher
features (or an end-to-end CNN) followed by a trainable linear projection to the embedding
size. Only the location tower and the loss differ (:mod:`.model`, :mod:`.losses`):

* ``satclip``: SH (L degrees, optional per-degree input scaling) -> SIREN; symmetric InfoNCE
  on L2-normalised embeddings with a learnable temperature (init 0.07), hard targets (the
  official recipe) or soft targets ``softmax(cos(teacher_i, teacher_j) / soft_tau)``.
* ``csp``: Space2Vec-grid -> FFN; CSP-MC-BLD ``contsoftmax`` loss: in-batch location->image
  softmax + a random-location negative term + a SimCSE term (two dropout views).

Optimiser AdamW (weight decay on matrices only), seeded and bit-reproducible for a fixed
thread count, a 90/10 train/validation split of the pairs, a resumable state file
(``last.ckpt``, written every epoch), optional linear probes after each epoch on the
validation part of the probe set (:mod:`.probes`, :mod:`.selection`: by default points drawn
off the benchmark and checked disjoint from it), MLflow logging (optional,
:class:`geobench.reporting.mlflow_run.MlflowRun`), and an official-format location-encoder
checkpoint plus a JSON record at the end (:mod:`.export`). Locations are (lon, lat) degrees.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geobench.cache import atomic_write_bytes
from geobench.errors import CheckpointError
from geobench.threads import limit_threads

from ..torchutil import load_torch_file
from .config import LEGACY_PROBE_SET, RESUME_FREE, PretrainConfig, config_dict
from .losses import clip_loss, csp_loss, soft_targets
from .model import build_model, location_input_dim, location_inputs, make_optimizer
from .pairs import PreparedPairs, prepare_pairs

if TYPE_CHECKING:
    import torch

log = logging.getLogger("geobench.pretrain")

STATE_FILE = "last.ckpt"
STATE_VERSION = 1
PRECOMPUTE_MAX = 50_000_000  # location-input floats kept in memory; more -> computed per batch
MLFLOW_EXPERIMENT = "geobench-pretrain"


class Trainer:
    """Runs one pretraining configuration; see :func:`pretrain`."""

    def __init__(self, cfg: PretrainConfig, pairs: PreparedPairs | None = None) -> None:
        import torch

        cfg.check()
        self.cfg = cfg
        self.pairs = pairs if pairs is not None else prepare_pairs(cfg)
        p = self.pairs
        n = p.lonlat.shape[0]
        d_in = location_input_dim(cfg)
        self.loc_inputs = location_inputs(cfg, p.lonlat) if n * d_in <= PRECOMPUTE_MAX else None
        feat_dim = p.feats.shape[1] if p.feats is not None else 0
        self.model = build_model(cfg, feat_dim)
        self.opt = make_optimizer(self.model, cfg)
        self.torch = torch
        self.epoch = 0
        self.step = 0
        self.history: list[dict] = []

    # -- batches -----------------------------------------------------------------
    def _loc(self, idx: np.ndarray):
        t = self.torch
        if self.loc_inputs is not None:
            return t.from_numpy(self.loc_inputs[idx])
        return t.from_numpy(location_inputs(self.cfg, self.pairs.lonlat[idx]))

    def _img(self, idx: np.ndarray, train: bool, gen=None):
        t = self.torch
        p = self.pairs
        if self.cfg.teacher == "cnn":
            x = t.from_numpy(p.images[idx]).float().div_(255.0)
            if train:  # random flips, seeded by the epoch generator
                fh = t.rand(x.shape[0], generator=gen) < 0.5
                fv = t.rand(x.shape[0], generator=gen) < 0.5
                x = t.where(fh[:, None, None, None], x.flip(3), x)
                x = t.where(fv[:, None, None, None], x.flip(2), x)
            return self.model.visual(x)
        return self.model.visual(t.from_numpy(p.feats[idx]))

    def _targets(self, idx: np.ndarray):
        if not self.cfg.soft_targets:
            return None
        return soft_targets(self.torch.from_numpy(self.pairs.feats[idx]), self.cfg.soft_tau)

    def _neg_inputs(self, b: int, gen):
        """Random area-uniform negative locations for CSP's negative-location term, drawn from the
        epoch's torch generator (interleaved with the shuffling) through the shared sampler."""
        from geobench.tasks.sampling import sphere_from_uniform

        t = self.torch
        u = t.rand(b, 2, generator=gen, dtype=t.float64).numpy()
        return t.from_numpy(location_inputs(self.cfg, sphere_from_uniform(u[:, 0], u[:, 1])))

    def batch_loss(self, idx: np.ndarray, train: bool, gen: torch.Generator) -> torch.Tensor:
        """Loss of the pairs ``idx`` (train: with the epoch generator's flips)."""
        xl = self._loc(idx)
        img = self._img(idx, train, gen)
        targets = self._targets(idx)
        if self.cfg.model == "satclip":
            return clip_loss(self.model.location(xl), img, self.model.logit_scale, targets)
        return csp_loss(self.model, xl, img, self._neg_inputs(len(idx), gen), self.cfg, targets)

    # -- epochs ------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> float:
        """One pass over the training pairs in seeded order; returns the mean batch loss."""
        t = self.torch
        cfg = self.cfg
        t.manual_seed(cfg.seed * 100_003 + epoch)  # dropout masks: a function of (seed, epoch) only
        gen = t.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        tr = self.pairs.train_idx
        order = tr[t.randperm(tr.size, generator=gen).numpy()]
        bs = min(cfg.batch_size, tr.size)
        n_batches = tr.size // bs  # drop the last partial batch (constant number of negatives)
        self.model.train()
        total = 0.0
        from tqdm.auto import tqdm

        bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=n_batches < 20 or not sys.stderr.isatty())
        max_log = math.log(cfg.max_logit_scale)
        for b in bar:
            idx = np.sort(order[b * bs : (b + 1) * bs])
            loss = self.batch_loss(idx, True, gen)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            with t.no_grad():
                self.model.logit_scale.clamp_(max=max_log)
            lv = loss.item()
            total += lv
            self.step += 1
            if b % 20 == 0:
                bar.set_postfix(loss=f"{lv:.3f}")
        return total / max(1, n_batches)

    def val_loss(self) -> float:
        """Mean loss over full validation batches (eval mode, fixed generator)."""
        t = self.torch
        cfg = self.cfg
        va = self.pairs.val_idx
        bs = min(cfg.batch_size, va.size)
        gen = t.Generator().manual_seed(cfg.seed + 7)
        self.model.eval()
        total, k = 0.0, 0
        with t.no_grad():
            for s in range(0, va.size - bs + 1, bs):
                total += self.batch_loss(va[s : s + bs], False, gen).item()
                k += 1
        return total / max(1, k)

    def embed(self, lonlat: np.ndarray) -> np.ndarray:
        """Eval-mode location embeddings (float32 compute) of (lon, lat) degrees."""
        t = self.torch
        self.model.eval()
        out = []
        with t.no_grad():
            for s in range(0, lonlat.shape[0], 65536):
                x = t.from_numpy(location_inputs(self.cfg, lonlat[s : s + 65536]))
                out.append(self.model.location(x).numpy())
        return np.concatenate(out).astype(np.float64)

    def probe(self, probe_set: str | None = None) -> dict[str, float]:
        """Validation linear probes of :meth:`embed` on ``cfg.probe_tasks`` of ``cfg.probe_set``
        (or on every task of another ``probe_set``)."""
        from .probes import linear_probe

        if probe_set is None or probe_set == self.cfg.probe_set:
            return linear_probe(self.embed, self.cfg.probe_tasks, probe_set=self.cfg.probe_set, on="val",
                                threads=self.cfg.threads)
        return linear_probe(self.embed, probe_set=probe_set, on="val", threads=self.cfg.threads)

    def probe_record(self) -> dict[str, float]:
        """History fields of the probes: ``probe_<task>``, ``probe_mean`` (the selection criterion)
        and, with ``cfg.report_probe_set``, ``report_probe_<task>``, ``report_probe_mean`` (reported
        only, never used to choose anything)."""
        pr = self.probe()
        rec = {f"probe_{k}": round(v, 5) for k, v in pr.items()}
        rec["probe_mean"] = round(float(np.mean(list(pr.values()))), 5)
        if self.cfg.report_probe_set:
            rp = self.probe(self.cfg.report_probe_set)
            rec.update({f"report_probe_{k}": round(v, 5) for k, v in rp.items()})
            rec["report_probe_mean"] = round(float(np.mean(list(rp.values()))), 5)
        return rec

    def tuned_on(self) -> dict | None:
        """The probe set's description (``tuned_on`` of the record; raises if the selection set
        shares a point with the benchmark) plus how many of its points are training locations."""
        if not self.cfg.probe:
            return None
        from .selection import coinciding, describe_probe_set, probe_lonlat_all

        d = describe_probe_set(self.cfg.probe_set)
        d["coinciding_with_training_locations"] = int(coinciding(probe_lonlat_all(self.cfg.probe_set),
                                                                 self.pairs.lonlat).sum())
        return d

    # -- state -------------------------------------------------------------------
    def state(self) -> dict:
        return {"version": STATE_VERSION, "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "epoch": self.epoch, "step": self.step, "history": json.dumps(self.history),
                "config": json.dumps(config_dict(self.cfg))}

    def save_state(self, path: Path) -> None:
        import io

        buf = io.BytesIO()
        self.torch.save(self.state(), buf)
        atomic_write_bytes(path, buf.getvalue())

    def load_state(self, path: Path) -> None:
        """Continue from a state file written by :meth:`save_state` with the same options
        (those in :data:`RESUME_FREE` may differ)."""
        st = load_torch_file(path, what="pretraining state", expected="a pretraining state",
                             fix="delete it to start over")
        try:
            saved = json.loads(st["config"])
            saved.setdefault("probe_set", LEGACY_PROBE_SET)
        except Exception as e:
            raise CheckpointError(f"cannot resume from {path}: {type(e).__name__}: {e}; delete it to start over") from e
        mine = config_dict(self.cfg)
        diff = {k: (saved.get(k), mine[k]) for k in mine if k not in RESUME_FREE and saved.get(k) != mine[k]}
        if diff:
            raise CheckpointError(f"cannot resume from {path}: it was trained with other options "
                                  f"{ {k: v[0] for k, v in diff.items()} } (now { {k: v[1] for k, v in diff.items()} }); "
                                  "use the same options, another --out, or delete the file")
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["optimizer"])
        self.epoch, self.step = int(st["epoch"]), int(st["step"])
        self.history = json.loads(st["history"])


def pretrain(cfg: PretrainConfig, *, pairs: PreparedPairs | None = None, verbose: bool = True) -> dict:
    """Train ``cfg`` (resuming from ``<out>/last.ckpt`` with ``cfg.resume``); returns the record.

    Writes ``<out>/last.ckpt`` every epoch, and at the end ``<out>/<export_name>.ckpt``
    (official format) and ``<out>/<export_name>.json`` (command, seed, wall time, losses,
    probes). ``pairs`` (from :func:`prepare_pairs`) can be passed to reuse loaded data.
    """
    import torch

    from .export import write_outputs

    cfg.check()
    t_start = time.perf_counter()
    with limit_threads(max(1, min(cfg.threads, os.cpu_count() or 1))):
        out = cfg.out_dir()
        out.mkdir(parents=True, exist_ok=True)
        trainer = Trainer(cfg, pairs)
        state_path = out / STATE_FILE
        if cfg.resume and state_path.is_file():
            trainer.load_state(state_path)
            if verbose:
                log.warning("resuming from %s at epoch %d", state_path, trainer.epoch)
        name = cfg.variant_name or out.name
        track = _tracking(cfg, name)
        try:
            tuned_on = trainer.tuned_on()  # checks the probe set before any training
            if cfg.probe and cfg.probe_initial and trainer.epoch == 0 and not trainer.history:
                # the untrained network: the same architecture's random control
                rec0 = {"epoch": 0, "val_loss": round(trainer.val_loss(), 6), **trainer.probe_record()}
                trainer.history.append(rec0)
                track.log(metrics={k: v for k, v in rec0.items() if k != "epoch"}, step=0)
                if verbose:
                    log.warning("%s epoch 0: %s", name, ", ".join(f"{k}={v}" for k, v in rec0.items() if k != "epoch"))
            while trainer.epoch < cfg.epochs:
                e = trainer.epoch
                t0 = time.perf_counter()
                tl = trainer.train_epoch(e)
                vl = trainer.val_loss()
                rec = {"epoch": e + 1, "train_loss": round(tl, 6), "val_loss": round(vl, 6),
                       "temperature": round(float(torch.exp(-trainer.model.logit_scale.detach())), 6),
                       "epoch_seconds": round(time.perf_counter() - t0, 2)}
                if cfg.probe and ((e + 1) % cfg.probe_every == 0 or e + 1 == cfg.epochs):
                    tp = time.perf_counter()
                    rec.update(trainer.probe_record())
                    rec["probe_seconds"] = round(time.perf_counter() - tp, 1)
                trainer.epoch = e + 1
                trainer.history.append(rec)
                trainer.save_state(state_path)
                track.log(metrics={k: v for k, v in rec.items() if k != "epoch"}, step=e + 1)
                if verbose:
                    log.warning("%s epoch %d: %s", name, e + 1,
                                ", ".join(f"{k}={v}" for k, v in rec.items() if k != "epoch"))
            record, json_path = write_outputs(trainer, out, name, time.perf_counter() - t_start, tuned_on)
            track.log(artifacts=[json_path])
            record["out"] = str(out)
            return record
        finally:
            track.close()


def _tracking(cfg: PretrainConfig, run_name: str):
    """The run's MLflow logger: ``cfg.tracking_uri``, default ``sqlite:///<cwd>/results/mlflow.db``."""
    from geobench.reporting.mlflow_run import MlflowRun, is_disabled, sqlite_uri

    if not cfg.tracking_uri and not is_disabled(cfg.tracking_uri):
        try:
            Path("results").mkdir(exist_ok=True)
        except OSError:
            pass  # MlflowRun warns and disables itself
    params = {k: v for k, v in config_dict(cfg).items() if k != "command"}
    return MlflowRun(cfg.tracking_uri, experiment=MLFLOW_EXPERIMENT, run_name=run_name,
                     default_uri=sqlite_uri("results"), params=params)


__all__ = ["Trainer", "pretrain", "STATE_FILE"]
