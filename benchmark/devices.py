"""The torch device of the MLP head and the torch encoders (``--device``).

``cpu`` is the default and the only device tested here. ``cuda`` and ``mps`` are passed to
torch as they are; their results are not bit-identical to CPU ones (different kernels and
summation order), so a device other than ``cpu`` is part of a cell's identity (the head and
encoder specs carry it).
"""
from __future__ import annotations

from typing import Any

from geobench.errors import InputError

DEVICES = ("cpu", "cuda", "mps")


def check_device(name: str) -> str:
    """``name`` if it is one of :data:`DEVICES`, else InputError naming them."""
    if name not in DEVICES:
        raise InputError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    return name


def torch_device(name: str) -> Any:
    """``torch.device(name)``, after checking that this machine's torch can use it
    (InputError naming the fix, ``--device cpu``, when it cannot)."""
    import torch

    check_device(name)
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device 'cuda' is not available: torch {torch.__version__} sees no CUDA GPU "
                         "(a CPU build, or no driver); use --device cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("device 'mps' is not available: it needs Apple silicon and a torch build with MPS; "
                         "use --device cpu")
    return torch.device(name)


def work_dtype(name: str) -> Any:
    """The torch dtype the torch encoders compute in on device ``name``: float64, or float32 on
    ``mps`` (which has no float64)."""
    import torch

    return torch.float32 if name == "mps" else torch.float64


def device_meta(name: str) -> dict[str, str]:
    """An encoder's ``meta`` entry for device ``name``: ``{"device": name}``, or nothing on ``cpu`` (so
    CPU identities are those of the code before ``--device`` existed)."""
    return {} if name == "cpu" else {"device": check_device(name)}


def cuda_ids(dev: Any) -> list[int]:
    """The CUDA device ids whose RNG ``torch.random.fork_rng`` must save and restore for work on
    torch device ``dev`` (``[]`` off CUDA, so nothing CUDA is touched on CPU)."""
    if getattr(dev, "type", "cpu") != "cuda":
        return []
    import torch

    return [dev.index if dev.index is not None else torch.cuda.current_device()]
