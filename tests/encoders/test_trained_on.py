"""Trained-on / tuned-on metadata of the learned encoders (EncoderEntry and meta)."""
from __future__ import annotations

import json
from pathlib import Path

from geobench.encoding import ENCODERS, get_encoder

ROOT = Path(__file__).resolve().parents[2]
CKPT = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "satclip" / "satclip_sh10_siren256_seed0.ckpt"
SHIPPED = {"satclip-bm": ROOT / "encoders" / "satclip" / "checkpoints" / "satclip_L10.json",
           "satclip-bm:L=40": ROOT / "encoders" / "satclip" / "checkpoints" / "satclip_L40.json",
           "csp-bm": ROOT / "encoders" / "checkpoints" / "csp.json"}


def same_probe_set(recorded: dict, current: dict) -> bool:
    """``recorded`` describes the set built now. A set recorded under points schema 1 (before
    geobench.portable; the shipped checkpoints') is the same draw with last bits that differ
    (latitudes within 2.2e-14 degrees, measured): there every field but the sha256s must agree."""
    if recorded.get("points_schema", 1) == current["points_schema"]:
        return {k: recorded[k] for k in current} == current

    def drop(d: dict) -> dict:
        d = {k: v for k, v in d.items() if k not in ("points_schema", "points_sha256", "lonlat_sha256")}
        d["disjoint_from_benchmark"] = {k: v for k, v in d["disjoint_from_benchmark"].items()
                                        if k != "benchmark_points_sha256"}
        return d

    assert current["points_schema"] == 2  # the one change of numerics this allowance is for
    return drop({k: recorded[k] for k in current if k in recorded}) == drop(current)


def test_trained_on_and_tuned_on():
    from geobench.encoders.pretraining.selection import SELECTION_TASKS, describe_probe_set
    from geobench.encoders.satclip.register import BLUE_MARBLE

    current = describe_probe_set("selection")  # the selection set as built now (checked disjoint again)
    for name, p in SHIPPED.items():  # what the shipped checkpoints were trained on and selected with
        rec = json.loads(p.read_text())
        assert rec["data"]["source"] == "bmng", p.name
        t = rec["tuned_on"]
        assert t["probe_set"] == "selection" and tuple(t["tasks"]) == SELECTION_TASKS, p.name
        assert t["disjoint_from_benchmark"]["coinciding_points"] == 0
        assert same_probe_set(t, current), p.name  # the same points as the current selection set
        meta = get_encoder(name).meta
        assert (meta["trained_on"], meta["tuned_on"]) == ((BLUE_MARBLE,), SELECTION_TASKS)
        assert meta["tuned_on_set"] == t
    for name in ("satclip-bm", "csp-bm"):
        entry = ENCODERS.get(name)
        assert (entry.trained_on, entry.tuned_on) == ((BLUE_MARBLE,), SELECTION_TASKS)
    assert ENCODERS.get("geoclip").trained_on == ("MP-16 (Flickr)",) and ENCODERS.get("geoclip").tuned_on == ()
    assert ENCODERS.get("sh").trained_on == () and "trained_on" not in get_encoder("wrap").meta
    user = get_encoder(f"satclip:ckpt={CKPT}").meta
    assert user["trained_on"] is None and user["tuned_on"] is None


def test_legacy_record_without_tuned_on_reads_as_benchmark_val(tmp_path):
    from geobench.encoders.satclip.register import shipped_tuned_on, tuned_on_meta

    ck = tmp_path / "old.ckpt"
    (tmp_path / "old.json").write_text(json.dumps({"config": {"probe_tasks": ["air_temperature", "elevation"]}}))
    assert shipped_tuned_on(ck) == {"probe_set": "benchmark-val", "tasks": ["air_temperature", "elevation"],
                                    "disjoint_from_benchmark": False}
    assert tuned_on_meta(ck)["tuned_on"] == ("air_temperature", "elevation")
    assert tuned_on_meta(tmp_path / "none.ckpt") == {"tuned_on": None, "tuned_on_set": None}


def test_csp_user_checkpoint_is_unknown():
    from geobench.encoders.csp import CHECKPOINT

    meta = get_encoder(f"csp:ckpt={CHECKPOINT}").meta
    assert meta["trained_on"] is None and meta["tuned_on"] is None


def test_registration_reads_no_checkpoint_record():
    """``tuned_on`` of the shipped checkpoints is read from their JSON records on first use,
    not when the encoders are registered (no work at import time)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda ev, args: opened.append(str(args[0])) if ev == 'open' and "
        "str(args[0]).endswith('.json') and 'checkpoints' in str(args[0]) else None)\n"
        "from geobench.encoding import ENCODERS\n"
        "ENCODERS.names()\n"
        "assert not opened, opened\n"
        "assert ENCODERS.get('satclip-bm').tuned_on and opened\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
