"""SatCLIP's location network: spherical harmonics (SH) -> SIREN, in plain torch.

The SIREN follows the official ``SirenNet`` (microsoft/satclip ``satclip/location_encoder.py``):
``num_layers`` hidden layers ``h = sin(w0 * dropout(W h + b))`` with ``w0 = 30`` on the first
layer and ``w0 = 1`` after it, then a linear ``last_layer`` (identity activation). Dropout
(p = 0.5 in the official code, active only in training) acts on the hidden pre-activations.
Initialisation matches upstream draw for draw: for each layer in order, ``weight`` then
``bias`` are drawn ``uniform(-b, b)`` in float32 with ``b = 1 / dim_in`` for the first layer
and ``b = sqrt(6 / dim_in) / w0`` for the others. Parameter names are upstream's
(``layers.{i}.weight``, ``layers.{i}.bias``, ``last_layer.weight``, ``last_layer.bias``).

SH features come from the one SH implementation, :func:`geobench.baselines.sh.spherical_harmonics`
(``convention="satclip"``: identical to the official analytic encoder to 1e-12 at L = 10).
Official checkpoints trained with ``harmonics_calculation="closed-form"`` are supported by
the exact relation ``closed_form = analytic / pi`` (m = 0) and ``analytic * (-1)**m`` (m != 0).
``sh="official"`` instead reproduces the official analytic expressions bit for bit
(:mod:`.official_sh`), cancellation errors at high degree included.

This module imports torch; the registry (``register.py``) imports it only when an encoder
is built.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..torchutil import torch_threads

W0_INITIAL = 30.0
W0 = 1.0
SIREN_C = 6.0


class SirenLayer(nn.Module):
    """``act(dropout(W x + b))`` with ``act = sin(w0 * .)`` (hidden) or identity (last layer)."""

    def __init__(self, dim_in: int, dim_out: int, *, w0: float, is_first: bool, last: bool = False,
                 dropout: float = 0.0, generator: torch.Generator | None = None,
                 bound: float | None = None) -> None:
        super().__init__()
        self.w0, self.last, self.p = float(w0), bool(last), float(dropout)
        if bound is None:
            bound = (1.0 / dim_in) if is_first else (math.sqrt(SIREN_C / dim_in) / w0)
        weight = torch.zeros(dim_out, dim_in).uniform_(-bound, bound, generator=generator)
        bias = torch.zeros(dim_out).uniform_(-bound, bound, generator=generator)
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        if self.last:
            return out
        if self.p > 0 and self.training:
            out = F.dropout(out, p=self.p, training=True)
        return torch.sin(self.w0 * out)


class SirenNet(nn.Module):
    """Official-architecture SIREN: ``num_layers`` sine layers of width ``dim_hidden``, then a
    linear layer to ``dim_out``. ``seed`` fixes the initialisation (upstream draw order).
    ``first_bound`` overrides the first layer's init bound (official: ``1 / dim_in``)."""

    def __init__(self, dim_in: int, dim_hidden: int = 256, dim_out: int = 256, num_layers: int = 2, *,
                 dropout: float = 0.0, seed: int | None = 0, w0: float = W0,
                 w0_initial: float = W0_INITIAL, first_bound: float | None = None) -> None:
        super().__init__()
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        self.dim_in, self.dim_hidden, self.dim_out, self.num_layers = dim_in, dim_hidden, dim_out, num_layers
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            self.layers.append(SirenLayer(dim_in if i == 0 else dim_hidden, dim_hidden,
                                          w0=w0_initial if i == 0 else w0, is_first=i == 0,
                                          dropout=dropout, generator=gen,
                                          bound=first_bound if i == 0 else None))
        self.last_layer = SirenLayer(dim_hidden, dim_out, w0=w0, is_first=False, last=True, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.last_layer(x)


def degree_of_column(L: int) -> np.ndarray:
    """Degree ``l`` of each of the ``L**2`` SH columns (column ``l**2 + l + m``)."""
    return np.repeat(np.arange(L), 2 * np.arange(L) + 1)


def order_of_column(L: int) -> np.ndarray:
    """Order ``m`` of each of the ``L**2`` SH columns."""
    return np.concatenate([np.arange(-l, l + 1) for l in range(L)])


def closed_form_factor(L: int) -> np.ndarray:
    """Per-column factor turning geobench's ``satclip`` SH into upstream's ``closed-form`` SH."""
    m = order_of_column(L)
    return np.where(m == 0, 1.0 / math.pi, np.where(m % 2 == 0, 1.0, -1.0))


REF_L = 10  # the per-degree design keeps the first layer at the scale of an L = 10 network


def degree_scale(L: int, p: float, ref_L: int = REF_L) -> np.ndarray:
    """Per-column input scale ``g * (1 + l) ** -p`` for SH features of degrees ``l < L``.

    ``g`` makes the scaled features' expected squared norm equal to that of ``ref_L`` unscaled
    degrees: ``g**2 = sum_{l<ref_L} (2l+1) / sum_{l<L} (2l+1)(1+l)**(-2p)``. Used with a first
    layer initialised as for ``ref_L**2`` inputs (``U(+-1/ref_L**2)``), so that at L = 40 the
    first layer's pre-activations *and* its Adam step size relative to its weights are those
    of an L = 10 network, while ``p > 0`` lets low degrees dominate. The scale is folded into
    the first layer's weights when a checkpoint is written (official format).
    """
    l = np.arange(L, dtype=np.float64)
    w = (1.0 + l) ** (-float(p))
    g = math.sqrt(float(ref_L) ** 2 / np.sum((2 * l + 1) * w**2))
    return g * np.repeat(w, 2 * np.arange(L) + 1)


SH_MODES = ("exact", "official")


def sh_features(lonlat: np.ndarray, L: int, *, harmonics_calculation: str = "analytic",
                dtype=np.float64, sh: str = "exact") -> np.ndarray:
    """(N, L**2) SH features of (lon, lat) degrees as the official SatCLIP encoder computes them.

    ``sh="exact"`` (default) is the exact function (geobench's recurrence); ``sh="official"``
    reproduces the official analytic expressions bit for bit, including their cancellation
    errors at high degree (:mod:`.official_sh`). The official closed form is exact to 5e-11,
    so for ``harmonics_calculation="closed-form"`` both modes use the recurrence.
    """
    from geobench.baselines.sh import spherical_harmonics

    if sh not in SH_MODES:
        raise ValueError(f"sh must be one of {SH_MODES}, got {sh!r}")
    if sh == "official" and harmonics_calculation == "analytic":
        from .official_sh import official_sh

        return official_sh(lonlat, L).astype(dtype, copy=False)
    out = spherical_harmonics(lonlat, L, convention="satclip", dtype=dtype)
    if harmonics_calculation == "closed-form":
        out *= closed_form_factor(L).astype(out.dtype)
    return out


class SHSirenLocationEncoder(nn.Module):
    """Location tower for pretraining: SH features (precomputed, (N, L**2)) -> input scale -> SIREN.

    ``input_scale`` (a buffer, default ones) is the per-degree scaling of the L = 40 design;
    ``first_bound`` its first-layer init bound. :meth:`official_state` folds the scale into
    ``layers.0.weight`` and returns upstream's keys.
    """

    def __init__(self, L: int, *, hidden: int = 256, layers: int = 2, embed_dim: int = 256,
                 dropout: float = 0.0, seed: int = 0, input_scale: np.ndarray | None = None,
                 first_bound: float | None = None) -> None:
        super().__init__()
        self.L = int(L)
        self.nnet = SirenNet(L * L, hidden, embed_dim, layers, dropout=dropout, seed=seed, first_bound=first_bound)
        scale = np.ones(L * L) if input_scale is None else np.asarray(input_scale, dtype=np.float64)
        self.register_buffer("input_scale", torch.from_numpy(scale.astype(np.float32)))

    def forward(self, sh: torch.Tensor) -> torch.Tensor:
        return self.nnet(sh * self.input_scale.to(sh.dtype))

    def official_state(self) -> dict[str, torch.Tensor]:
        """``nnet.*`` weights with the input scale folded in (``W diag(s)``), float32, detached."""
        sd = {k: v.detach().clone().float() for k, v in self.nnet.state_dict().items()}
        sd["layers.0.weight"] = sd["layers.0.weight"] * self.input_scale.detach().float()[None, :]
        return sd


def forward_siren_state(x: torch.Tensor, state: dict[str, torch.Tensor], num_layers: int) -> torch.Tensor:
    """Eval-mode SIREN forward from a plain ``layers.{i}.*`` / ``last_layer.*`` state dict."""
    for i in range(num_layers):
        w0 = W0_INITIAL if i == 0 else W0
        x = torch.sin(w0 * F.linear(x, state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]))
    return F.linear(x, state["last_layer.weight"], state["last_layer.bias"])


def siren_encode_fn(state: dict, num_layers: int, L: int, *, harmonics_calculation: str = "analytic",
                    dtype: str = "float64", threads: int = 2, sh: str = "exact", device: str = "cpu"):
    """A function ``(n, 2) lon/lat degrees -> (n, embed_dim)`` for :class:`geobench.encoding.ArrayEncoder`.

    Computes in float64 (weights cast up; float32 on ``mps``, which has no float64) with
    ``no_grad`` and at most ``threads`` torch threads on torch ``device``, then casts to
    ``dtype``. ``sh``: see :func:`sh_features`.
    """
    from geobench.devices import torch_device, work_dtype

    dev = torch_device(device)
    work = work_dtype(device)
    st = {k: v.detach().to(device=dev, dtype=work) for k, v in state.items()}
    out_dt = np.dtype(dtype)

    def fn(x: np.ndarray) -> np.ndarray:
        feats = torch.from_numpy(sh_features(x, L, harmonics_calculation=harmonics_calculation, sh=sh))
        with torch.no_grad(), torch_threads(threads):
            emb = forward_siren_state(feats.to(device=dev, dtype=work), st, num_layers)
        return emb.cpu().numpy().astype(out_dt, copy=False)

    return fn


__all__ = ["SirenNet", "SirenLayer", "SHSirenLocationEncoder", "forward_siren_state", "sh_features", "SH_MODES",
           "degree_scale", "REF_L", "degree_of_column", "order_of_column", "closed_form_factor", "siren_encode_fn"]
