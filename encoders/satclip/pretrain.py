"""Contrastive (location, image) pretraining shared by SatCLIP and CSP.

Both models see the same pairs and the same image side: frozen teacher features (or an
end-to-end CNN) followed by a trainable linear projection to the embedding size. Only the
location tower and the loss differ:

* ``satclip``: SH (L degrees, optional per-degree input scaling) -> SIREN; symmetric InfoNCE
  on L2-normalised embeddings with a learnable temperature (init 0.07), hard targets (the
  official recipe) or soft targets ``softmax(cos(teacher_i, teacher_j) / soft_tau)``.
* ``csp``: Space2Vec-grid -> FFN; CSP-MC-BLD ``contsoftmax`` loss: in-batch location->image
  softmax + a random-location negative term + a SimCSE term (two dropout views).

Optimiser AdamW (weight decay on matrices only), seeded and bit-reproducible for a fixed
thread count, a 90/10 train/validation split of the pairs, a resumable state file
(``last.ckpt``, written every epoch), optional linear probes on the validation splits of
downstream tasks after each epoch, MLflow logging (optional), and an official-format
location-encoder checkpoint plus a JSON record at the end.
"""
from __future__ import annotations

import json
import logging
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geobench.errors import InputError

log = logging.getLogger("geobench.pretrain")

MODELS = ("satclip", "csp")
TEACHERS = ("rcf", "rcf-multiscale", "cnn", "resnet18")
STATE_FILE = "last.ckpt"
STATE_VERSION = 1
PRECOMPUTE_MAX = 50_000_000  # location-input floats kept in memory; more -> computed per batch


@dataclass
class PretrainConfig:
    """All options of ``geobench pretrain``. Defaults are the shipped SatCLIP configuration."""

    model: str = "satclip"
    L: int = 10
    n_pairs: int = 100_000
    epochs: int = 4
    batch_size: int = 512
    lr: float = 3e-5
    weight_decay: float = 0.01
    dropout: float | None = None  # None: 0.0 for satclip (shipped config), 0.5 for csp (CSP's default)
    soft_targets: bool = False
    soft_tau: float = 0.1
    teacher: str = "rcf"
    rcf_k: int = 256
    crop: int = 32
    jitter: int = 0
    flip: bool = False
    pca: int = 0
    degree_p: float | None = None
    hidden: int = 256
    layers: int = 2
    embed_dim: int = 256
    temperature: float = 0.07
    learn_temperature: bool = True
    max_logit_scale: float = 100.0
    val_frac: float = 0.1
    seed: int = 0
    data_seed: int = 1
    teacher_seed: int = 0
    land_mask: str = "auto"
    probe: bool = True
    probe_every: int = 1
    probe_initial: bool = False
    probe_tasks: tuple = ("air_temperature", "elevation", "population")
    out: str = ""
    resume: bool = False
    s2_root: str = ""
    vision_weights: str = ""
    tracking_uri: str = ""
    variant_name: str = ""
    threads: int = 2
    export_name: str = ""
    # CSP (Mai et al. 2023) location tower and loss
    csp_frequency_num: int = 32
    csp_min_radius: float = 0.1
    csp_max_radius: float = 360.0
    csp_hidden: int = 512
    csp_layers: int = 1
    csp_act: str = "gelu"
    csp_layernorm: bool = False
    csp_neg_weight: float = 1.0
    csp_simcse_weight: float = 1.0
    csp_temp_negloc: float = 1.0
    csp_temp_simcse: float = 1.0
    command: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.dropout is None:
            self.dropout = 0.5 if self.model == "csp" else 0.0

    def check(self) -> None:
        if self.model not in MODELS:
            raise InputError(f"unknown model {self.model!r}; use one of {MODELS}")
        if self.teacher not in TEACHERS:
            raise InputError(f"unknown teacher {self.teacher!r}; use one of {TEACHERS}")
        if self.teacher == "resnet18" and not (self.s2_root and self.vision_weights):
            raise InputError("--teacher resnet18 needs --s2-root and --vision-weights")
        if self.vision_weights and not self.s2_root:
            raise InputError("--vision-weights applies to Sentinel-2 tiles; pass --s2-root too")
        if self.s2_root and self.teacher in ("rcf-multiscale", "cnn"):
            raise InputError(f"--teacher {self.teacher} is for Blue Marble crops; with --s2-root use rcf or resnet18")
        for name in ("L", "n_pairs", "epochs", "batch_size", "rcf_k", "crop", "hidden", "layers", "embed_dim"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise InputError("--batch-size must be >= 2 (in-batch negatives)")
        if not 0 <= self.dropout < 1:
            raise InputError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.val_frac < 0.5:
            raise InputError(f"val_frac must be in (0, 0.5), got {self.val_frac}")
        if self.lr <= 0 or self.temperature <= 0 or self.soft_tau <= 0:
            raise InputError("--lr, --temperature and --soft-tau must be > 0")
        if self.pca < 0:
            raise InputError(f"--pca must be >= 0 (0 = off), got {self.pca}")

    def out_dir(self) -> Path:
        if self.out:
            return Path(self.out).expanduser()
        name = self.variant_name or (f"satclip-L{self.L}" if self.model == "satclip" else "csp")
        return Path("results") / "pretrain" / name


# --------------------------------------------------------------------------- pairs
@dataclass
class PreparedPairs:
    lonlat: np.ndarray  # (N, 2)
    feats: np.ndarray | None  # (N, D) processed frozen teacher features (z-scored / PCA-whitened)
    images: np.ndarray | None  # (N, C, s, s) uint8 for the end-to-end CNN
    train_idx: np.ndarray
    val_idx: np.ndarray
    meta: dict


def prepare_pairs(cfg: PretrainConfig) -> PreparedPairs:
    """Locations, teacher features (cached) and the seeded 90/10 split."""
    from .data import bmng_crops_uint8, bmng_teacher_features, imagery_sha256, s2_teacher_features, training_locations

    t0 = time.perf_counter()
    images = None
    if cfg.s2_root:
        teacher = "resnet18" if cfg.vision_weights else "rcf"
        lonlat, raw, meta = s2_teacher_features(cfg.s2_root, teacher=teacher, k=cfg.rcf_k, seed=cfg.teacher_seed,
                                                vision_weights=cfg.vision_weights or None, threads=cfg.threads)
        if cfg.n_pairs < lonlat.shape[0]:
            lonlat, raw = lonlat[: cfg.n_pairs], raw[: cfg.n_pairs]
    else:
        lonlat = training_locations(cfg.n_pairs, seed=cfg.data_seed, mask=cfg.land_mask)
        meta = {"source": "bmng", "imagery_sha256": imagery_sha256(), "land_mask": cfg.land_mask}
        rcf_teacher = "rcf" if cfg.teacher == "cnn" else cfg.teacher
        raw = None
        if cfg.teacher != "cnn" or cfg.soft_targets:
            raw, tmeta = bmng_teacher_features(lonlat, teacher=rcf_teacher, crop=cfg.crop, k=cfg.rcf_k,
                                               seed=cfg.teacher_seed, jitter_px=cfg.jitter, flip=cfg.flip,
                                               aug_seed=cfg.data_seed, threads=cfg.threads)
            meta["teacher"] = tmeta
        if cfg.teacher == "cnn":
            images = bmng_crops_uint8(lonlat, cfg.crop)
    n = lonlat.shape[0]
    if n < 3:
        raise InputError(f"only {n} pairs; contrastive pretraining needs at least 3 (2 train, 1 validation)")
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(n)
    n_val = min(n - 2, max(1, int(round(cfg.val_frac * n))))
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    feats = None
    if raw is not None:
        feats, nmeta = process_features(raw, train_idx, cfg.pca)
        meta["features"] = nmeta
    meta["teacher_seconds"] = round(time.perf_counter() - t0, 1)
    meta["n_pairs"], meta["n_train"], meta["n_val"] = int(n), int(train_idx.size), int(val_idx.size)
    return PreparedPairs(lonlat, feats, images, train_idx, val_idx, meta)


def process_features(raw: np.ndarray, train_idx: np.ndarray, pca: int = 0) -> tuple[np.ndarray, dict]:
    """Z-score teacher features with train statistics; ``pca > 0`` keeps that many
    PCA-whitened components (unit variance on train)."""
    x = np.asarray(raw, dtype=np.float64)
    mu = x[train_idx].mean(axis=0)
    sd = x[train_idx].std(axis=0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    z = (x - mu) / sd
    meta: dict[str, Any] = {"raw_dim": int(x.shape[1])}
    if pca:
        k = min(int(pca), z.shape[1])
        zt = z[train_idx]
        lam, vec = np.linalg.eigh(zt.T @ zt / zt.shape[0])
        order = np.argsort(lam)[::-1][:k]
        lam, vec = lam[order], vec[:, order]
        z = (z @ vec) / np.sqrt(np.maximum(lam, 1e-8))
        meta.update(pca=k, explained=float(lam.sum() / max(1e-12, np.trace(zt.T @ zt / zt.shape[0]))))
    meta["dim"] = int(z.shape[1])
    return np.ascontiguousarray(z, dtype=np.float32), meta


# --------------------------------------------------------------------------- model
def location_input_dim(cfg: PretrainConfig) -> int:
    return cfg.L * cfg.L if cfg.model == "satclip" else 4 * cfg.csp_frequency_num


def location_inputs(cfg: PretrainConfig, lonlat: np.ndarray) -> np.ndarray:
    """The fixed (parameter-free) input features of the location tower, float32."""
    if cfg.model == "satclip":
        from .model import sh_features

        return sh_features(lonlat, cfg.L, dtype=np.float32)
    from .towers import grid_input

    return grid_input(lonlat, cfg.csp_frequency_num, cfg.csp_min_radius, cfg.csp_max_radius)


def build_model(cfg: PretrainConfig, feat_dim: int):
    """The contrastive model: ``location`` tower, ``visual`` tower, ``logit_scale``."""
    import torch
    import torch.nn as nn

    from .model import REF_L, SHSirenLocationEncoder, degree_scale
    from .towers import GridFFNLocationEncoder
    from .vision import SmallCNN

    class ContrastiveModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if cfg.model == "satclip":
                scaled = cfg.degree_p is not None
                self.location = SHSirenLocationEncoder(
                    cfg.L, hidden=cfg.hidden, layers=cfg.layers, embed_dim=cfg.embed_dim, dropout=cfg.dropout,
                    seed=cfg.seed, input_scale=degree_scale(cfg.L, cfg.degree_p) if scaled else None,
                    first_bound=1.0 / REF_L**2 if scaled else None)
            else:
                self.location = GridFFNLocationEncoder(4 * cfg.csp_frequency_num, hidden=cfg.csp_hidden,
                                                       layers=cfg.csp_layers, embed_dim=cfg.embed_dim,
                                                       act=cfg.csp_act, dropout=cfg.dropout,
                                                       layernorm=cfg.csp_layernorm, seed=cfg.seed)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed + 1)
                if cfg.teacher == "cnn":
                    cnn = SmallCNN(3)
                    self.visual = nn.Sequential(cnn, nn.Linear(cnn.dim, cfg.embed_dim))
                else:
                    self.visual = nn.Linear(feat_dim, cfg.embed_dim)
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature)),
                                            requires_grad=cfg.learn_temperature)

    return ContrastiveModel()


def make_optimizer(model, cfg: PretrainConfig):
    """AdamW; weight decay only on weight matrices/kernels (ndim >= 2), as in SatCLIP."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


# --------------------------------------------------------------------------- losses
def soft_targets(teacher, tau: float = 0.1):
    """Row-stochastic targets ``softmax_j(cos(t_i, t_j) / tau)`` from (B, D) teacher features.

    Identical teacher features get identical target mass; the matrix is symmetric before
    the row softmax, so the same targets serve both directions of the symmetric loss.
    """
    import torch.nn.functional as F

    z = F.normalize(teacher.float(), dim=1)
    return F.softmax(z @ z.T / tau, dim=1)


def clip_loss(loc_emb, img_emb, logit_scale, targets=None):
    """Symmetric InfoNCE of L2-normalised embeddings; ``targets`` (B, B) rows are soft labels
    (None: the diagonal, i.e. hard targets)."""
    import torch
    import torch.nn.functional as F

    loc = F.normalize(loc_emb, dim=1)
    img = F.normalize(img_emb, dim=1)
    logits = logit_scale.exp() * loc @ img.T
    if targets is None:
        labels = torch.arange(logits.shape[0])
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    lp_l = F.log_softmax(logits, dim=1)
    lp_i = F.log_softmax(logits.T, dim=1)
    return 0.5 * (-(targets * lp_l).sum(1).mean() - (targets.T * lp_i).sum(1).mean())


def csp_loss(model, xl, img_emb, neg_xl, cfg: PretrainConfig, targets=None):
    """CSP-MC-BLD ``contsoftmax``: in-batch location->image softmax (temperature = the model's
    logit scale) + ``csp_neg_weight`` x softmax of the true location against a random location
    for each image (temperature ``csp_temp_negloc``) + ``csp_simcse_weight`` x SimCSE between two
    dropout views of the location embeddings (temperature ``csp_temp_simcse``)."""
    import torch
    import torch.nn.functional as F

    b = xl.shape[0]
    labels = torch.arange(b)
    loc = F.normalize(model.location(xl), dim=1)
    img = F.normalize(img_emb, dim=1)
    logits = model.logit_scale.exp() * loc @ img.T
    if targets is None:
        loss = F.cross_entropy(logits, labels)
    else:
        loss = -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()
    if cfg.csp_neg_weight:
        neg = F.normalize(model.location(neg_xl), dim=1)
        pair = torch.stack([(loc * img).sum(1), (neg * img).sum(1)], dim=1) / cfg.csp_temp_negloc
        loss = loss + cfg.csp_neg_weight * F.cross_entropy(pair, torch.zeros(b, dtype=torch.long))
    if cfg.csp_simcse_weight:
        loc2 = F.normalize(model.location(xl), dim=1)
        loss = loss + cfg.csp_simcse_weight * F.cross_entropy(loc @ loc2.T / cfg.csp_temp_simcse, labels)
    return loss


# --------------------------------------------------------------------------- tracking
class Tracking:
    """MLflow logging that never fails a run (disabled with uri 'none' or on any error)."""

    def __init__(self, uri: str, run_name: str, params: dict, out: Path) -> None:
        self.m = None
        if uri.lower() in ("none", "off", "false"):
            return
        try:
            logging.getLogger("mlflow").setLevel(logging.ERROR)
            logging.getLogger("alembic").setLevel(logging.ERROR)
            import mlflow

            mlflow.set_tracking_uri(uri or f"sqlite:///{(Path('results').resolve() / 'mlflow.db')}")
            if not uri:
                Path("results").mkdir(exist_ok=True)
            mlflow.set_experiment("geobench-pretrain")
            mlflow.start_run(run_name=run_name)
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            self.m = mlflow
        except Exception as e:
            warnings.warn(f"MLflow tracking disabled: {e}", stacklevel=2)
            self.m = None

    def log(self, metrics: dict, step: int) -> None:
        if self.m is None:
            return
        try:
            self.m.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))
                                and math.isfinite(float(v))}, step=step)
        except Exception as e:
            warnings.warn(f"MLflow logging failed: {e}", stacklevel=2)

    def artifact(self, path: Path) -> None:
        if self.m is None:
            return
        try:
            self.m.log_artifact(str(path))
        except Exception:
            pass

    def end(self) -> None:
        if self.m is not None:
            try:
                self.m.end_run()
            except Exception:
                pass


# --------------------------------------------------------------------------- training
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
        """Random area-uniform negative locations for CSP's negative-location term."""
        t = self.torch
        u = t.rand(b, 2, generator=gen, dtype=t.float64).numpy()
        lon = u[:, 0] * 360.0 - 180.0
        lat = np.degrees(np.arcsin(np.clip(2.0 * u[:, 1] - 1.0, -1.0, 1.0)))
        return t.from_numpy(location_inputs(self.cfg, np.column_stack([lon, lat])))

    def batch_loss(self, idx: np.ndarray, train: bool, gen):
        xl = self._loc(idx)
        img = self._img(idx, train, gen)
        targets = self._targets(idx)
        if self.cfg.model == "satclip":
            return clip_loss(self.model.location(xl), img, self.model.logit_scale, targets)
        return csp_loss(self.model, xl, img, self._neg_inputs(len(idx), gen), self.cfg, targets)

    # -- epochs ------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> float:
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

    def probe(self) -> dict[str, float]:
        from .probe import linear_probe

        return linear_probe(self.embed, self.cfg.probe_tasks, on="val", threads=self.cfg.threads)

    # -- state -------------------------------------------------------------------
    def state(self) -> dict:
        return {"version": STATE_VERSION, "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "epoch": self.epoch, "step": self.step, "history": json.dumps(self.history),
                "config": json.dumps(config_dict(self.cfg))}

    def save_state(self, path: Path) -> None:
        import io

        from geobench.cache import atomic_write_bytes

        buf = io.BytesIO()
        self.torch.save(self.state(), buf)
        atomic_write_bytes(path, buf.getvalue())

    def load_state(self, path: Path) -> None:
        from geobench.errors import CheckpointError

        try:
            st = self.torch.load(path, map_location="cpu", weights_only=True)
            saved = json.loads(st["config"])
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


RESUME_FREE = {"epochs", "resume", "tracking_uri", "out", "command", "probe", "probe_every", "probe_initial",
               "export_name", "variant_name", "threads"}


def config_dict(cfg: PretrainConfig) -> dict:
    d = asdict(cfg)
    d["probe_tasks"] = list(cfg.probe_tasks)
    return d


def export_checkpoint(trainer: Trainer, path: Path, record: dict) -> str:
    """Write the trained location tower as an official-format checkpoint (float32)."""
    import torch

    from .checkpoint import official_hparams, save_checkpoint

    cfg = trainer.cfg
    m = trainer.model
    extra = {"logit_scale": m.logit_scale.detach().float().clone()}
    if cfg.model == "satclip":
        hp = official_hparams(cfg.L, num_layers=cfg.layers, capacity=cfg.hidden, embed_dim=cfg.embed_dim,
                              learning_rate=cfg.lr, weight_decay=cfg.weight_decay)
        return save_checkpoint(path, m.location.official_state(), hp, epoch=trainer.epoch,
                               global_step=trainer.step, extra_state=extra, record=record)
    from geobench.encoders.csp import csp_hparams

    hp = csp_hparams(cfg)
    state = {k: v.detach().to(torch.float32).clone() for k, v in m.location.state_dict().items()}
    return save_checkpoint(path, state, hp, epoch=trainer.epoch, global_step=trainer.step, extra_state=extra,
                           record=record, prefix="model.location.")


def pretrain(cfg: PretrainConfig, *, pairs: PreparedPairs | None = None, verbose: bool = True) -> dict:
    """Train ``cfg`` (resuming from ``<out>/last.ckpt`` with ``cfg.resume``); returns the record.

    Writes ``<out>/last.ckpt`` every epoch, and at the end ``<out>/<export_name>.ckpt``
    (official format) and ``<out>/<export_name>.json`` (command, seed, wall time, losses,
    probes). ``pairs`` (from :func:`prepare_pairs`) can be passed to reuse loaded data.
    """
    import torch

    from .checkpoint import sha256_file

    cfg.check()
    t_start = time.perf_counter()
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, min(cfg.threads, os.cpu_count() or 1)))
    try:
        out = cfg.out_dir()
        out.mkdir(parents=True, exist_ok=True)
        trainer = Trainer(cfg, pairs)
        state_path = out / STATE_FILE
        if cfg.resume and state_path.is_file():
            trainer.load_state(state_path)
            if verbose:
                log.warning("resuming from %s at epoch %d", state_path, trainer.epoch)
        name = cfg.variant_name or out.name
        track = Tracking(cfg.tracking_uri, name, {k: v for k, v in config_dict(cfg).items() if k != "command"}, out)
        try:
            if cfg.probe and cfg.probe_initial and trainer.epoch == 0 and not trainer.history:
                pr = trainer.probe()  # the untrained network: the same architecture's random control
                rec0 = {"epoch": 0, "val_loss": round(trainer.val_loss(), 6),
                        **{f"probe_{k}": round(v, 5) for k, v in pr.items()},
                        "probe_mean": round(float(np.mean(list(pr.values()))), 5)}
                trainer.history.append(rec0)
                track.log({k: v for k, v in rec0.items() if k != "epoch"}, step=0)
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
                    pr = trainer.probe()
                    rec.update({f"probe_{k}": round(v, 5) for k, v in pr.items()})
                    rec["probe_mean"] = round(float(np.mean(list(pr.values()))), 5)
                    rec["probe_seconds"] = round(time.perf_counter() - tp, 1)
                trainer.epoch = e + 1
                trainer.history.append(rec)
                trainer.save_state(state_path)
                track.log({k: v for k, v in rec.items() if k != "epoch"}, step=e + 1)
                if verbose:
                    log.warning("%s epoch %d: %s", name, e + 1,
                                ", ".join(f"{k}={v}" for k, v in rec.items() if k != "epoch"))
            wall = time.perf_counter() - t_start
            export = cfg.export_name or (f"satclip_L{cfg.L}" if cfg.model == "satclip" else "csp")
            ck_path = out / f"{export}.ckpt"
            last = trainer.history[-1] if trainer.history else {}
            record = {
                "model": cfg.model, "variant": name, "command": cfg.command, "seed": cfg.seed,
                "data_seed": cfg.data_seed, "config": config_dict(cfg), "wall_seconds": round(wall, 3),
                "teacher_seconds": trainer.pairs.meta.get("teacher_seconds"), "epochs": trainer.epoch,
                "val_loss": last.get("val_loss"), "train_loss": last.get("train_loss"),
                "temperature": last.get("temperature"),
                "probes_val": {k[6:]: v for k, v in last.items() if k.startswith("probe_") and k[6:] in cfg.probe_tasks},
                "history": trainer.history, "data": _jsonable(trainer.pairs.meta),
                "platform": {"python": platform.python_version(), "torch": torch.__version__,
                             "threads": torch.get_num_threads(), "machine": platform.machine()},
            }
            export_checkpoint(trainer, ck_path, {k: record[k] for k in ("model", "variant", "command", "seed",
                                                                        "data_seed", "epochs", "val_loss")})
            record["checkpoint"] = ck_path.name
            record["checkpoint_sha256"] = sha256_file(ck_path)
            record["checkpoint_bytes"] = ck_path.stat().st_size
            from geobench.cache import atomic_write_json

            atomic_write_json(out / f"{export}.json", record)
            track.artifact(out / f"{export}.json")
            record["out"] = str(out)
            return record
        finally:
            track.end()
    finally:
        torch.set_num_threads(prev_threads)


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


__all__ = ["PretrainConfig", "PreparedPairs", "prepare_pairs", "process_features", "build_model", "pretrain",
           "Trainer", "soft_targets", "clip_loss", "csp_loss", "location_inputs", "export_checkpoint"]
