"""Trained-on / tuned-on metadata of the learned encoders (EncoderEntry and meta)."""
from __future__ import annotations

import json
from pathlib import Path

from geobench.encoding import ENCODERS, get_encoder

ROOT = Path(__file__).resolve().parents[2]
CKPT = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "satclip" / "satclip_sh10_siren256_seed0.ckpt"


def test_trained_on_and_tuned_on():
    from geobench.encoders.pretraining.probes import VAL_TASKS
    from geobench.encoders.satclip.register import BLUE_MARBLE

    records = [ROOT / "encoders" / "satclip" / "checkpoints" / f"satclip_L{L}.json" for L in (10, 40)]
    records.append(ROOT / "encoders" / "checkpoints" / "csp.json")
    for p in records:  # what the shipped checkpoints were trained on and selected with
        rec = json.loads(p.read_text())
        assert rec["data"]["source"] == "bmng" and tuple(rec["config"]["probe_tasks"]) == VAL_TASKS, p.name
    for name in ("satclip-bm", "csp-bm"):
        entry = ENCODERS.get(name)
        assert (entry.trained_on, entry.tuned_on) == ((BLUE_MARBLE,), VAL_TASKS)
        meta = get_encoder(name).meta
        assert (meta["trained_on"], meta["tuned_on"]) == ((BLUE_MARBLE,), VAL_TASKS)
    assert ENCODERS.get("geoclip").trained_on == ("MP-16 (Flickr)",) and ENCODERS.get("geoclip").tuned_on == ()
    assert ENCODERS.get("sh").trained_on == () and "trained_on" not in get_encoder("wrap").meta
    user = get_encoder(f"satclip:ckpt={CKPT}").meta
    assert user["trained_on"] is None and user["tuned_on"] is None


def test_csp_user_checkpoint_is_unknown():
    from geobench.encoders.csp import CHECKPOINT

    meta = get_encoder(f"csp:ckpt={CHECKPOINT}").meta
    assert meta["trained_on"] is None and meta["tuned_on"] is None
