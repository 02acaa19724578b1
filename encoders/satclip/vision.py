"""Image towers in plain torch (no torchvision/timm): a ResNet-18 that loads torchvision/timm/
torchgeo state dicts, and a small CNN for end-to-end training on Blue Marble crops.

ResNet-18 (He et al. 2016) with the torchvision/timm parameter names: ``conv1`` (7x7, stride
2), ``bn1``, max-pool, ``layer1..layer4`` of two BasicBlocks (``conv1``, ``bn1``, ``conv2``,
``bn2``, and ``downsample.0``/``downsample.1`` in the first block of layers 2-4), global
average pool -> 512 features, optional ``fc``. The number of input channels is read from
``conv1.weight``, so 13-band Sentinel-2 backbones (e.g. torchgeo's
``ResNet18_Weights.SENTINEL2_ALL_MOCO``, SSL4EO-S12, a timm ``resnet18`` with ``in_chans=13``)
load as they are. Save such weights with ``torch.save(model.state_dict(), path)`` and pass
``--vision-weights path``. Prefixes ``module.``, ``model.``, ``backbone.``, ``encoder.`` and
``model.visual.`` are stripped; ``fc.*`` is ignored (the backbone is a frozen feature extractor).

Band handling: S2-100K tiles hold 12 bands (B1-B9, B8A, B11, B12; no B10 cirrus). A
13-channel backbone gets a zero band inserted at index 10 (B10's place in the L1C order
B1, B2, B3, B4, B5, B6, B7, B8, B8A, B9, B10, B11, B12). Inputs are reflectances (DN / 10000),
the normalisation of the SSL4EO MoCo weights.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from geobench.errors import CheckpointError, InputError

from ..torchutil import load_torch_file, torch_threads

STRIP_PREFIXES = ("module.", "model.visual.", "visual.", "model.", "backbone.", "encoder.")
B10_INDEX = 10


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + idt)


class ResNet18(nn.Module):
    """ResNet-18 backbone with torchvision/timm key names; ``forward`` returns (N, 512) pooled features."""

    def __init__(self, in_channels: int = 13) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths = (64, 128, 256, 512)
        cin = 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1)))
            cin = w
        self.dim = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return x.mean(dim=(2, 3))

    def adapt_bands(self, images: np.ndarray) -> np.ndarray:
        """Insert a zero B10 band into 12-band S2 images for a 13-channel backbone."""
        c = images.shape[1]
        if c == self.in_channels:
            return images
        if c == 12 and self.in_channels == 13:
            z = np.zeros_like(images[:, :1])
            return np.concatenate([images[:, :B10_INDEX], z, images[:, B10_INDEX:]], axis=1)
        raise InputError(f"images have {c} bands but the ResNet-18 expects {self.in_channels}")

    def features(self, images: np.ndarray, *, batch_size: int = 32, threads: int = 2) -> np.ndarray:
        """Frozen eval-mode features (N, 512) float32 of (N, C, H, W) float images."""
        x = self.adapt_bands(np.asarray(images, dtype=np.float32))
        self.eval()
        out = np.empty((x.shape[0], self.dim), dtype=np.float32)
        with torch.no_grad(), torch_threads(threads):
            for s in range(0, x.shape[0], batch_size):
                out[s : s + batch_size] = self(torch.from_numpy(x[s : s + batch_size])).numpy()
        return out


def _strip(sd: dict) -> dict:
    out = {}
    for k, v in sd.items():
        k = str(k)
        for p in STRIP_PREFIXES:
            if k.startswith(p):
                k = k[len(p):]
                break
        out[k] = v
    return out


def load_resnet18(path: str | Path) -> ResNet18:
    """A frozen ResNet-18 from a state_dict file (torchvision/timm/torchgeo key names).

    Raises CheckpointError if the file cannot be read with ``weights_only=True``, is not a
    state dict, or lacks/mis-shapes any backbone tensor.
    """
    path = Path(path).expanduser()
    sd = load_torch_file(path, what="--vision-weights", expected="a state_dict",
                         fix="pass a ResNet-18 state_dict saved with torch.save(model.state_dict(), path)")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not sd:
        raise CheckpointError(f"--vision-weights {path}: expected a state_dict (name -> tensor)")
    sd = _strip(sd)
    w = sd.get("conv1.weight")
    if not isinstance(w, torch.Tensor) or w.ndim != 4 or tuple(w.shape[2:]) != (7, 7) or w.shape[0] != 64:
        raise CheckpointError(f"--vision-weights {path}: no ResNet-18 conv1.weight of shape (64, C, 7, 7) "
                              f"(got {None if w is None else tuple(w.shape)}); is this a ResNet-18 backbone?")
    net = ResNet18(int(w.shape[1]))
    own = net.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise CheckpointError(f"--vision-weights {path}: missing {missing[:5]} ({len(missing)} tensors); "
                              "expected torchvision/timm ResNet-18 key names")
    for k, v in own.items():
        if k in sd and tuple(sd[k].shape) != tuple(v.shape):
            raise CheckpointError(f"--vision-weights {path}: {k} has shape {tuple(sd[k].shape)}, "
                                  f"expected {tuple(v.shape)} for a ResNet-18")
    net.load_state_dict({k: sd[k] for k in own if k in sd}, strict=False)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class SmallCNN(nn.Module):
    """A small CNN trained end to end on crops: 3 conv blocks (32, 64, 128 channels, 3x3,
    BatchNorm, ReLU, 2x2 max-pool after the first two), global average pool -> 128 features."""

    def __init__(self, in_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, 1, 1, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(),
        )
        self.dim = 4 * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))


__all__ = ["ResNet18", "SmallCNN", "load_resnet18", "B10_INDEX"]
