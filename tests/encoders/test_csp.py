"""CSP: grid + FFN tower trained with the shared pretraining code; checkpoint and encoder."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from geobench.encoding import get_encoder
from geobench.errors import CheckpointError
from geobench.encoders.pretraining.config import PretrainConfig, make_config
from geobench.encoders.pretraining.pairs import prepare_pairs
from geobench.encoders.pretraining.trainer import Trainer, pretrain

SHIPPED = Path(__file__).resolve().parents[2] / "encoders" / "checkpoints" / "csp.ckpt"


def tiny(tmp: Path, **kw) -> PretrainConfig:
    base = dict(model="csp", n_pairs=300, epochs=2, batch_size=64, lr=1e-3, probe=False, tracking_uri="none",
                out=str(tmp), rcf_k=32, seed=0)
    base.update(kw)
    return make_config(**base)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("csp")
    cfg = tiny(out)
    pairs = prepare_pairs(cfg)
    rec = pretrain(cfg, pairs=pairs, verbose=False)
    return cfg, pairs, rec, out


def test_tiny_csp_run_is_deterministic_and_learns(trained):
    cfg, pairs, rec, out = trained
    a = torch.load(out / "last.ckpt", weights_only=True)["model"]
    tr = Trainer(cfg, pairs)
    before = tr.val_loss()
    for e in range(cfg.epochs):
        tr.train_epoch(e)
    b = tr.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical to the first run
    assert tr.val_loss() < before
    assert rec["history"][-1]["val_loss"] == pytest.approx(tr.val_loss())
    # same pairs and image side as SatCLIP: only the location tower differs
    assert isinstance(tr.model.visual, torch.nn.Linear) and tr.model.visual.in_features == pairs.feats.shape[1]


def test_csp_loss_terms():
    from geobench.encoders.pretraining.losses import csp_loss

    cfg = make_config(model="csp", dropout=0.0, csp_neg_weight=0.0, csp_simcse_weight=0.0)
    from geobench.encoders.pretraining.model import build_model

    m = build_model(cfg, 8)
    xl, neg = torch.randn(6, 128), torch.randn(6, 128)
    img = torch.randn(6, 256)
    base = csp_loss(m, xl, img, neg, cfg)
    loc = torch.nn.functional.normalize(m.location(xl), dim=1)
    logits = m.logit_scale.exp() * loc @ torch.nn.functional.normalize(img, dim=1).T
    assert torch.allclose(base, torch.nn.functional.cross_entropy(logits, torch.arange(6)))
    full = csp_loss(m, xl, img, neg, make_config(model="csp", dropout=0.0))
    assert full.item() > base.item()  # the negative-location and SimCSE terms are added


def test_asymmetric_point_matches_explicit_grid_features(trained):
    from geobench.baselines.space2vec import grid_features, scales
    from geobench.encoders.csp import load_csp_checkpoint

    _, _, rec, out = trained
    path = SHIPPED if SHIPPED.exists() else out / rec["checkpoint"]
    hp, state, _ = load_csp_checkpoint(path)
    pt = np.array([[100.0, 10.0]])  # lon=100, lat=10
    g = grid_features(pt, scales(hp["frequency_num"], hp["min_radius"], hp["max_radius"]))
    x = torch.from_numpy(g)
    act = {"gelu": torch.nn.functional.gelu, "relu": torch.relu}[hp["activation"]]
    n = hp["num_hidden_layers"] + 1
    for i in range(n):
        x = act(torch.nn.functional.linear(x, state[f"layers.{i}.linear.weight"].double(),
                                           state[f"layers.{i}.linear.bias"].double()))
        if hp["layernorm"] and i < n - 1:
            x = torch.nn.functional.layer_norm(x, (x.shape[1],), state[f"layers.{i}.layernorm.weight"].double(),
                                               state[f"layers.{i}.layernorm.bias"].double())
    spec = "csp-bm" if path == SHIPPED else f"csp:ckpt={path}"
    enc = get_encoder(spec)
    got = enc.encode(pt)
    assert got.shape == (1, 256)
    assert np.abs(got - x.numpy()).max() < 1e-9
    assert np.abs(enc.encode(np.array([[-100.0, 10.0]])) - got).max() > 1e-4


def test_bad_csp_checkpoints(tmp_path, trained):
    _, _, rec, out = trained
    p = tmp_path / "junk.ckpt"
    p.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="weights_only"):
        get_encoder(f"csp:ckpt={p}")
    ck = torch.load(out / rec["checkpoint"], weights_only=True)
    del ck["state_dict"]["model.location.layers.1.linear.bias"]
    torch.save(ck, p)
    with pytest.raises(CheckpointError, match="layers.1.linear.bias"):
        get_encoder(f"csp:ckpt={p}")
    with pytest.raises(CheckpointError, match="space2vec-grid"):
        get_encoder(f"csp:ckpt={Path(__file__).resolve().parents[3] / 'shared/fixtures/satclip/satclip_sh10_siren256_seed0.ckpt'}")


def test_shipped_csp_checkpoint():
    if not SHIPPED.exists():
        pytest.skip("shipped CSP checkpoint not trained yet")
    import json

    assert SHIPPED.stat().st_size < 5 * 2**20
    rec = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert rec["command"].startswith("geobench pretrain csp") and "wall_seconds" in rec and "val_loss" in rec
    enc = get_encoder("csp-bm")
    assert enc.meta["kind"] == "trained-in-repo" and enc.meta["weights_sha256"] == rec["checkpoint_sha256"]
