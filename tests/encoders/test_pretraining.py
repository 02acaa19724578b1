"""Contrastive pretraining: tiny runs, determinism, resume, soft targets, S2 path, leakage."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from geobench.encoding import get_encoder
from geobench.errors import CheckpointError
from geobench.encoders.pretraining.config import PretrainConfig, make_config
from geobench.encoders.pretraining.losses import clip_loss, soft_targets
from geobench.encoders.pretraining.pairs import prepare_pairs
from geobench.encoders.pretraining.trainer import Trainer, pretrain

S2_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "s2_tiles"


def tiny(tmp: Path, **kw) -> PretrainConfig:
    base = dict(n_pairs=300, epochs=3, batch_size=64, lr=1e-3, probe=False, tracking_uri="none", out=str(tmp),
                rcf_k=32, seed=0)
    base.update(kw)
    return make_config(**base)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return prepare_pairs(tiny(tmp_path_factory.mktemp("p")))


def _weights(tr: Trainer) -> dict:
    return {k: v.detach().clone() for k, v in tr.model.state_dict().items()}


def test_tiny_run_lowers_loss_and_is_deterministic(tmp_path, pairs):
    cfg = tiny(tmp_path)
    a = Trainer(cfg, pairs)
    before = a.val_loss()
    for e in range(cfg.epochs):
        a.train_epoch(e)
    after = a.val_loss()
    assert after < before - 0.05, (before, after)
    b = Trainer(cfg, pairs)
    for e in range(cfg.epochs):
        b.train_epoch(e)
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)  # bit-identical
    c = Trainer(replace(cfg, seed=1), pairs)
    c.train_epoch(0)
    assert not torch.equal(_weights(c)["location.nnet.layers.0.weight"], wa["location.nnet.layers.0.weight"])


def test_resume_equals_uninterrupted_and_exports_official_checkpoint(tmp_path, pairs):
    straight = pretrain(tiny(tmp_path / "a", epochs=3), pairs=pairs, verbose=False)
    pretrain(tiny(tmp_path / "b", epochs=2), pairs=pairs, verbose=False)
    resumed = pretrain(tiny(tmp_path / "b", epochs=3, resume=True), pairs=pairs, verbose=False)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert resumed["val_loss"] == straight["val_loss"]
    ka = torch.load(tmp_path / "a" / "last.ckpt", weights_only=True)["model"]
    kb = torch.load(tmp_path / "b" / "last.ckpt", weights_only=True)["model"]
    assert all(torch.equal(ka[k], kb[k]) for k in ka)
    rec = json.loads((tmp_path / "a" / "satclip_L10.json").read_text())
    assert rec["seed"] == 0 and rec["epochs"] == 3 and rec["wall_seconds"] > 0
    assert len(rec["history"]) == 3 and rec["val_loss"] == rec["history"][-1]["val_loss"]
    # the export is an official-format checkpoint; the encoder equals the trained tower
    enc = get_encoder(f"satclip:ckpt={tmp_path / 'a' / 'satclip_L10.ckpt'}")
    assert enc.meta["weights_sha256"] == rec["checkpoint_sha256"]
    # resuming with other options is refused
    with pytest.raises(CheckpointError, match="other options"):
        pretrain(tiny(tmp_path / "b", epochs=4, lr=5e-4, resume=True), pairs=pairs, verbose=False)


def test_exported_encoder_matches_trainer_embedding(tmp_path, pairs):
    cfg = tiny(tmp_path, epochs=1, degree_p=1.0, L=6)
    rec = pretrain(cfg, pairs=pairs, verbose=False)
    x = np.array([[100.0, 10.0], [-60.0, -20.0], [179.0, 80.0]])
    enc = get_encoder(f"satclip:L=6:ckpt={tmp_path / rec['checkpoint']}")
    tr = Trainer(cfg, pairs)
    tr.load_state(tmp_path / "last.ckpt")
    assert np.abs(enc.encode(x) - tr.embed(x)).max() < 1e-4


def test_soft_targets_identical_images_share_mass():
    t = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [-1.0, 3.0, 0.5]])
    T = soft_targets(t, tau=0.1)
    assert torch.allclose(T.sum(1), torch.ones(4))
    assert torch.equal(T[0, 0], T[0, 2]) and torch.equal(T[2, 0], T[2, 2])
    assert torch.equal(T[1, 0], T[1, 2]) and torch.equal(T[3, 0], T[3, 2])
    assert float(T[0, 0]) > 0.45 and float(T[0, 1]) < 0.05  # the two copies take almost all mass
    # with distinct teachers and a small tau, soft targets approach the hard (diagonal) loss
    loc, img = torch.randn(5, 8), torch.randn(5, 8)
    eye_like = soft_targets(torch.eye(5), tau=0.01)
    assert torch.allclose(clip_loss(loc, img, torch.tensor(2.0), eye_like), clip_loss(loc, img, torch.tensor(2.0)),
                          atol=1e-5)


def test_soft_target_run(tmp_path, pairs):
    cfg = tiny(tmp_path, soft_targets=True, epochs=2)
    tr = Trainer(cfg, pairs)
    before = tr.val_loss()
    tr.train_epoch(0)
    tr.train_epoch(1)
    assert tr.val_loss() < before


def test_pretraining_reads_only_imagery_and_the_land_mask(tmp_path, monkeypatch, empty_cache):
    """Leakage rule: pixels come from imagery/bmng.jpg only; the land mask (land-10m.json, or
    the elevation grid's no-data mask as a fallback) only chooses locations."""
    import geobench.data as gdata
    from geobench.encoders import imagery
    from geobench.encoders.rcf import RCFeaturizer

    from geobench.data import fetching

    names: list[str] = []
    orig_declared, orig_fetch = fetching.get_declared, fetching.fetch
    # both the package's names and the module's own (checksums() calls fetching.get_declared)
    for mod in (gdata, fetching):
        monkeypatch.setattr(mod, "get_declared",
                            lambda name, *a, **k: (names.append(name), orig_declared(name, *a, **k))[1])
        monkeypatch.setattr(mod, "fetch", lambda name, *a, **k: (names.append(name), orig_fetch(name, *a, **k))[1])
    seen: list[np.ndarray] = []
    orig_transform = RCFeaturizer.transform

    def spy(self, images):
        seen.append(np.array(images))
        return orig_transform(self, images)

    monkeypatch.setattr(RCFeaturizer, "transform", spy)
    cfg = tiny(tmp_path, n_pairs=120, epochs=1, batch_size=32)
    rec = pretrain(cfg, verbose=False)
    assert "imagery/bmng.jpg" in names
    assert set(names) <= {"imagery/bmng.jpg", "countries/land-10m.json", "elevation/Altitude.h5"}, set(names)
    # every image tensor the teacher saw is a crop of Blue Marble pixels at the pair locations
    from geobench.encoders.pretraining.pairs import training_locations

    lonlat = training_locations(120, seed=cfg.data_seed)
    fed = np.concatenate(seen)
    assert fed.shape == (120, 3, 32, 32)
    assert np.array_equal(fed, imagery.crops(lonlat, 32))
    assert rec["data"]["source"] == "bmng"


def test_s2_tiles_path_and_vision_weights(tmp_path):
    from geobench.encoders.pretraining.teachers import s2_images
    from geobench.encoders.satclip.vision import ResNet18

    lonlat, imgs = s2_images(S2_ROOT)
    assert imgs.shape[:2] == (3, 12) and imgs.dtype == np.float32
    assert 0 < float(np.median(imgs)) < 1  # reflectance (DN / 10000)
    rec = pretrain(make_config(s2_root=str(S2_ROOT), epochs=3, batch_size=8, probe=False, tracking_uri="none",
                                  out=str(tmp_path / "rcf"), rcf_k=16), verbose=False)
    assert rec["data"]["n_tiles"] == 3 and rec["data"]["teacher"] == "rcf"
    assert all(np.isfinite(h["train_loss"]) for h in rec["history"])
    # a user-supplied ResNet-18 state dict (torchgeo/timm names, 13 bands, with prefix and fc)
    torch.manual_seed(0)
    net = ResNet18(13)
    sd = {f"backbone.{k}": v for k, v in net.state_dict().items()}
    sd["backbone.fc.weight"], sd["backbone.fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)
    wpath = tmp_path / "resnet18.pth"
    torch.save(sd, wpath)
    rec = pretrain(make_config(s2_root=str(S2_ROOT), vision_weights=str(wpath), epochs=2, batch_size=8,
                                  probe=False, tracking_uri="none", out=str(tmp_path / "rn")), verbose=False)
    assert rec["data"]["teacher"] == "resnet18" and rec["data"]["in_channels"] == 13
    net.eval()
    with torch.no_grad():
        x = np.concatenate([imgs[:, :10], np.zeros_like(imgs[:, :1]), imgs[:, 10:]], axis=1)
        want = net(torch.from_numpy(x)).numpy()
    from geobench.encoders.satclip.vision import load_resnet18

    got = load_resnet18(wpath).features(imgs)
    assert np.allclose(got, want, atol=1e-5)


def test_bad_vision_weights(tmp_path):
    from geobench.encoders.satclip.vision import load_resnet18

    p = tmp_path / "bad.pth"
    torch.save({"conv1.weight": torch.zeros(64, 13, 7, 7)}, p)
    with pytest.raises(CheckpointError, match="missing"):
        load_resnet18(p)
    p.write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="weights_only"):
        load_resnet18(p)


def test_cli_help_and_recipe(capsys):
    from geobench.encoders.pretraining.cli import main, parse_config

    with pytest.raises(SystemExit) as e:
        main("satclip", ["--help"])
    assert e.value.code == 0
    assert "--soft-targets" in capsys.readouterr().out
    cfg, _ = parse_config("satclip", ["--recipe", "official", "--soft-targets", "--dropout", "0.1", "--L", "40"])
    assert (cfg.soft_targets, cfg.dropout, cfg.L, cfg.lr, cfg.weight_decay) == (False, 0.5, 40, 1e-4, 0.01)
    assert cfg.command.startswith("geobench pretrain satclip --recipe official")
    assert main("nonsense", []) == 2


def test_records_and_states_of_the_single_config_still_load(tmp_path, pairs):
    """Records and resume states written when one config carried both models' options."""
    import shlex

    from geobench.encoders.pretraining.cli import parse_config
    from geobench.encoders.pretraining.config import CSPConfig, SatCLIPConfig, config_dict, config_from_dict

    root = Path(__file__).resolve().parents[2] / "encoders"
    for path, cls in ((root / "checkpoints" / "csp.json", CSPConfig),
                      (root / "satclip" / "checkpoints" / "satclip_L10.json", SatCLIPConfig)):
        rec = json.loads(path.read_text())
        cfg = config_from_dict(rec["config"])
        assert type(cfg) is cls and cfg.command == rec["command"]
        d = config_dict(cfg)
        assert set(d) - set(rec["config"]) <= {"probe_set", "report_probe_set"}  # options added since
        assert {k: v for k, v in d.items() if k in rec["config"]}.items() <= rec["config"].items()
        # a record from before the probe set existed probed the benchmark's validation points
        legacy = "probe_set" not in rec["config"]
        assert cfg.probe_set == ("benchmark-val" if legacy else rec["config"]["probe_set"])
        argv = shlex.split(rec["command"])[3:] + (["--probe-set", "benchmark-val"] if legacy else [])
        again, _ = parse_config(rec["model"], argv)
        da = config_dict(again)
        if legacy:  # the command now needs the probe set spelled out
            da.pop("command"), d.pop("command")
        assert da == d
    # a resume state whose config also lists the other model's options
    tr = Trainer(tiny(tmp_path, epochs=1), pairs)
    tr.train_epoch(0)
    tr.epoch, tr.history = 1, [{"epoch": 1, "old": True}]
    st = tr.state()
    st["config"] = json.dumps({**json.loads(st["config"]), "csp_hidden": 512, "csp_layers": 1})
    torch.save(st, tmp_path / "last.ckpt")
    resumed = pretrain(tiny(tmp_path, epochs=2, resume=True), pairs=pairs, verbose=False)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2] and resumed["history"][0]["old"]


def test_tiny_run_records_its_probe_set_as_tuned_on(tmp_path, pairs, monkeypatch):
    from geobench.encoders.pretraining import selection

    monkeypatch.setattr(selection, "SELECTION_N", 400)  # a small selection set (same builders, seed 2)
    rec = pretrain(tiny(tmp_path / "sel", epochs=1, probe=True), pairs=pairs, verbose=False)
    t = rec["tuned_on"]
    assert t["probe_set"] == "selection" and t["tasks"] == ["elevation", "population"]
    assert t["builder_options"] == {"n_points": 400, "seed": 2}
    assert t["disjoint_from_benchmark"]["coinciding_points"] == 0
    assert t["coinciding_with_training_locations"] == 0
    saved = json.loads((tmp_path / "sel" / "satclip_L10.json").read_text())
    assert saved["tuned_on"] == t and saved["config"]["probe_set"] == "selection"
    assert set(saved["probes_val"]) == {"elevation", "population"}
    assert "probe_air_temperature" not in saved["history"][-1] and "probe_mean" in saved["history"][-1]
    # a probe set that shares points with the benchmark stops the run before any training
    monkeypatch.setattr(selection, "SELECTION_SEED", 0)
    from geobench.encoders.pretraining.selection import SelectionOverlapError

    with pytest.raises(SelectionOverlapError, match="shares points with the benchmark"):
        pretrain(tiny(tmp_path / "bad", epochs=1, probe=True), pairs=pairs, verbose=False)
    assert not (tmp_path / "bad" / "last.ckpt").exists()


def test_probe_set_options_and_legacy_records():
    from geobench.encoders.pretraining.cli import parse_config
    from geobench.encoders.pretraining.config import config_from_dict
    from geobench.errors import InputError

    cfg, _ = parse_config("satclip", [])
    assert cfg.probe_set == "selection" and cfg.probe_tasks == ("elevation", "population")
    old, _ = parse_config("csp", ["--probe-set", "benchmark-val"])
    assert old.probe_tasks == ("air_temperature", "elevation", "population")
    # records written before the probe set existed probed the benchmark's validation points
    legacy = {"model": "satclip", "probe_tasks": ["air_temperature", "elevation", "population"]}
    assert config_from_dict(legacy).probe_set == "benchmark-val"
    with pytest.raises(InputError, match="unknown probe set"):
        make_config("satclip", probe_set="test").check()
