"""The data layer: declared files, mirror fetch, checksum enforcement, atomic writes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from geobench import data
from geobench.errors import ChecksumError, DataError, InputError

MANIFEST = Path(os.environ["GEOBENCH_DATA"]) / "MANIFEST.json"


def test_declarations_match_manifest():
    man = {e["path"]: e for e in json.loads(MANIFEST.read_text())}
    decl = data.declared()
    for name, e in man.items():
        assert decl[name].sha256 == e["sha256"] and decl[name].size == e["bytes"]
    assert "geoclip/location_encoder_weights.pth" in decl


def test_sources_are_https_or_packages():
    for f in data.declared().values():
        assert f.source.kind in ("url", "pypi", "npm")
        if f.source.kind == "url":
            assert f.source.ref.startswith("https://")
    with pytest.raises(ValueError):
        data.url("http://example.org/x")


def test_names_cannot_escape():
    with pytest.raises(ValueError):
        data.DataFile("../etc/passwd", "0" * 64, 1, data.url("https://x/y"))
    with pytest.raises(ValueError):
        data.DataFile("/abs/path", "0" * 64, 1, data.url("https://x/y"))


def test_fetch_from_mirror_verifies_and_caches(empty_cache):
    p = data.fetch("air_temperature/stationDataAll.csv", offline=True)
    assert p.is_relative_to(empty_cache) and p.stat().st_size == 383938
    assert data.is_cached("air_temperature/stationDataAll.csv")
    assert data.verify("air_temperature/stationDataAll.csv") == (True, "ok")


def _corrupt_mirror(tmp_path, name, transform):
    src = Path(os.environ["GEOBENCH_DATA"]) / name
    dst = tmp_path / "mirror" / name
    dst.parent.mkdir(parents=True)
    dst.write_bytes(transform(src.read_bytes()))
    return tmp_path / "mirror"


@pytest.mark.parametrize("how,needle", [
    (lambda b: b[:-100], "truncated"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "fails its checksum"),
])
def test_bad_mirror_file_is_rejected_and_not_cached(tmp_path, empty_cache, monkeypatch, how, needle):
    name = "air_temperature/stationDataAll.csv"
    monkeypatch.setenv("GEOBENCH_DATA", str(_corrupt_mirror(tmp_path, name, how)))
    with pytest.raises(ChecksumError) as e:
        data.fetch(name, offline=True)
    msg = str(e.value)
    assert needle in msg and name in msg and "geobench data fetch" in msg
    assert not data.cache_path(name).exists()
    assert not [p for p in data.cache_path(name).parent.glob("*") if p.name.endswith(".tmp")]


def test_corrupted_cache_is_detected_by_verify_and_refetched(empty_cache):
    name = "air_temperature/stationDataAll.csv"
    p = data.fetch(name, offline=True)
    with open(p, "r+b") as f:
        f.seek(100)
        f.write(b"XXXX")
    ok, msg = data.verify(name)
    assert not ok and "fails its checksum" in msg
    # fetch notices the modified file (stamp no longer matches) and restores it from the mirror
    assert data.fetch(name, offline=True) == p
    assert data.verify(name) == (True, "ok")


def test_missing_file_names_fetch_command(empty_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("GEOBENCH_DATA", str(tmp_path / "nothing"))
    with pytest.raises(DataError) as e:
        data.fetch("population/gpw_v4_population_density_rev11_2020_15_min.tif", offline=True)
    assert "geobench data fetch" in str(e.value) and "GEOBENCH_DATA" in str(e.value)


def test_unknown_name_lists_valid():
    with pytest.raises(InputError) as e:
        data.fetch("elevation/Altitud.h5")
    assert "elevation/Altitude.h5" in str(e.value)


def test_unwritable_cache(monkeypatch, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setenv("GEOBENCH_CACHE", str(ro / "sub"))
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions are not enforced
            monkeypatch.setenv("GEOBENCH_CACHE", "/proc/geobench-cache")
        with pytest.raises(DataError) as e:
            data.fetch("air_temperature/stationDataAll.csv", offline=True)
        assert "GEOBENCH_CACHE" in str(e.value)
    finally:
        ro.chmod(0o700)


def test_cli_fetch_all_and_verify(empty_cache, capsys):
    from geobench.cli import main

    names = [n for n in data.declared() if not n.startswith("geoclip/")]
    assert main(["data", "fetch", *names]) == 0
    assert main(["data", "verify", *names]) == 0
    out = capsys.readouterr().out
    assert f"{len(names)} verified, 0 failed" in out
