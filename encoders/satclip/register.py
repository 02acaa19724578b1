"""Registers ``satclip`` and ``sh_siren_random`` (cheap: torch loads only when one is built)."""
from __future__ import annotations

from pathlib import Path

from geobench.encoding import ArrayEncoder, register_encoder
from geobench.errors import CheckpointError, InputError

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
SATCLIP_CITATION = ("Klemmer, K., Rolf, E., Robinson, C., Mackey, L., Russwurm, M. (2025). SatCLIP: Global, "
                    "General-Purpose Location Embeddings with Satellite Imagery. AAAI.")
DTYPES = ("float64", "float32")
SH_MODES = ("exact", "official")  # = model.SH_MODES (model imports torch, this module must not)
# What the shipped checkpoints (satclip_L10/L40, csp) were trained on, and the geobench tasks whose
# validation probes chose their learning rate and epochs (encoders/pretraining/probes.py VAL_TASKS).
BLUE_MARBLE = "NASA Blue Marble (RGB)"
PROBE_TASKS = ("air_temperature", "elevation", "population")


def shipped_checkpoint(L: int) -> Path:
    """Path of the checkpoint geobench ships for ``L`` SH degrees (``satclip_L{L}.ckpt``)."""
    p = CHECKPOINT_DIR / f"satclip_L{int(L)}.ckpt"
    if not p.is_file():
        have = sorted(q.name for q in CHECKPOINT_DIR.glob("satclip_L*.ckpt")) if CHECKPOINT_DIR.is_dir() else []
        raise CheckpointError(f"no shipped SatCLIP checkpoint for L={L} (shipped: {have or 'none'}); pass "
                              f"satclip:L={L}:ckpt=PATH with a released or self-trained checkpoint")
    return p


def _check_dtype(dtype: str, who: str) -> None:
    if dtype not in DTYPES:
        raise InputError(f"{who}: dtype must be one of {DTYPES}, got {dtype!r}")


@register_encoder("satclip", kind="trained-in-repo", citation=SATCLIP_CITATION, license="MIT",
                  trained_on=(BLUE_MARBLE,), tuned_on=PROBE_TASKS,
                  description="SatCLIP location encoder (SH + SIREN, 256-d); shipped checkpoints trained "
                              "in-repo on Blue Marble, the released ones via weights=NAME, any via ckpt=PATH")
def satclip_encoder(*, L: int = 0, ckpt: str = "", weights: str = "", sh: str = "exact", dtype: str = "float64",
                    batch_size: int = 65536) -> ArrayEncoder:
    """SatCLIP: spherical harmonics (L degrees) -> SIREN -> 256-d, from an official-format checkpoint.

    Without ``ckpt`` and ``weights``: the checkpoint shipped for ``L`` (10 or 40, trained by
    ``geobench pretrain satclip`` on Blue Marble imagery). ``weights=NAME`` (``resnet18-l10``,
    ..., ``vit16-l40``; see :mod:`.released`) downloads a released checkpoint from the Hugging
    Face hub once and reuses it; ``ckpt=PATH`` loads a local released or self-trained
    checkpoint. ``L=0`` takes the degrees from the weights (10 for the shipped default); an
    explicit ``L`` must agree with them. ``sh=official`` feeds the network the official analytic
    SH values (their cancellation errors at L = 40 included, as the released L = 40 models saw
    in training) instead of the exact ones; see ``docs/released_weights.md``.
    """
    _check_dtype(dtype, "satclip")
    if sh not in SH_MODES:
        raise InputError(f"satclip: sh must be one of {SH_MODES}, got {sh!r}")
    if weights and ckpt:
        raise InputError(f"satclip: pass either weights=NAME (released weights from the hub) or ckpt=PATH (a local "
                         f"checkpoint), not both; got weights={weights} and ckpt={ckpt}")
    from .checkpoint import load_checkpoint
    from .model import siren_encode_fn

    meta: dict = {}
    if weights:
        from .released import fetch_released, released_weights

        w = released_weights(weights)
        if L and L != w.L:
            raise InputError(f"satclip: weights={w.name} has L={w.L} spherical-harmonic degrees, but L={L} was "
                             f"given; drop L or use satclip:weights={w.name}:L={w.L}")
        path, prov = fetch_released(w)
        meta.update(weights=w.name, **prov, kind="pretrained", license=w.license, citation=w.citation,
                    trained_on=w.trained_on, tuned_on=())
    elif ckpt:
        path = Path(ckpt).expanduser()
        meta.update(trained_on=None, tuned_on=None)  # a user checkpoint: unknown here
    else:
        path = shipped_checkpoint(L or 10)
    ck = load_checkpoint(path, L=L or None)
    fn = siren_encode_fn(ck.state, ck.num_layers, ck.L, harmonics_calculation=ck.harmonics_calculation,
                         dtype=dtype, sh=sh)
    meta.update({"weights_sha256": ck.sha256, "checkpoint": str(path), "L": ck.L, "capacity": ck.capacity,
                 "num_hidden_layers": ck.num_layers, "harmonics_calculation": ck.harmonics_calculation,
                 "shipped": not (ckpt or weights), "sh": sh, "dtype": dtype})
    if ck.extra:
        meta["training"] = {k: ck.extra[k] for k in ("command", "seed", "variant") if k in ck.extra}
    name = f"satclip-{weights}" if weights else f"satclip-L{ck.L}"
    return ArrayEncoder(name, ck.embed_dim, fn, meta, batch_size=int(batch_size))


@register_encoder("sh_siren_random", kind="parameter-free",
                  citation=SATCLIP_CITATION + " Control: the same network with random weights.", license="MIT",
                  description="SatCLIP's SH + SIREN architecture with random (official) initialisation, "
                              "no pretraining: the 'no pretraining' control")
def sh_siren_random_encoder(*, L: int = 10, seed: int = 0, hidden: int = 256, layers: int = 2, dim: int = 256,
                            dtype: str = "float64", batch_size: int = 65536) -> ArrayEncoder:
    """SH (L degrees) -> SIREN (``layers`` x ``hidden``, official init drawn with ``seed``) -> ``dim``."""
    _check_dtype(dtype, "sh_siren_random")
    if min(L, hidden, layers, dim) < 1:
        raise InputError(f"sh_siren_random: L, hidden, layers and dim must be >= 1, got {L}, {hidden}, {layers}, {dim}")
    from .model import SirenNet, siren_encode_fn

    net = SirenNet(L * L, hidden, dim, layers, seed=seed)
    fn = siren_encode_fn(net.state_dict(), layers, L, dtype=dtype)
    return ArrayEncoder(f"sh_siren_random-L{L}", dim, fn, {"L": L, "seed": seed, "dtype": dtype},
                        batch_size=int(batch_size))
