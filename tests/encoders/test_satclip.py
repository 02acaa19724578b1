"""SatCLIP encoder: official-checkpoint parity, checkpoint validation, shipped checkpoints."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import FIXTURES
from geobench.encoding import get_encoder
from geobench.errors import CheckpointError

FIX = FIXTURES / "satclip"
CKPT = FIX / "satclip_sh10_siren256_seed0.ckpt"
CKPT_DIR = Path(__file__).resolve().parents[2] / "encoders" / "satclip" / "checkpoints"


def _official_ckpt() -> dict:
    return torch.load(CKPT, map_location="cpu", weights_only=True)


def _save(ck: dict, path: Path) -> Path:
    torch.save(ck, path)
    return path


def test_official_checkpoint_parity_float64():
    enc = get_encoder(f"satclip:ckpt={CKPT}")
    emb = enc.encode(np.load(FIX / "coords.npy"))
    ref = np.load(FIX / "satclip_ckpt_embeddings.npy")
    assert emb.dtype == np.float64 and emb.shape == (64, 256) and enc.dim == 256
    assert np.abs(emb - ref).max() < 1e-6
    import hashlib

    assert enc.meta["weights_sha256"] == hashlib.sha256(CKPT.read_bytes()).hexdigest()
    assert enc.meta["kind"] == "checkpoint"  # weights from a file: not labelled as trained here


def test_float32_output_and_batching_agree():
    x = np.load(FIX / "coords.npy")
    a = get_encoder(f"satclip:ckpt={CKPT}:batch_size=7").encode(x)
    b = get_encoder(f"satclip:ckpt={CKPT}:dtype=float32").encode(x)
    ref = np.load(FIX / "satclip_ckpt_embeddings.npy")
    assert b.dtype == np.float32 and np.abs(b - ref).max() < 1e-5
    assert np.abs(a - ref).max() < 1e-6


def test_random_control_reproduces_official_initialisation():
    # sh_siren_random:seed=0 draws the SIREN weights in upstream's order: the fixture
    # checkpoint is an untrained official model built after torch.manual_seed(0).
    emb = get_encoder("sh_siren_random:seed=0").encode(np.load(FIX / "coords.npy"))
    assert np.abs(emb - np.load(FIX / "satclip_ckpt_embeddings.npy")).max() < 1e-6
    other = get_encoder("sh_siren_random:seed=1").encode(np.load(FIX / "coords.npy"))
    assert np.abs(other - emb).max() > 0.1


def test_closed_form_checkpoint_uses_closed_form_features(tmp_path):
    from geobench.encoders.satclip.model import forward_siren_state

    ck = _official_ckpt()
    ck["hyper_parameters"]["harmonics_calculation"] = "closed-form"
    p = _save(ck, tmp_path / "cf.ckpt")
    emb = get_encoder(f"satclip:ckpt={p}").encode(np.load(FIX / "coords.npy"))
    sd = {k[len("model.location.nnet."):]: v for k, v in ck["state_dict"].items() if k.startswith("model.location.nnet.")}
    ref = forward_siren_state(torch.from_numpy(np.load(FIX / "sh_L10_closed_form.npy")), sd, 2).numpy()
    assert np.abs(emb - ref).max() < 1e-6


def test_asymmetric_point_matches_explicit_features():
    from geobench.baselines.sh import spherical_harmonics
    from geobench.encoders.satclip.model import SirenNet, forward_siren_state

    pt = np.array([[100.0, 10.0]])  # lon=100, lat=10
    feats = torch.from_numpy(spherical_harmonics(pt, 10))  # SH computed for (lon=100, lat=10)
    sd = {k[len("model.location.nnet."):]: v for k, v in _official_ckpt()["state_dict"].items()
          if k.startswith("model.location.nnet.")}
    want = forward_siren_state(feats, sd, 2).numpy()
    got = get_encoder(f"satclip:ckpt={CKPT}").encode(pt)
    assert np.abs(got - want).max() < 1e-9
    mirrored = get_encoder(f"satclip:ckpt={CKPT}").encode(np.array([[-100.0, 10.0], [100.0, -10.0]]))
    assert np.abs(mirrored - want).max(axis=1).min() > 1e-2
    # the random control: same SIREN, weights from the seed
    net = SirenNet(100, 256, 256, 2, seed=3)
    want = forward_siren_state(feats, {k: v.double() for k, v in net.state_dict().items()}, 2).numpy()
    got = get_encoder("sh_siren_random:seed=3").encode(pt)
    assert np.abs(got - want).max() < 1e-9


# ----------------------------------------------------------------------------- bad checkpoints
class Custom:  # a class weights_only loading refuses to unpickle
    def __init__(self):
        self.x = 1


def test_garbage_bytes(tmp_path):
    p = tmp_path / "garbage.ckpt"
    p.write_bytes(b"this is not a checkpoint" * 100)
    with pytest.raises(CheckpointError, match="weights_only"):
        get_encoder(f"satclip:ckpt={p}")


def test_truncated_file(tmp_path):
    p = tmp_path / "trunc.ckpt"
    p.write_bytes(CKPT.read_bytes()[:50_000])
    with pytest.raises(CheckpointError, match="cannot be read"):
        get_encoder(f"satclip:ckpt={p}")


def test_custom_class_pickle_refused(tmp_path):
    ck = _official_ckpt()
    ck["hyper_parameters"]["evil"] = Custom()
    p = _save(ck, tmp_path / "custom.ckpt")
    with pytest.raises(CheckpointError, match="weights_only"):
        get_encoder(f"satclip:ckpt={p}")


def test_missing_file():
    with pytest.raises(CheckpointError, match="not found"):
        get_encoder("satclip:ckpt=/nonexistent/satclip.ckpt")


@pytest.mark.parametrize("drop", ["last_layer.bias", "layers.1.weight"])
def test_missing_key(tmp_path, drop):
    ck = _official_ckpt()
    for pre in ("model.location.nnet.", "model.nnet."):
        del ck["state_dict"][pre + drop]
    p = _save(ck, tmp_path / "missing.ckpt")
    with pytest.raises(CheckpointError, match=drop.replace(".", r"\.")):
        get_encoder(f"satclip:ckpt={p}")


def test_missing_hyper_parameter(tmp_path):
    ck = _official_ckpt()
    del ck["hyper_parameters"]["capacity"]
    p = _save(ck, tmp_path / "nohp.ckpt")
    with pytest.raises(CheckpointError, match="capacity"):
        get_encoder(f"satclip:ckpt={p}")


def test_no_state_dict(tmp_path):
    p = _save({"hyper_parameters": {}}, tmp_path / "nosd.ckpt")
    with pytest.raises(CheckpointError, match="state_dict"):
        get_encoder(f"satclip:ckpt={p}")


def test_wrong_shapes(tmp_path):
    ck = _official_ckpt()
    for pre in ("model.location.nnet.", "model.nnet."):
        ck["state_dict"][pre + "layers.0.weight"] = torch.zeros(256, 99, dtype=torch.float64)
    p = _save(ck, tmp_path / "shape.ckpt")
    with pytest.raises(CheckpointError, match=r"layers\.0\.weight has shape \(256, 99\), expected \(256, 100\)"):
        get_encoder(f"satclip:ckpt={p}")


def test_l_mismatch():
    with pytest.raises(CheckpointError, match="legendre_polys=10.*L=40"):
        get_encoder(f"satclip:L=40:ckpt={CKPT}")


def test_unsupported_encoding(tmp_path):
    ck = _official_ckpt()
    ck["hyper_parameters"]["le_type"] = "sphericalharmonics_discretized"
    p = _save(ck, tmp_path / "disc.ckpt")
    with pytest.raises(CheckpointError, match="le_type"):
        get_encoder(f"satclip:ckpt={p}")


def test_only_duplicate_prefix_is_enough(tmp_path):
    ck = _official_ckpt()
    ck["state_dict"] = {k: v for k, v in ck["state_dict"].items() if not k.startswith("model.location.")}
    p = _save(ck, tmp_path / "dup.ckpt")
    emb = get_encoder(f"satclip:ckpt={p}").encode(np.load(FIX / "coords.npy"))
    assert np.abs(emb - np.load(FIX / "satclip_ckpt_embeddings.npy")).max() < 1e-6


# ----------------------------------------------------------------------------- own checkpoints
def test_degree_scaling_is_folded_into_an_official_checkpoint(tmp_path):
    from geobench.encoders.satclip.checkpoint import official_hparams, save_checkpoint
    from geobench.encoders.satclip.model import SHSirenLocationEncoder, degree_scale, sh_features

    m = SHSirenLocationEncoder(6, hidden=32, layers=2, embed_dim=16, seed=2, input_scale=degree_scale(6, 1.0))
    assert not np.allclose(m.input_scale.numpy(), 1.0)
    p = tmp_path / "own.ckpt"
    save_checkpoint(p, m.official_state(), official_hparams(6, capacity=32, embed_dim=16))
    x = np.array([[100.0, 10.0], [-70.0, -33.0], [0.0, 89.0]])
    m.eval()
    with torch.no_grad():
        want = m(torch.from_numpy(sh_features(x, 6, dtype=np.float32))).double().numpy()
    got = get_encoder(f"satclip:L=6:ckpt={p}").encode(x)
    assert got.shape == (3, 16)
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("L", [10, 40])
def test_shipped_checkpoints(L):
    path = CKPT_DIR / f"satclip_L{L}.ckpt"
    if not path.exists():
        pytest.skip(f"shipped checkpoint {path.name} not trained yet")
    assert path.stat().st_size < 5 * 2**20
    rec = json.loads((CKPT_DIR / f"satclip_L{L}.json").read_text())
    for k in ("command", "seed", "wall_seconds", "val_loss", "probes_val", "checkpoint_sha256"):
        assert k in rec, k
    assert rec["command"].startswith("geobench pretrain satclip")
    spec = "satclip-bm" if L == 10 else f"satclip-bm:L={L}"
    enc = get_encoder(spec)
    assert enc.meta["weights_sha256"] == rec["checkpoint_sha256"]
    emb = enc.encode(np.array([[100.0, 10.0], [10.0, 45.0]]))
    assert emb.shape == (2, 256) and np.isfinite(emb).all()
    assert np.abs(emb[0] - emb[1]).max() > 1e-3


def test_no_shipped_checkpoint_for_other_L():
    with pytest.raises(CheckpointError, match="no SatCLIP checkpoint trained here for L=7.*satclip:weights=NAME"):
        get_encoder("satclip-bm:L=7")


def test_weights_trained_here_never_pass_for_the_released_model():
    """``satclip`` is the architecture: it needs weights named; the ones trained here are satclip-bm."""
    from geobench.errors import InputError

    with pytest.raises(InputError, match="satclip needs its weights.*satclip:weights=NAME.*satclip-bm"):
        get_encoder("satclip")
    with pytest.raises(InputError, match="csp needs its weights.*csp:ckpt=PATH.*csp-bm"):
        get_encoder("csp")
    bm = get_encoder("satclip-bm")
    assert bm.meta["spec"] == "satclip-bm" and bm.meta["kind"] == "trained-in-repo"
    assert bm.meta["trained_on"] == ("NASA Blue Marble (RGB)",)
    from geobench.encoding import default_encoders

    assert {"satclip-bm", "csp-bm"} <= set(default_encoders()) and not {"satclip", "csp"} & set(default_encoders())


def test_package_data_covers_checkpoints():
    import tomllib

    py = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    pats = py["tool"]["setuptools"]["package-data"]["geobench.encoders.satclip"]
    assert {"checkpoints/*.ckpt", "checkpoints/*.json", "checkpoints/*.md"} <= set(pats)


def test_encoder_registration_is_cheap():
    import subprocess
    import sys

    code = ("import sys, geobench.encoders; from geobench.encoding import ENCODERS; "
            "ENCODERS.get('satclip'); ENCODERS.get('sh_siren_random'); ENCODERS.get('csp'); "
            "print('geobench.encoders.satclip.model' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_degree_scale_keeps_l10_input_norm_and_favours_low_degrees():
    from geobench.encoders.satclip.model import SHSirenLocationEncoder, degree_of_column, degree_scale

    deg = degree_of_column(40)
    for p in (0.0, 1.0, 2.0):
        s = degree_scale(40, p)
        assert s.shape == (1600,)
        assert np.isclose(np.sum(s**2), 100.0)  # same expected input norm as 10 unscaled degrees
        assert np.all(np.diff([s[deg == l][0] for l in range(40)]) <= 1e-15)
    assert np.allclose(degree_scale(40, 0.0), 0.25)
    m = SHSirenLocationEncoder(40, input_scale=degree_scale(40, 1.5), first_bound=0.01, seed=0)
    w = m.nnet.layers[0].weight.detach()
    assert 0.009 < float(w.abs().max()) <= 0.01  # first layer at the L = 10 scale, not 1/1600
