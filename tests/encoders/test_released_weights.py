"""Released SatCLIP weights by name (satclip:weights=NAME) against a stand-in Hugging Face hub.

The stand-in runs two stdlib HTTP servers on 127.0.0.1, as the real hub serves an LFS file:
the hub answers HEAD/GET on ``/{repo_id}/resolve/{revision}/{filename}`` with a 302 to a
"CDN" origin (another port) and the headers huggingface_hub reads (``X-Repo-Commit``,
``X-Linked-Etag`` = the file's sha256, ``X-Linked-Size``, ``ETag``); the CDN serves the bytes
with ``Content-Length`` and ``ETag``. No request leaves the machine.
"""
from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from geobench.encoding import get_encoder
from geobench.errors import ChecksumError, DataError, InputError

FIX = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "satclip"
CKPT = FIX / "satclip_sh10_siren256_seed0.ckpt"
REPO, FILE = "microsoft/SatCLIP-ResNet18-L10", "satclip-resnet18-l10.ckpt"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class StandInHub:
    """A hub origin and a CDN origin serving ``files[(repo_id, filename)] = bytes``.

    ``tamper=True`` serves bytes that differ from the advertised sha256 (same length).
    ``requests`` logs (origin, method, path) of every request to either server.
    """

    def __init__(self, files: dict[tuple[str, str], bytes]):
        self.files, self.tamper, self.requests = files, False, []
        self.by_sha = {hashlib.sha256(b).hexdigest(): b for b in files.values()}
        self.hub = self._serve("hub", self._hub)
        self.cdn = self._serve("cdn", self._cdn)
        self.url = f"http://127.0.0.1:{self.hub.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{self.cdn.server_address[1]}"

    def _serve(self, origin: str, answer):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):
                hub.requests.append((origin, "HEAD", self.path))
                answer(self, body=False)

            def do_GET(self):
                hub.requests.append((origin, "GET", self.path))
                answer(self, body=True)

            def log_message(self, *a):
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return srv

    def _reply(self, h, status: int, headers: dict, body: bytes = b"") -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        if body:
            h.wfile.write(body)

    def _hub(self, h, body: bool) -> None:
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", h.path.split("?")[0])
        data = self.files.get((m.group(1), m.group(3))) if m else None
        if data is None:  # unknown file, or another API (e.g. /api/agent-harnesses)
            return self._reply(h, 404, {"X-Error-Code": "EntryNotFound", "Content-Length": "0"})
        sha = hashlib.sha256(data).hexdigest()
        self._reply(h, 302, {"Location": f"{self.cdn_url}/lfs/{sha}", "X-Repo-Commit": COMMIT,
                             "ETag": f'"{sha}"', "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)),
                             "Content-Length": "0"})

    def _cdn(self, h, body: bool) -> None:
        sha = h.path.split("?")[0].rsplit("/", 1)[-1]
        data = self.by_sha.get(sha)
        if data is None:
            return self._reply(h, 404, {"Content-Length": "0"})
        if self.tamper:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        self._reply(h, 200, {"Content-Length": str(len(data)), "ETag": f'"{sha}"',
                             "Content-Type": "application/octet-stream"}, data if body else b"")

    def close(self) -> None:
        for s in (self.hub, self.cdn):
            s.shutdown()
            s.server_close()


def _point_hf_at(monkeypatch, tmp_path, url: str) -> None:
    import huggingface_hub.constants as C

    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(C, "ENDPOINT", url)  # read at import time by this huggingface_hub version
    monkeypatch.setattr(C, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(C, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


@pytest.fixture
def hub(tmp_path, monkeypatch, empty_cache):
    h = StandInHub({(REPO, FILE): CKPT.read_bytes()})
    _point_hf_at(monkeypatch, tmp_path, h.url)
    yield h
    h.close()


def _coords():
    return np.load(FIX / "coords.npy")


def test_table_declares_the_six_releases():
    from geobench.encoders.satclip.released import RELEASED

    assert list(RELEASED) == ["resnet18-l10", "resnet18-l40", "resnet50-l10", "resnet50-l40", "vit16-l10", "vit16-l40"]
    for name, w in RELEASED.items():
        image, L = name.split("-l")
        assert w.L == int(L) and w.filename == f"satclip-{name}.ckpt"
        assert w.repo_id.lower() == f"microsoft/satclip-{image}-l{L}" and w.repo_id.startswith("microsoft/SatCLIP-")
        assert w.license == "MIT" and "SatCLIP" in w.citation and w.trained_on == ("S2-100K (Sentinel-2)",)
    assert RELEASED["vit16-l40"].repo_id == "microsoft/SatCLIP-ViT16-L40"


def test_download_lands_in_cache_matches_ckpt_and_is_reused(hub, empty_cache, monkeypatch):
    enc = get_encoder("satclip:weights=resnet18-l10")
    assert any(r[:2] == ("cdn", "GET") for r in hub.requests)
    path = Path(enc.meta["checkpoint"])
    assert path.is_file() and path.resolve().is_relative_to(empty_cache.resolve() / "hub")
    sha = hashlib.sha256(CKPT.read_bytes()).hexdigest()
    assert enc.meta["weights_sha256"] == sha
    assert (enc.meta["hub_repo"], enc.meta["hub_file"], enc.meta["hub_commit"]) == (REPO, FILE, COMMIT)
    assert enc.meta["kind"] == "pretrained" and enc.meta["L"] == 10 and "training" not in enc.meta
    assert enc.meta["trained_on"] == ("S2-100K (Sentinel-2)",) and enc.meta["tuned_on"] == ()
    assert enc.meta["spec"] == "satclip:weights=resnet18-l10"
    emb = enc.encode(_coords())
    assert np.array_equal(emb, get_encoder(f"satclip:ckpt={CKPT}").encode(_coords()))

    hub.requests.clear()
    again = get_encoder("satclip:weights=resnet18-l10")
    assert hub.requests == []  # the cached file is used without asking the hub
    assert again.meta["weights_sha256"] == sha and np.array_equal(again.encode(_coords()), emb)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline with the file cached: works
    assert get_encoder("satclip:weights=resnet18-l10").meta["weights_sha256"] == sha
    assert hub.requests == []


def test_tampered_download_raises_checksum_error_and_is_not_cached(hub):
    hub.tamper = True
    with pytest.raises(ChecksumError, match="LFS sha256") as e:
        get_encoder("satclip:weights=resnet18-l10")
    assert hashlib.sha256(CKPT.read_bytes()).hexdigest() in str(e.value)
    hub.tamper = False
    hub.requests.clear()
    enc = get_encoder("satclip:weights=resnet18-l10")  # downloaded anew, not the bad copy
    assert any(r[:2] == ("cdn", "GET") for r in hub.requests)
    assert enc.meta["weights_sha256"] == hashlib.sha256(CKPT.read_bytes()).hexdigest()


def test_corrupted_cached_file_is_detected_and_removed(hub):
    path = Path(get_encoder("satclip:weights=resnet18-l10").meta["checkpoint"])
    blob = path.resolve()
    blob.chmod(0o644)
    blob.write_bytes(b"\0" + blob.read_bytes()[1:])
    with pytest.raises(ChecksumError, match="cached in"):
        get_encoder("satclip:weights=resnet18-l10")
    assert not blob.exists() and not path.exists()


def test_offline_with_empty_cache_names_the_fixes(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError) as e:
        get_encoder("satclip:weights=resnet18-l10")
    msg = str(e.value)
    for part in ("satclip:ckpt=", "HF_HUB_OFFLINE", REPO, FILE):
        assert part in msg, part
    assert e.value.__cause__ is None and e.value.__context__ is None
    assert hub.requests == []


def test_unreachable_hub_is_one_data_error(tmp_path, monkeypatch, empty_cache):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _point_hf_at(monkeypatch, tmp_path, f"http://127.0.0.1:{port}")
    with pytest.raises(DataError) as e:
        get_encoder("satclip:weights=vit16-l40")
    msg = str(e.value)
    for part in ("satclip:ckpt=", "HF_HUB_OFFLINE", "microsoft/SatCLIP-ViT16-L40", "satclip-vit16-l40.ckpt"):
        assert part in msg, part
    assert e.value.__cause__ is None and e.value.__suppress_context__  # no chained huggingface_hub traceback


def test_missing_file_on_the_hub_is_a_data_error(hub):
    with pytest.raises(DataError, match="microsoft/SatCLIP-ResNet50-L40"):
        get_encoder("satclip:weights=resnet50-l40")


@pytest.mark.parametrize("spec, parts", [
    ("satclip:weights=resnet18-l40:L=10", ("weights=resnet18-l40", "L=40", "L=10")),
    ("satclip:weights=vit16-l10:L=40", ("weights=vit16-l10", "L=10", "L=40")),
    ("satclip:weights=resnet18-l10:ckpt=/x.ckpt", ("weights=", "ckpt=", "not both")),
    ("satclip:weights=resnet34-l10", ("resnet34-l10", "resnet18-l10", "vit16-l40")),
    ("satclip:sh=approx", ("sh must be one of",)),
])
def test_option_errors_before_any_download(spec, parts, hub):
    with pytest.raises(InputError) as e:
        get_encoder(spec)
    for p in parts:
        assert p in str(e.value), p
    assert hub.requests == []


def test_explicit_matching_L_is_accepted(hub):
    enc = get_encoder("satclip:weights=resnet18-l10:L=10")
    assert enc.meta["L"] == 10 and enc.meta["spec"] == "satclip:L=10:weights=resnet18-l10"


def test_huggingface_hub_is_a_declared_dependency():
    import tomllib

    py = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    deps = py["project"]["dependencies"]
    assert any(d.replace(" ", "").startswith("huggingface_hub>=") for d in deps)
