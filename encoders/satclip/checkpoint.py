"""Read and write SatCLIP checkpoints in the official (PyTorch Lightning) format.

One load path serves released SatCLIP checkpoints and the ones geobench trains. A checkpoint
is a ``torch.save``-d dict with ``state_dict`` and ``hyper_parameters``:

* ``state_dict``: the location network under ``model.location.nnet.`` (official checkpoints
  also repeat it under ``model.nnet.``; either prefix is accepted, ``model.location.`` first):
  ``layers.{i}.weight`` (capacity, L**2 or capacity), ``layers.{i}.bias`` (capacity),
  ``last_layer.weight`` (embed_dim, capacity), ``last_layer.bias`` (embed_dim).
* ``hyper_parameters``: ``le_type="sphericalharmonics"``, ``pe_type="siren"``,
  ``legendre_polys`` (= L, the number of SH degrees), ``harmonics_calculation``
  (``analytic`` or ``closed-form``), ``num_hidden_layers``, ``capacity``, ``embed_dim``.

Files are read with :func:`geobench.encoders.torchutil.load_torch_file`
(``torch.load(weights_only=True)``, which refuses arbitrary pickled objects). Anything unexpected raises :class:`geobench.errors.CheckpointError` naming the
problem. geobench's own checkpoints are written by :func:`save_checkpoint` in the same
format (location network only, without the ``model.nnet.`` duplicate), so the official
``load_lightweight.get_satclip_loc_encoder`` loads them as well.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geobench.cache import sha256_file
from geobench.errors import CheckpointError

from ..torchutil import load_torch_file

PREFIXES = ("model.location.nnet.", "model.nnet.", "location.nnet.", "nnet.")
REQUIRED_HPARAMS = ("le_type", "pe_type", "legendre_polys", "num_hidden_layers", "capacity", "embed_dim")
HARMONICS = ("analytic", "closed-form")


@dataclass
class SatCLIPCheckpoint:
    """A validated checkpoint: the SIREN weights (``layers.{i}.*``, ``last_layer.*``) and shape facts."""

    path: Path
    sha256: str
    L: int
    num_layers: int
    capacity: int
    embed_dim: int
    harmonics_calculation: str
    state: dict = field(repr=False)  # name -> torch tensor (as stored)
    hparams: dict = field(repr=False)
    extra: dict = field(default_factory=dict, repr=False)  # geobench's own record, if any


def _fail(path: Path, msg: str) -> CheckpointError:
    return CheckpointError(f"SatCLIP checkpoint {path}: {msg}")


def load_checkpoint(path: str | Path, L: int | None = None) -> SatCLIPCheckpoint:
    """Load and validate a SatCLIP location-encoder checkpoint.

    ``L`` (optional) is the number of SH degrees the caller expects; a checkpoint trained with
    another ``legendre_polys`` raises CheckpointError. Raises CheckpointError for a missing,
    unreadable or corrupt file, a file that ``weights_only`` loading refuses, missing keys or
    hyper-parameters, wrong tensor shapes, or an unsupported positional encoding / network.
    """
    import torch

    path = Path(path).expanduser()
    ck = load_torch_file(path, what="SatCLIP checkpoint",
                         missing_fix="pass the path of a downloaded SatCLIP .ckpt (e.g. satclip-resnet18-l10.ckpt) "
                                     "or leave ckpt empty for the shipped checkpoint",
                         fix="download it again from the SatCLIP release")
    if not isinstance(ck, dict):
        raise _fail(path, f"holds a {type(ck).__name__}, expected a Lightning checkpoint dict with "
                          "'state_dict' and 'hyper_parameters'")
    for key in ("state_dict", "hyper_parameters"):
        if key not in ck:
            raise _fail(path, f"has no {key!r} entry (keys: {sorted(map(str, ck))[:10]}); expected a "
                              "SatCLIP Lightning checkpoint")
    hp, sd = ck["hyper_parameters"], ck["state_dict"]
    if not isinstance(hp, dict) or not isinstance(sd, dict):
        raise _fail(path, "'state_dict' and 'hyper_parameters' must be dicts")
    missing = [k for k in REQUIRED_HPARAMS if k not in hp]
    if missing:
        raise _fail(path, f"hyper_parameters lack {missing}; a SatCLIP checkpoint records "
                          f"{', '.join(REQUIRED_HPARAMS)}")
    if hp["le_type"] != "sphericalharmonics":
        raise _fail(path, f"le_type={hp['le_type']!r} is not supported; geobench loads spherical-harmonics "
                          "SatCLIP checkpoints (le_type='sphericalharmonics')")
    if hp["pe_type"] != "siren":
        raise _fail(path, f"pe_type={hp['pe_type']!r} is not supported; geobench loads pe_type='siren'")
    harm = hp.get("harmonics_calculation", "analytic")
    if harm not in HARMONICS:
        raise _fail(path, f"harmonics_calculation={harm!r} is not supported; use one of {HARMONICS}")
    try:
        ck_L, n_layers = int(hp["legendre_polys"]), int(hp["num_hidden_layers"])
        cap, emb = int(hp["capacity"]), int(hp["embed_dim"])
    except (TypeError, ValueError) as e:
        raise _fail(path, f"hyper_parameters legendre_polys/num_hidden_layers/capacity/embed_dim must be "
                          f"integers ({e})") from e
    if min(ck_L, n_layers, cap, emb) < 1:
        raise _fail(path, "legendre_polys, num_hidden_layers, capacity and embed_dim must be >= 1")
    if L is not None and int(L) != ck_L:
        raise _fail(path, f"was trained with legendre_polys={ck_L} spherical-harmonic degrees, but L={L} was "
                          f"requested; use L={ck_L} (e.g. satclip:L={ck_L}:ckpt=...)")
    prefix = next((p for p in PREFIXES if any(str(k).startswith(p) for k in sd)), None)
    if prefix is None:
        raise _fail(path, "state_dict has no location network (no keys under "
                          f"{' or '.join(PREFIXES[:2])}); is this a SatCLIP checkpoint?")
    state = {k[len(prefix):]: v for k, v in sd.items() if str(k).startswith(prefix)}
    expected = {}
    for i in range(n_layers):
        expected[f"layers.{i}.weight"] = (cap, ck_L * ck_L if i == 0 else cap)
        expected[f"layers.{i}.bias"] = (cap,)
    expected["last_layer.weight"] = (emb, cap)
    expected["last_layer.bias"] = (emb,)
    miss = [k for k in expected if k not in state]
    if miss:
        raise _fail(path, f"state_dict lacks {[prefix + k for k in miss][:6]} (num_hidden_layers={n_layers}); "
                          "the file is truncated or from another model")
    extra_layers = sorted(k for k in state if re.fullmatch(r"layers\.\d+\.(weight|bias)", k) and k not in expected)
    if extra_layers:
        raise _fail(path, f"state_dict has {[prefix + k for k in extra_layers][:4]} beyond "
                          f"num_hidden_layers={n_layers}; hyper_parameters and weights disagree")
    for k, shape in expected.items():
        v = state[k]
        if not isinstance(v, torch.Tensor) or not v.is_floating_point():
            raise _fail(path, f"{prefix + k} is not a floating-point tensor")
        if tuple(v.shape) != shape:
            raise _fail(path, f"{prefix + k} has shape {tuple(v.shape)}, expected {shape} for legendre_polys="
                              f"{ck_L}, capacity={cap}, embed_dim={emb}")
        if not torch.isfinite(v).all():
            raise _fail(path, f"{prefix + k} contains NaN/inf")
    extra = ck.get("geobench") if isinstance(ck.get("geobench"), dict) else {}
    return SatCLIPCheckpoint(path, sha256_file(path), ck_L, n_layers, cap, emb, harm,
                             {k: state[k] for k in expected}, dict(hp), extra)


def official_hparams(L: int, *, num_layers: int = 2, capacity: int = 256, embed_dim: int = 256,
                     learning_rate: float = 1e-4, weight_decay: float = 0.01) -> dict[str, Any]:
    """``hyper_parameters`` in the official ``SatCLIPLightningModule`` layout for an SH + SIREN model."""
    return {"embed_dim": embed_dim, "le_type": "sphericalharmonics", "pe_type": "siren",
            "frequency_num": 16, "max_radius": 360, "min_radius": 1, "legendre_polys": int(L),
            "harmonics_calculation": "analytic", "sh_embedding_dims": 32, "learning_rate": learning_rate,
            "weight_decay": weight_decay, "num_hidden_layers": int(num_layers), "capacity": int(capacity),
            # read (and popped) by the official load.py; no meaning here
            "eval_downstream": False, "air_temp_data_path": None, "election_data_path": None}


def save_checkpoint(path: str | Path, nnet_state: dict, hparams: dict, *, epoch: int = 0, global_step: int = 0,
                    extra_state: dict | None = None, record: dict | None = None,
                    prefix: str = "model.location.nnet.") -> str:
    """Write an official-format checkpoint atomically; returns its sha256.

    ``nnet_state`` holds ``layers.{i}.*`` / ``last_layer.*`` tensors (stored under ``prefix``,
    ``model.location.nnet.`` for SatCLIP); ``extra_state`` adds other ``model.*`` tensors (e.g. the image
    projection, ``logit_scale``); ``record`` (plain JSON-like values) is stored under the
    ``geobench`` key (ignored by the official loaders).
    """
    import io

    import torch

    from geobench.cache import atomic_write_bytes

    sd = {f"{prefix}{k}": v.detach().cpu().contiguous() for k, v in nnet_state.items()}
    for k, v in (extra_state or {}).items():
        sd[f"model.{k}"] = v.detach().cpu().contiguous()
    ck = {"epoch": int(epoch), "global_step": int(global_step), "pytorch-lightning_version": "2.6.6",
          "state_dict": sd, "hparams_name": "kwargs", "hyper_parameters": dict(hparams)}
    if record is not None:
        ck["geobench"] = record
    buf = io.BytesIO()
    torch.save(ck, buf)
    data = buf.getvalue()
    atomic_write_bytes(Path(path), data)
    return hashlib.sha256(data).hexdigest()


__all__ = ["SatCLIPCheckpoint", "load_checkpoint", "save_checkpoint", "official_hparams"]
