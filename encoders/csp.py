"""CSP (Mai et al. 2023): Space2Vec-grid + feed-forward location encoder, contrastively pretrained.

Registers ``csp`` (kind ``trained-in-repo``). The shipped checkpoint
(``geobench/encoders/checkpoints/csp.ckpt``) was trained by
``geobench pretrain csp --lr 3e-4 --epochs 8`` with the shared pretraining code on exactly the
(location, image) pairs and image side (frozen RCF teacher + linear projection) of the
shipped SatCLIP L=10 configuration. The location tower differs (Space2Vec-grid, 32 scales
from 0.1 to 360 degrees, FFN with one hidden layer of 512, GELU, dropout 0.5, as in CSP's
fMoW script), and so does the loss (CSP-MC-BLD ``contsoftmax``). Its learning rate and
epochs were chosen by the same validation probes (the probe set is ``tuned_on`` in
``csp.json``). See ``docs/pretraining.md``.

Checkpoint format: the Lightning-style dict of SatCLIP checkpoints with the tower under
``model.location.`` (``layers.{i}.linear.weight/bias``, optional ``layers.{i}.layernorm.*``)
and ``hyper_parameters`` ``le_type="space2vec-grid"``, ``pe_type="csp-ffn"``,
``frequency_num``, ``min_radius``, ``max_radius``, ``capacity`` (hidden width),
``num_hidden_layers``, ``embed_dim``, ``activation``, ``layernorm``. Read with
:func:`geobench.encoders.torchutil.load_torch_file` (``weights_only=True``); problems raise
CheckpointError.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from geobench.cache import sha256_file
from geobench.devices import device_meta
from geobench.encoding import ArrayEncoder, register_encoder
from geobench.errors import CheckpointError, InputError

from .satclip.register import BLUE_MARBLE, shipped_tuned_on_tasks, tuned_on_meta
from .torchutil import load_torch_file, torch_threads

CSP_CITATION = ("Mai, G., Lao, N., He, Y., Song, J., Ermon, S. (2023). CSP: Self-Supervised Contrastive Spatial "
                "Pre-Training for Geospatial-Visual Representations. ICML.")
CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "csp.ckpt"
PREFIX = "model.location."


def csp_hparams(cfg) -> dict:
    """``hyper_parameters`` of a CSP checkpoint from a :class:`~geobench.encoders.pretraining.config.CSPConfig`."""
    return {"le_type": "space2vec-grid", "pe_type": "csp-ffn", "frequency_num": int(cfg.csp_frequency_num),
            "min_radius": float(cfg.csp_min_radius), "max_radius": float(cfg.csp_max_radius),
            "capacity": int(cfg.csp_hidden), "num_hidden_layers": int(cfg.csp_layers),
            "embed_dim": int(cfg.embed_dim), "activation": cfg.csp_act, "layernorm": bool(cfg.csp_layernorm),
            "dropout": float(cfg.dropout), "learning_rate": float(cfg.lr), "weight_decay": float(cfg.weight_decay)}


def load_csp_checkpoint(path: str | Path) -> tuple[dict, dict, str]:
    """(hparams, tower state with ``model.location.`` stripped, sha256) of a CSP checkpoint."""
    path = Path(path).expanduser()
    ck = load_torch_file(path, what="CSP checkpoint", missing_fix="train one with `geobench pretrain csp`",
                         fix="train it again with `geobench pretrain csp` or pass another ckpt=PATH")
    if not isinstance(ck, dict) or not isinstance(ck.get("state_dict"), dict) or not isinstance(ck.get("hyper_parameters"), dict):
        raise CheckpointError(f"CSP checkpoint {path}: expected a dict with 'state_dict' and 'hyper_parameters'")
    hp = ck["hyper_parameters"]
    need = ("le_type", "pe_type", "frequency_num", "min_radius", "max_radius", "capacity", "num_hidden_layers",
            "embed_dim", "activation", "layernorm")
    if hp.get("le_type") != "space2vec-grid" or hp.get("pe_type") != "csp-ffn":
        raise CheckpointError(f"CSP checkpoint {path}: le_type/pe_type {hp.get('le_type')!r}/{hp.get('pe_type')!r} "
                              "are not 'space2vec-grid'/'csp-ffn' (a SatCLIP checkpoint? use satclip:ckpt=...)")
    missing = [k for k in need if k not in hp]
    if missing:
        raise CheckpointError(f"CSP checkpoint {path}: hyper_parameters lack {missing}")
    state = {k[len(PREFIX):]: v for k, v in ck["state_dict"].items() if str(k).startswith(PREFIX)}
    S, hid, nl, emb = int(hp["frequency_num"]), int(hp["capacity"]), int(hp["num_hidden_layers"]), int(hp["embed_dim"])
    dims = [4 * S] + [hid] * nl + [emb]
    for i in range(len(dims) - 1):
        for k, shape in ((f"layers.{i}.linear.weight", (dims[i + 1], dims[i])), (f"layers.{i}.linear.bias", (dims[i + 1],))):
            v = state.get(k)
            if v is None:
                raise CheckpointError(f"CSP checkpoint {path}: state_dict lacks {PREFIX + k}")
            if tuple(v.shape) != shape:
                raise CheckpointError(f"CSP checkpoint {path}: {PREFIX + k} has shape {tuple(v.shape)}, expected {shape}")
    return dict(hp), state, sha256_file(path)


def csp_encode_fn(hp: dict, state: dict, dtype: str = "float64", threads: int = 2, device: str = "cpu"):
    """``(n, 2) lon/lat degrees -> (n, embed_dim)``: grid features -> FFN, eval mode, float64
    (float32 on ``mps``), on torch ``device``."""
    import torch

    from geobench.devices import torch_device, work_dtype

    from .satclip.towers import GridFFNLocationEncoder, grid_input

    net = GridFFNLocationEncoder(4 * int(hp["frequency_num"]), hidden=int(hp["capacity"]),
                                 layers=int(hp["num_hidden_layers"]), embed_dim=int(hp["embed_dim"]),
                                 act=hp["activation"], dropout=0.0, layernorm=bool(hp["layernorm"]))
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"CSP checkpoint weights do not fit the network: {e}") from e
    dev = torch_device(device)
    work = work_dtype(device)
    net = net.to(device=dev, dtype=work).eval()
    out_dt = np.dtype(dtype)

    def fn(x: np.ndarray) -> np.ndarray:
        g = torch.from_numpy(grid_input(x, int(hp["frequency_num"]), float(hp["min_radius"]), float(hp["max_radius"]),
                                        dtype=np.float64))
        with torch.no_grad(), torch_threads(threads):
            return net(g.to(device=dev, dtype=work)).cpu().numpy().astype(out_dt, copy=False)

    return fn


@register_encoder("csp", kind="architecture", citation=CSP_CITATION, license="MIT",
                  description="CSP: Space2Vec-grid + FFN location encoder (256-d) for a checkpoint given by ckpt=PATH "
                              "(e.g. from `geobench pretrain csp`)")
def csp_encoder(*, ckpt: str = "", dtype: str = "float64", batch_size: int = 65536, device: str = "cpu") -> ArrayEncoder:
    """CSP location encoder from ``ckpt=PATH`` (required; the checkpoint trained here is ``csp-bm``)."""
    if not ckpt:
        raise InputError("csp needs its weights: csp:ckpt=PATH (e.g. one written by `geobench pretrain csp`). "
                         "The checkpoint trained here on Blue Marble is csp-bm")
    # a user checkpoint: its training data and selection are unknown here
    return _csp_from(Path(ckpt).expanduser(), dtype, batch_size,
                     {"kind": "checkpoint", "trained_on": None, "tuned_on": None}, device)


@register_encoder("csp-bm", kind="trained-in-repo", citation=CSP_CITATION, license="MIT",
                  trained_on=(BLUE_MARBLE,), tuned_on=lambda: shipped_tuned_on_tasks(CHECKPOINT),
                  description="CSP, weights trained here on the same Blue Marble pairs as satclip-bm: not a "
                              "released CSP model")
def csp_bm_encoder(*, dtype: str = "float64", batch_size: int = 65536, device: str = "cpu") -> ArrayEncoder:
    """CSP with the shipped checkpoint (``encoders/checkpoints/csp.ckpt``), trained here on Blue Marble;
    ``meta`` carries ``tuned_on`` / ``tuned_on_set`` from its JSON record."""
    return _csp_from(CHECKPOINT, dtype, batch_size, tuned_on_meta(CHECKPOINT), device)


def _csp_from(path: Path, dtype: str, batch_size: int, meta: dict, device: str = "cpu") -> ArrayEncoder:
    if dtype not in ("float64", "float32"):
        raise InputError(f"csp: dtype must be float64 or float32, got {dtype!r}")
    hp, state, sha = load_csp_checkpoint(path)
    fn = csp_encode_fn(hp, state, dtype, device=device)
    meta.update({**device_meta(device), "weights_sha256": sha, "checkpoint": str(path), "dtype": dtype,
                 **{k: hp[k] for k in ("frequency_num", "min_radius", "max_radius", "capacity", "num_hidden_layers")}})
    return ArrayEncoder("csp", int(hp["embed_dim"]), fn, meta, batch_size=int(batch_size))
