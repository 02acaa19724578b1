"""Location towers other than SH + SIREN: CSP's Space2Vec-grid + feed-forward network.

CSP (Mai et al. 2023, github.com/gengchenmai/csp) encodes a location with Space2Vec ``grid``
(``frequency_num`` sinusoid scales of lon and lat in degrees, radii from ``min_radius`` to
``max_radius``; the fMoW/iNat scripts use 32, 0.1 and 360) followed by its
``MultiLayerFeedForwardNN``: ``num_hidden_layers`` layers ``Linear -> activation -> dropout
(-> LayerNorm)`` of width ``hidden`` and an output layer ``Linear -> activation -> dropout``
to ``embed_dim`` (upstream applies the activation and dropout on the output layer too).
Weights are Xavier-uniform as upstream. The grid features come from the one implementation,
:func:`geobench.baselines.space2vec.grid_features`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from geobench.errors import InputError

ACTIVATIONS = ("gelu", "relu", "leakyrelu", "tanh", "sigmoid")


def activation(name: str) -> nn.Module:
    if name == "gelu":
        return nn.GELU()
    if name == "relu":
        return nn.ReLU()
    if name == "leakyrelu":
        return nn.LeakyReLU(0.2)
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    raise InputError(f"unknown activation {name!r}; use one of {ACTIVATIONS}")


def grid_input(lonlat: np.ndarray, frequency_num: int = 32, min_radius: float = 0.1,
               max_radius: float = 360.0, dtype=np.float32) -> np.ndarray:
    """Space2Vec-grid features (N, 4 * frequency_num) of (lon, lat) degrees (CSP's input)."""
    from geobench.baselines.space2vec import grid_features, scales

    return grid_features(np.asarray(lonlat, dtype=np.float64), scales(frequency_num, min_radius, max_radius)).astype(dtype)


class FFNLayer(nn.Module):
    def __init__(self, din: int, dout: int, act: str, dropout: float, layernorm: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(din, dout)
        nn.init.xavier_uniform_(self.linear.weight)
        self.act = activation(act)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.layernorm = nn.LayerNorm(dout) if layernorm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.linear(x))
        if self.dropout is not None:
            x = self.dropout(x)
        if self.layernorm is not None:
            x = self.layernorm(x)
        return x


class GridFFNLocationEncoder(nn.Module):
    """CSP location tower on precomputed grid features (N, 4S): FFN -> ``embed_dim``."""

    def __init__(self, in_dim: int, *, hidden: int = 512, layers: int = 1, embed_dim: int = 256,
                 act: str = "gelu", dropout: float = 0.5, layernorm: bool = False, seed: int = 0) -> None:
        super().__init__()
        if layers < 0:
            raise InputError(f"CSP FFN needs layers >= 0 hidden layers, got {layers}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            dims = [in_dim] + [hidden] * layers + [embed_dim]
            self.layers = nn.ModuleList(
                FFNLayer(dims[i], dims[i + 1], act, dropout, layernorm and i < len(dims) - 2)
                for i in range(len(dims) - 1))
        self.in_dim, self.embed_dim = in_dim, embed_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


__all__ = ["GridFFNLocationEncoder", "grid_input", "activation", "ACTIVATIONS"]
