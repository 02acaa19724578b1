"""GeoCLIP location encoder (Vivanco Cepeda et al., NeurIPS 2023), re-implemented in plain torch.

Only the location tower is used: Equal Earth projection -> three random-Fourier-feature
capsules (sigma = 2^0, 2^4, 2^8) -> MLPs -> summed 512-d output. The weights are the
official ``location_encoder_weights.pth`` from the PyPI wheel ``geoclip==1.3.0``
(fetched through :func:`geobench.data.fetch`). The upstream model takes (lat, lon);
:meth:`GeoCLIPEncoder.encode` takes geobench's (lon, lat) and flips inside.

Every operation follows the upstream float32 order of operations, so outputs match
the official wheel to ~1e-6 (see ``tests/encoders/test_geoclip.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geobench.coords import validate_lonlat
from geobench.devices import device_meta, torch_device
from geobench.encoding import register_encoder
from geobench.errors import CheckpointError
from geobench.threads import default_threads, limit_threads

WEIGHTS_NAME = "geoclip/location_encoder_weights.pth"
SIGMAS = (2**0, 2**4, 2**8)
N_CAPSULES = 3

# Equal Earth constants, exactly as in geoclip/model/location_encoder.py.
A1 = 1.340264
A2 = -0.081106
A3 = 0.000893
A4 = 0.003796
SF = 66.50336

# state_dict suffix -> expected shape, per capsule prefix ``LocEnc{i}.``
_SHAPES: dict[str, tuple[int, ...]] = {
    "capsule.0.b": (256, 2),
    "capsule.1.weight": (1024, 512),
    "capsule.1.bias": (1024,),
    "capsule.3.weight": (1024, 1024),
    "capsule.3.bias": (1024,),
    "capsule.5.weight": (1024, 1024),
    "capsule.5.bias": (1024,),
    "head.0.weight": (512, 1024),
    "head.0.bias": (512,),
}


def equal_earth_projection(latlon):
    """Equal Earth (x, y) scaled by SF/180, from a float32 torch tensor of (lat, lon) degrees.

    Note the upstream (lat, lon) column order. Same constants and operation order as
    GeoCLIP's ``equal_earth_projection``, so float32 results match it bit for bit.
    """
    import torch

    lat = torch.deg2rad(latlon[:, 0])
    lon = torch.deg2rad(latlon[:, 1])
    sqrt3 = torch.sqrt(torch.tensor(3.0))
    theta = torch.asin((sqrt3 / 2) * torch.sin(lat))
    denominator = 3 * (9 * A4 * theta**8 + 7 * A3 * theta**6 + 3 * A2 * theta**2 + A1)
    x = (2 * sqrt3 * lon * torch.cos(theta)) / denominator
    y = A4 * theta**9 + A3 * theta**7 + A2 * theta**3 + A1 * theta
    return (torch.stack((x, y), dim=1) * SF) / 180


def load_weights(path: str | Path) -> dict[str, Any]:
    """Load and check the GeoCLIP location-encoder state_dict (27 float32 tensors).

    Raises CheckpointError if the file is not a torch state_dict or lacks the expected
    ``LocEnc{0,1,2}.*`` tensors with the expected shapes.
    """
    import torch

    from .torchutil import load_torch_file

    path = Path(path)
    fix = (f"delete {path} and fetch it again (geobench.data.fetch({WEIGHTS_NAME!r}) takes it from "
           "the geoclip==1.3.0 wheel)")
    sd = load_torch_file(path, what="GeoCLIP weights", expected="a torch state_dict", fix=fix,
                         missing_fix=f"fetch it again with geobench.data.fetch({WEIGHTS_NAME!r})")
    if not isinstance(sd, dict):
        raise CheckpointError(f"GeoCLIP weights {path} hold a {type(sd).__name__}, not a state_dict; {fix}")
    for i in range(N_CAPSULES):
        for suffix, shape in _SHAPES.items():
            key = f"LocEnc{i}.{suffix}"
            t = sd.get(key)
            if not isinstance(t, torch.Tensor):
                raise CheckpointError(f"GeoCLIP weights {path} lack tensor {key!r}; {fix}")
            if tuple(t.shape) != shape or t.dtype != torch.float32:
                raise CheckpointError(f"GeoCLIP weights {path}: {key!r} is {tuple(t.shape)} {t.dtype}, "
                                      f"expected {shape} torch.float32; {fix}")
    return sd


def _capsule(v, sd: dict, i: int):
    """One capsule: RFF (cos, sin) -> 3x (Linear, ReLU) -> Linear head. ``v``: (n, 2) float32."""
    import torch
    import torch.nn.functional as F

    p = f"LocEnc{i}."
    vp = 2 * np.pi * v @ sd[p + "capsule.0.b"].T  # (2*pi) * v first, then the matmul, as upstream
    h = torch.cat((torch.cos(vp), torch.sin(vp)), dim=-1)
    for layer in (1, 3, 5):
        h = torch.relu(F.linear(h, sd[f"{p}capsule.{layer}.weight"], sd[f"{p}capsule.{layer}.bias"]))
    return F.linear(h, sd[p + "head.0.weight"], sd[p + "head.0.bias"])


def forward_latlon(latlon, sd: dict):
    """The GeoCLIP location tower on a float32 (n, 2) tensor of (lat, lon) degrees -> (n, 512)."""
    import torch

    x = equal_earth_projection(latlon)
    out = torch.zeros(latlon.shape[0], 512, device=latlon.device)
    for i in range(N_CAPSULES):
        out += _capsule(x, sd, i)
    return out


@dataclass
class GeoCLIPEncoder:
    """Frozen GeoCLIP location encoder. ``encode((n, 2) lon/lat degrees) -> (n, 512) float32``.

    Outputs are raw (not L2-normalised), like ``LocationEncoder.forward`` upstream.
    """

    state_dict: dict = field(repr=False)
    meta: dict = field(default_factory=dict)
    name: str = "geoclip"
    dim: int = 512
    batch_size: int = 8192
    threads: int = 0  # 0: $GEOBENCH_THREADS (default 2)
    device: str = "cpu"  # torch device (cuda, mps: untested here, not bit-identical to cpu)

    def encode(self, lonlat: np.ndarray) -> np.ndarray:
        import torch
        from tqdm.auto import tqdm

        x = validate_lonlat(lonlat, what="geoclip input")
        latlon = np.ascontiguousarray(x[:, ::-1], dtype=np.float32)  # upstream takes (lat, lon)
        n = latlon.shape[0]
        out = np.empty((n, self.dim), dtype=np.float32)
        starts = range(0, n, self.batch_size)
        dev = torch_device(self.device)
        sd = self.state_dict if self.device == "cpu" else {k: v.to(dev) for k, v in self.state_dict.items()}
        with torch.no_grad(), limit_threads(self.threads or default_threads()):
            for s in tqdm(starts, desc="embed geoclip", leave=False, disable=len(starts) < 4):
                batch = torch.from_numpy(latlon[s : s + self.batch_size]).to(dev)
                out[s : s + batch.shape[0]] = forward_latlon(batch, sd).cpu().numpy()
        return out


@register_encoder(
    "geoclip",
    kind="pretrained",
    citation="Vivanco Cepeda, Nayak & Shah. GeoCLIP: Clip-Inspired Alignment between Locations and "
             "Images for Effective Worldwide Geo-localization. NeurIPS 2023",
    license="MIT",
    trained_on=("MP-16 (Flickr)",),
    description="GeoCLIP location tower (Equal Earth + 3 RFF capsules), official geoclip==1.3.0 weights, 512-d",
)
def geoclip(*, device: str = "cpu") -> GeoCLIPEncoder:
    """GeoCLIP location encoder with the official weights; (lon, lat) in, (n, 512) float32 out,
    computed on torch ``device``."""
    from geobench import data

    torch_device(device)  # an unknown or unavailable device fails here, before the weights are read
    path = data.fetch(WEIGHTS_NAME)
    sd = load_weights(path)
    meta = {"weights_sha256": data.get_declared(WEIGHTS_NAME).sha256, "weights": WEIGHTS_NAME,
            "source": "pypi:geoclip==1.3.0:geoclip/model/weights/location_encoder_weights.pth",
            "sigmas": list(SIGMAS), "normalized": False, **device_meta(device)}
    return GeoCLIPEncoder(state_dict=sd, meta=meta, device=device)


__all__ = ["GeoCLIPEncoder", "equal_earth_projection", "forward_latlon", "load_weights", "geoclip",
           "WEIGHTS_NAME"]
