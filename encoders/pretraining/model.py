"""The contrastive model: location-tower inputs, the two towers, the learnable temperature,
and the optimiser.

Location inputs are parameter-free features of (lon, lat) degrees, float32: SatCLIP's
spherical harmonics (L**2 columns) or CSP's Space2Vec-grid (4 x ``csp_frequency_num``).
The image tower is a linear projection of frozen teacher features, or a small CNN
trained end to end (``teacher="cnn"``).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .config import PretrainConfig

if TYPE_CHECKING:
    import torch


def location_input_dim(cfg: PretrainConfig) -> int:
    """Columns of :func:`location_inputs`: L**2 (satclip) or 4 x csp_frequency_num (csp)."""
    return cfg.L * cfg.L if cfg.model == "satclip" else 4 * cfg.csp_frequency_num


def location_inputs(cfg: PretrainConfig, lonlat: np.ndarray) -> np.ndarray:
    """The fixed (parameter-free) input features (N, location_input_dim) float32 of the
    location tower at (N, 2) (lon, lat) degrees."""
    if cfg.model == "satclip":
        from geobench.encoders.satclip.model import sh_features

        return sh_features(lonlat, cfg.L, dtype=np.float32)
    from geobench.encoders.satclip.towers import grid_input

    return grid_input(lonlat, cfg.csp_frequency_num, cfg.csp_min_radius, cfg.csp_max_radius)


def build_model(cfg: PretrainConfig, feat_dim: int) -> torch.nn.Module:
    """The contrastive model: ``location`` tower, ``visual`` tower, ``logit_scale``."""
    import torch
    import torch.nn as nn

    from geobench.encoders.satclip.model import REF_L, SHSirenLocationEncoder, degree_scale
    from geobench.encoders.satclip.towers import GridFFNLocationEncoder
    from geobench.encoders.satclip.vision import SmallCNN

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


def make_optimizer(model: torch.nn.Module, cfg: PretrainConfig) -> torch.optim.Optimizer:
    """AdamW; weight decay only on weight matrices/kernels (ndim >= 2), as in SatCLIP."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


__all__ = ["build_model", "make_optimizer", "location_inputs", "location_input_dim"]
