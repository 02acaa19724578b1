"""Bad-input catalogue: SatCLIP checkpoints and GeoCLIP weights (see ``catalogue.py``)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import pytest

from catalogue import CAP, EMB, L_CK, LAYERS, Case, Ctx, _pickle_bomb, _torch_save, run_case
from catalogue import module_cache, synthetic_tasks  # noqa: F401  (fixtures, found by name)
from geobench.encoding import get_encoder
from geobench.errors import CheckpointError


# --- checkpoints ---------------------------------------------------------------------

def _satclip_state(L: int = L_CK) -> dict:
    import torch

    g = torch.Generator().manual_seed(0)
    sd = {}
    for i in range(LAYERS):
        sd[f"layers.{i}.weight"] = torch.randn(CAP, L * L if i == 0 else CAP, generator=g)
        sd[f"layers.{i}.bias"] = torch.randn(CAP, generator=g)
    sd["last_layer.weight"] = torch.randn(EMB, CAP, generator=g)
    sd["last_layer.bias"] = torch.randn(EMB, generator=g)
    return sd


def _good_ckpt(c: Ctx, L: int = L_CK) -> Path:
    from geobench.encoders.satclip.checkpoint import official_hparams, save_checkpoint

    p = c.tmp / f"satclip_L{L}.ckpt"
    save_checkpoint(p, _satclip_state(L), official_hparams(L, num_layers=LAYERS, capacity=CAP, embed_dim=EMB))
    return p


def _load_ck(make: Callable[[Ctx], Path], L: int | None = None):
    def go(c: Ctx):
        from geobench.encoders.satclip.checkpoint import load_checkpoint

        return load_checkpoint(make(c), L=L)
    return go


def _edited_ckpt(edit: Callable[[dict], None]):
    def make(c: Ctx) -> Path:
        import torch

        ck = torch.load(_good_ckpt(c), map_location="cpu", weights_only=True)
        edit(ck)
        return _torch_save(c, ck)
    return make


def _check_valid_ckpt(c: Ctx, ck) -> None:
    assert (ck.L, ck.num_layers, ck.capacity, ck.embed_dim) == (L_CK, LAYERS, CAP, EMB)
    assert ck.sha256 == hashlib.sha256((c.tmp / f"satclip_L{L_CK}.ckpt").read_bytes()).hexdigest()


def _satclip_encoder_wrong_L(c: Ctx):
    return get_encoder(f"satclip:L=10:ckpt={_good_ckpt(c)}")


def _geoclip_bad(obj_or_bytes):
    def go(c: Ctx):
        from geobench.encoders.geoclip import load_weights

        if isinstance(obj_or_bytes, bytes):
            p = c.tmp / "geoclip.pth"
            p.write_bytes(obj_or_bytes)
        else:
            p = _torch_save(c, obj_or_bytes(), "geoclip.pth")
        return load_weights(p)
    return go


def _geoclip_wrong_shape():
    import torch

    return {"LocEnc0.capsule.0.b": torch.zeros(3, 3)}  # first tensor checked


def _geoclip_missing():
    import torch

    return {"LocEnc0.capsule.0.b": torch.zeros(256, 2)}


CHECKPOINTS = [
    Case("ckpt-valid-control", _load_ck(_good_ckpt, L=L_CK), None, check=_check_valid_ckpt),
    Case("ckpt-not-a-checkpoint", _load_ck(lambda c: (c.tmp / "x.ckpt").write_text("hello") and c.tmp / "x.ckpt"),
         CheckpointError, ("x.ckpt", "weights_only=True", "download it again")),
    Case("ckpt-missing-file", _load_ck(lambda c: c.tmp / "nope.ckpt"), CheckpointError,
         ("nope.ckpt", "file not found", "ckpt")),
    Case("ckpt-wrong-format-list", _load_ck(lambda c: _torch_save(c, [1, 2, 3])), CheckpointError,
         ("holds a list", "'state_dict' and 'hyper_parameters'")),
    Case("ckpt-missing-state-dict", _load_ck(_edited_ckpt(lambda ck: ck.pop("state_dict"))), CheckpointError,
         ("no 'state_dict' entry", "SatCLIP Lightning checkpoint")),
    Case("ckpt-missing-hparam", _load_ck(_edited_ckpt(lambda ck: ck["hyper_parameters"].pop("capacity"))), CheckpointError,
         ("hyper_parameters lack ['capacity']",)),
    Case("ckpt-missing-tensor",
         _load_ck(_edited_ckpt(lambda ck: ck["state_dict"].pop("model.location.nnet.last_layer.bias"))),
         CheckpointError,
         ("lacks", "last_layer.bias", "truncated or from another model")),
    Case("ckpt-wrong-shape", _load_ck(_edited_ckpt(lambda ck: ck["state_dict"].__setitem__(
        "model.location.nnet.layers.1.weight", __import__("torch").zeros(CAP, CAP + 1)))), CheckpointError,
         ("layers.1.weight", f"shape ({CAP}, {CAP + 1})", f"expected ({CAP}, {CAP})")),
    Case("ckpt-pickle-refused", _load_ck(_pickle_bomb), CheckpointError,
         ("weights_only=True", "pickles objects other than tensors"),
         check=None, tags=("no-marker",)),
    Case("ckpt-L-mismatch", _load_ck(_good_ckpt, L=10), CheckpointError,
         (f"legendre_polys={L_CK}", "L=10 was requested", f"use L={L_CK}")),
    Case("ckpt-L-mismatch-via-encoder-spec", _satclip_encoder_wrong_L, CheckpointError,
         (f"legendre_polys={L_CK}", f"satclip:L={L_CK}:ckpt=")),
    Case("satclip-no-shipped-checkpoint-for-L", lambda c: get_encoder("satclip-bm:L=7"), CheckpointError,
         ("no satclip checkpoint trained here for l=7", "satclip:ckpt=PATH")),
    Case("geoclip-weights-garbage", _geoclip_bad(b"\x00" * 64), CheckpointError,
         ("cannot be read as a torch state_dict", "fetch it again")),
    Case("geoclip-weights-missing-tensor", _geoclip_bad(_geoclip_missing), CheckpointError,
         ("lack tensor 'LocEnc0.capsule.1.weight'", "fetch it again")),
    Case("geoclip-weights-wrong-shape", _geoclip_bad(_geoclip_wrong_shape), CheckpointError,
         ("LocEnc0.capsule.0.b", "(3, 3)", "expected")),
]


CASES = CHECKPOINTS


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch, capsys, module_cache):
    run_case(case, tmp_path, monkeypatch, capsys, module_cache)
