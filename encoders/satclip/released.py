"""Released SatCLIP weights by name (``satclip:weights=NAME``), fetched from the Hugging Face hub.

The six location encoders of Klemmer et al. live in the hub repos ``microsoft/SatCLIP-*``
(:data:`RELEASED`). :func:`fetch_released` downloads a file once with ``huggingface_hub`` into
``$GEOBENCH_CACHE/hub`` (the hub's own cache layout) and afterwards reuses the cached file
without contacting the hub. A download is checked against the LFS sha256 the hub reports
(the file's ETag); a cached file against its blob name, which huggingface_hub sets to that
ETag. A mismatch removes the file and raises :class:`~geobench.errors.ChecksumError`.
Offline (``HF_HUB_OFFLINE=1``, or the hub unreachable) with nothing cached raises one
:class:`~geobench.errors.DataError` naming the fixes. ``HF_ENDPOINT`` selects another hub.
``huggingface_hub`` is imported only here, and only when released weights are used.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from geobench.cache import cache_dir, sha256_file
from geobench.errors import ChecksumError, DataError, InputError

from .register import SATCLIP_CITATION

S2_100K = "S2-100K (Sentinel-2)"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class ReleasedWeights:
    """One released SatCLIP location encoder: where it lives on the hub and what it is."""

    name: str
    repo_id: str
    filename: str
    L: int  # spherical-harmonic degrees (the checkpoint's legendre_polys)
    image_encoder: str  # the image tower it was trained with (not used here)
    license: str = "MIT"
    citation: str = SATCLIP_CITATION
    trained_on: tuple[str, ...] = (S2_100K,)
    revision: str = "main"

    @property
    def page(self) -> str:
        return f"https://huggingface.co/{self.repo_id}"


RELEASED: dict[str, ReleasedWeights] = {w.name: w for w in (
    ReleasedWeights("resnet18-l10", "microsoft/SatCLIP-ResNet18-L10", "satclip-resnet18-l10.ckpt", 10, "ResNet18"),
    ReleasedWeights("resnet18-l40", "microsoft/SatCLIP-ResNet18-L40", "satclip-resnet18-l40.ckpt", 40, "ResNet18"),
    ReleasedWeights("resnet50-l10", "microsoft/SatCLIP-ResNet50-L10", "satclip-resnet50-l10.ckpt", 10, "ResNet50"),
    ReleasedWeights("resnet50-l40", "microsoft/SatCLIP-ResNet50-L40", "satclip-resnet50-l40.ckpt", 40, "ResNet50"),
    ReleasedWeights("vit16-l10", "microsoft/SatCLIP-ViT16-L10", "satclip-vit16-l10.ckpt", 10, "ViT16"),
    ReleasedWeights("vit16-l40", "microsoft/SatCLIP-ViT16-L40", "satclip-vit16-l40.ckpt", 40, "ViT16"),
)}


def released_weights(name: str) -> ReleasedWeights:
    """The table entry for ``name``; InputError listing the valid names otherwise."""
    try:
        return RELEASED[name]
    except KeyError:
        raise InputError(f"satclip: unknown released weights {name!r}; valid names: {', '.join(RELEASED)} "
                         "(e.g. satclip:weights=vit16-l40)") from None


def hub_cache() -> Path:
    """The folder huggingface_hub caches released weights in: ``$GEOBENCH_CACHE/hub``."""
    return cache_dir("hub")


def _offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return env or bool(getattr(constants, "HF_HUB_OFFLINE", False))


def _unavailable(w: ReleasedWeights, root: Path, why: str) -> DataError:
    return DataError(
        f"released SatCLIP weights {w.name!r} (file {w.filename} in the Hugging Face hub repo {w.repo_id}) are "
        f"not in the cache {root} and cannot be downloaded: {why}. Fix: when online, unset HF_HUB_OFFLINE (and "
        f"check HF_ENDPOINT) so geobench downloads the file once and reuses it; or download {w.filename} from "
        f"{w.page} yourself and pass satclip:ckpt=PATH")


def _short(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg[:300]}" if msg else type(e).__name__


def _evict(path: Path) -> None:
    """Remove a cached file: the snapshot entry and the blob it points to."""
    blob = Path(os.path.realpath(path))
    for p in {Path(path), blob}:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _verify(w: ReleasedWeights, path: Path, expected: str | None, where: str) -> None:
    if expected is None:
        return
    got = sha256_file(path)
    if got != expected:
        _evict(path)
        raise ChecksumError(
            f"released SatCLIP weights {w.name!r} ({w.repo_id}/{w.filename}, {where}): sha256 {got} differs from "
            f"the LFS sha256 {expected} reported by the hub; the file was removed from the cache. Run again to "
            "download it anew; if that fails too, check HF_ENDPOINT and any proxy in between")


def _download(w: ReleasedWeights, root: Path) -> Path:
    if _offline():
        raise _unavailable(w, root, "HF_HUB_OFFLINE is set")
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    endpoint = os.environ.get("HF_ENDPOINT") or None
    try:  # the HEAD call fails fast when the hub is unreachable (no retries), before hf_hub_download's backoff
        meta = get_hf_file_metadata(hf_hub_url(w.repo_id, w.filename, revision=w.revision, endpoint=endpoint))
        path = Path(hf_hub_download(w.repo_id, w.filename, revision=w.revision, cache_dir=root, endpoint=endpoint,
                                    library_name="geobench"))
    except Exception as e:  # network, HTTP and hub errors of any huggingface_hub version (requests or httpx)
        raise _unavailable(w, root, f"the hub at {endpoint or 'https://huggingface.co'} did not deliver it "
                                    f"({_short(e)})") from None
    etag = (meta.etag or "").lower()
    _verify(w, path, etag if _SHA256.fullmatch(etag) else None, "just downloaded")
    return path


def fetch_released(w: ReleasedWeights) -> tuple[Path, dict]:
    """Local path of ``w``'s checkpoint (downloaded on first use) and its hub provenance
    (``hub_repo``, ``hub_file``, ``hub_revision``, ``hub_commit``)."""
    from huggingface_hub import try_to_load_from_cache

    root = hub_cache()
    cached = try_to_load_from_cache(w.repo_id, w.filename, cache_dir=root, revision=w.revision)
    if isinstance(cached, str):  # reuse without contacting the hub
        path = Path(cached)
        blob = Path(os.path.realpath(path)).name
        _verify(w, path, blob if _SHA256.fullmatch(blob) else None, f"cached in {root}")
    else:
        path = _download(w, root)
    commit = path.parent.name if _COMMIT.fullmatch(path.parent.name) else None
    return path, {"hub_repo": w.repo_id, "hub_file": w.filename, "hub_revision": w.revision, "hub_commit": commit}


__all__ = ["RELEASED", "ReleasedWeights", "released_weights", "fetch_released", "hub_cache", "S2_100K"]
