"""End of a pretraining run: the trained location tower as an official-format checkpoint
(float32, :func:`geobench.encoders.satclip.checkpoint.save_checkpoint`) and the JSON record
next to it (command, seeds, options, wall time, losses, validation probes, the probe set they
were computed on as ``tuned_on``, data provenance, checkpoint sha256).
"""
from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import config_dict

if TYPE_CHECKING:
    from .trainer import Trainer

# record fields also stored inside the checkpoint (under its ``geobench`` key)
CHECKPOINT_FIELDS = ("model", "variant", "command", "seed", "data_seed", "epochs", "val_loss")


def export_checkpoint(trainer: Trainer, path: Path, record: dict) -> str:
    """Write the trained location tower as an official-format checkpoint (float32); returns its sha256."""
    import torch

    from geobench.encoders.satclip.checkpoint import official_hparams, save_checkpoint

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


def write_outputs(trainer: Trainer, out: Path, variant: str, wall_seconds: float,
                  tuned_on: dict | None = None) -> tuple[dict[str, Any], Path]:
    """Write ``<out>/<stem>.ckpt`` and ``<out>/<stem>.json``; returns (record, JSON path).
    ``tuned_on``: the description of the probe set whose scores choose variants and epochs
    (:func:`.selection.describe_probe_set`; None without probes)."""
    import torch

    from geobench.cache import atomic_write_json, sha256_file

    cfg = trainer.cfg
    stem = cfg.export_stem()
    ck_path = out / f"{stem}.ckpt"
    last = trainer.history[-1] if trainer.history else {}
    record = {
        "model": cfg.model, "variant": variant, "command": cfg.command, "seed": cfg.seed,
        "data_seed": cfg.data_seed, "config": config_dict(cfg), "wall_seconds": round(wall_seconds, 3),
        "teacher_seconds": trainer.pairs.meta.get("teacher_seconds"), "epochs": trainer.epoch,
        "val_loss": last.get("val_loss"), "train_loss": last.get("train_loss"),
        "temperature": last.get("temperature"),
        "probes_val": {k[6:]: v for k, v in last.items() if k.startswith("probe_") and k[6:] in cfg.probe_tasks},
        "tuned_on": tuned_on,
        "history": trainer.history, "data": _jsonable(trainer.pairs.meta),
        "platform": {"python": platform.python_version(), "torch": torch.__version__,
                     "threads": torch.get_num_threads(), "machine": platform.machine()},
    }
    export_checkpoint(trainer, ck_path, {k: record[k] for k in CHECKPOINT_FIELDS})
    record["checkpoint"] = ck_path.name
    record["checkpoint_sha256"] = sha256_file(ck_path)
    record["checkpoint_bytes"] = ck_path.stat().st_size
    json_path = out / f"{stem}.json"
    atomic_write_json(json_path, record)
    return record, json_path


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


__all__ = ["export_checkpoint", "write_outputs"]
