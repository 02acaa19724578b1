"""Registers ``satclip`` (the architecture, for released or any weights), ``satclip-bm`` (the
checkpoints trained here on Blue Marble) and ``sh_siren_random`` (cheap: torch loads only when
one is built).

Weights trained here carry ``-bm`` ("Blue Marble, trained here") in their name everywhere
(registry, records, leaderboard, figures), so they are never taken for the released SatCLIP.
"""
from __future__ import annotations

from pathlib import Path

from geobench.devices import device_meta
from geobench.encoding import ArrayEncoder, register_encoder
from geobench.errors import CheckpointError, InputError

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
SATCLIP_CITATION = ("Klemmer, K., Rolf, E., Robinson, C., Mackey, L., Russwurm, M. (2025). SatCLIP: Global, "
                    "General-Purpose Location Embeddings with Satellite Imagery. AAAI.")
DTYPES = ("float64", "float32")
SH_MODES = ("exact", "official")  # = model.SH_MODES (model imports torch, this module must not)
# What the shipped checkpoints (satclip_L10/L40, csp) were trained on. What chose their variant and
# epochs (the probe set) is each checkpoint's JSON record's ``tuned_on`` (shipped_tuned_on).
BLUE_MARBLE = "NASA Blue Marble (RGB)"
# the probe tasks of records written before ``tuned_on`` existed (the benchmark's own validation points)
LEGACY_PROBE_TASKS = ("air_temperature", "elevation", "population")


def shipped_tuned_on(ckpt: Path) -> dict | None:
    """The ``tuned_on`` of the JSON record next to a shipped checkpoint: the probe set whose
    validation scores chose its variant and epochs (tasks, builder options, sha256s, disjointness
    from the benchmark; see ``encoders/pretraining/selection.py``). Records written before the
    field existed probed the benchmark's own validation points (``probe_set`` ``benchmark-val``).
    None when there is no record."""
    import json

    p = Path(ckpt).with_suffix(".json")
    if not p.is_file():
        return None
    rec = json.loads(p.read_text())
    if rec.get("tuned_on"):
        return rec["tuned_on"]
    tasks = (rec.get("config") or {}).get("probe_tasks") or list(LEGACY_PROBE_TASKS)
    return {"probe_set": "benchmark-val", "tasks": list(tasks), "disjoint_from_benchmark": False}


def tuned_on_meta(ckpt: Path) -> dict:
    """Encoder ``meta`` of a shipped checkpoint's selection: ``tuned_on`` (the task names, what the
    leaderboard's ``‡`` reads) and ``tuned_on_set`` (the full description, :func:`shipped_tuned_on`)."""
    d = shipped_tuned_on(ckpt)
    if d is None:
        return {"tuned_on": None, "tuned_on_set": None}
    return {"tuned_on": tuple(d.get("tasks", ())), "tuned_on_set": d}


def shipped_tuned_on_tasks(*ckpts: Path) -> tuple[str, ...]:
    """The tasks any of ``ckpts`` was tuned on, in first-seen order (a registry entry's ``tuned_on``)."""
    out: list[str] = []
    for c in ckpts:
        for t in (shipped_tuned_on(c) or {}).get("tasks", ()):
            if t not in out:
                out.append(t)
    return tuple(out)


def shipped_checkpoint(L: int) -> Path:
    """Path of the checkpoint geobench ships for ``L`` SH degrees (``satclip_L{L}.ckpt``)."""
    p = CHECKPOINT_DIR / f"satclip_L{int(L)}.ckpt"
    if not p.is_file():
        have = sorted(q.name for q in CHECKPOINT_DIR.glob("satclip_L*.ckpt")) if CHECKPOINT_DIR.is_dir() else []
        raise CheckpointError(f"no SatCLIP checkpoint trained here for L={L} (shipped: {have or 'none'}); use "
                              f"satclip:weights=NAME (released) or satclip:ckpt=PATH (a released or self-trained "
                              "checkpoint)")
    return p


def _check_dtype(dtype: str, who: str) -> None:
    if dtype not in DTYPES:
        raise InputError(f"{who}: dtype must be one of {DTYPES}, got {dtype!r}")


@register_encoder("satclip", kind="architecture", citation=SATCLIP_CITATION, license="MIT",
                  description="SatCLIP location encoder (SH + SIREN) for any weights: the released ones via "
                              "weights=NAME (from the hub), a local checkpoint via ckpt=PATH")
def satclip_encoder(*, L: int = 0, ckpt: str = "", weights: str = "", sh: str = "exact", dtype: str = "float64",
                    batch_size: int = 65536, device: str = "cpu") -> ArrayEncoder:
    """SatCLIP: spherical harmonics (L degrees) -> SIREN -> 256-d, from an official-format checkpoint.

    ``weights=NAME`` (``resnet18-l10``, ..., ``vit16-l40``; see :mod:`.released`) downloads a
    released checkpoint from the Hugging Face hub once and reuses it; ``ckpt=PATH`` loads a
    local released or self-trained checkpoint. One of them is required: the checkpoints trained
    here on Blue Marble are ``satclip-bm``. ``L=0`` takes the degrees from the weights; an
    explicit ``L`` must agree with them. ``sh=official`` feeds the network the official analytic
    SH values (their cancellation errors at L = 40 included, as the released L = 40 models saw
    in training) instead of the exact ones; see ``docs/released_weights.md``.
    """
    _check_options(dtype, sh, "satclip")
    if weights and ckpt:
        raise InputError(f"satclip: pass either weights=NAME (released weights from the hub) or ckpt=PATH (a local "
                         f"checkpoint), not both; got weights={weights} and ckpt={ckpt}")
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
        meta.update(kind="checkpoint", trained_on=None, tuned_on=None)  # a user checkpoint: unknown here
    else:
        from .released import RELEASED

        raise InputError(f"satclip needs its weights: satclip:weights=NAME for the released SatCLIP "
                         f"({', '.join(RELEASED)}) or satclip:ckpt=PATH for a local checkpoint. The checkpoints "
                         "trained here on Blue Marble are satclip-bm and satclip-bm:L=40")
    name = f"satclip-{weights}" if weights else "satclip"
    return _satclip_from(path, L, sh, dtype, batch_size, meta, name, device)


@register_encoder("satclip-bm", kind="trained-in-repo", citation=SATCLIP_CITATION, license="MIT",
                  trained_on=(BLUE_MARBLE,),
                  tuned_on=lambda: shipped_tuned_on_tasks(*(CHECKPOINT_DIR / f"satclip_L{L}.ckpt" for L in (10, 40))),
                  description="SatCLIP architecture, weights trained here on Blue Marble (L=10; L=40): not the "
                              "released SatCLIP")
def satclip_bm_encoder(*, L: int = 10, sh: str = "exact", dtype: str = "float64",
                       batch_size: int = 65536, device: str = "cpu") -> ArrayEncoder:
    """SatCLIP with the checkpoint shipped for ``L`` (10 or 40), trained here by ``geobench pretrain
    satclip`` on Blue Marble imagery (see ``encoders/satclip/checkpoints/*.json``). ``meta`` carries
    ``tuned_on`` / ``tuned_on_set`` from the checkpoint's JSON record (:func:`tuned_on_meta`)."""
    _check_options(dtype, sh, "satclip-bm")
    path = shipped_checkpoint(L)
    return _satclip_from(path, L, sh, dtype, batch_size, tuned_on_meta(path), f"satclip-bm-L{L}", device)


def _satclip_from(path: Path, L: int, sh: str, dtype: str, batch_size: int, meta: dict, name: str,
                  device: str = "cpu") -> ArrayEncoder:
    from .checkpoint import load_checkpoint
    from .model import siren_encode_fn

    ck = load_checkpoint(path, L=L or None)
    fn = siren_encode_fn(ck.state, ck.num_layers, ck.L, harmonics_calculation=ck.harmonics_calculation,
                         dtype=dtype, sh=sh, device=device)
    meta.update({**device_meta(device), "weights_sha256": ck.sha256, "checkpoint": str(path), "L": ck.L, "capacity": ck.capacity,
                 "num_hidden_layers": ck.num_layers, "harmonics_calculation": ck.harmonics_calculation,
                 "sh": sh, "dtype": dtype})
    if ck.extra:
        meta["training"] = {k: ck.extra[k] for k in ("command", "seed", "variant") if k in ck.extra}
    return ArrayEncoder(name, ck.embed_dim, fn, meta, batch_size=int(batch_size))


def _check_options(dtype: str, sh: str, who: str) -> None:
    _check_dtype(dtype, who)
    if sh not in SH_MODES:
        raise InputError(f"{who}: sh must be one of {SH_MODES}, got {sh!r}")


@register_encoder("sh_siren_random", kind="parameter-free",
                  citation=SATCLIP_CITATION + " Control: the same network with random weights.", license="MIT",
                  description="SatCLIP's SH + SIREN architecture with random (official) initialisation, "
                              "no pretraining: the 'no pretraining' control")
def sh_siren_random_encoder(*, L: int = 10, seed: int = 0, hidden: int = 256, layers: int = 2, dim: int = 256,
                            dtype: str = "float64", batch_size: int = 65536, device: str = "cpu") -> ArrayEncoder:
    """SH (L degrees) -> SIREN (``layers`` x ``hidden``, official init drawn with ``seed``) -> ``dim``."""
    _check_dtype(dtype, "sh_siren_random")
    if min(L, hidden, layers, dim) < 1:
        raise InputError(f"sh_siren_random: L, hidden, layers and dim must be >= 1, got {L}, {hidden}, {layers}, {dim}")
    from .model import SirenNet, siren_encode_fn

    net = SirenNet(L * L, hidden, dim, layers, seed=seed)
    fn = siren_encode_fn(net.state_dict(), layers, L, dtype=dtype, device=device)
    return ArrayEncoder(f"sh_siren_random-L{L}", dim, fn, {"L": L, "seed": seed, "dtype": dtype,
                                                          **device_meta(device)},
                        batch_size=int(batch_size))
