"""Torch plumbing shared by the encoders and pretraining: safe file loading, thread limits.

:func:`load_torch_file` is the one place that calls ``torch.load``: always on CPU with
``weights_only=True`` (plain tensors and containers only; arbitrary pickled objects are
refused). :func:`torch_threads` caps torch's threads inside a block without ever raising
the current count. Both import torch only when called.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from geobench.errors import CheckpointError


def load_torch_file(path: str | Path, *, what: str, fix: str, missing_fix: str | None = None,
                    expected: str = "a PyTorch checkpoint") -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with clear errors.

    Raises :class:`CheckpointError` ``"<what> <path>: <cause>; <fix>"`` if the file is missing
    (``missing_fix`` if given, else ``fix``) or cannot be read (corrupt, not a torch file, or it
    pickles objects other than tensors and plain containers). ``expected`` names what the
    file should hold. Validating the content is the caller's job.
    """
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{what} {path}: file not found; {missing_fix or fix}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError (zip), EOFError, ...
        raise CheckpointError(
            f"{what} {path}: cannot be read as {expected} with torch.load(weights_only=True) "
            f"({type(e).__name__}: {str(e)[:300]}). It is corrupt, not a PyTorch file, or pickles objects "
            f"other than tensors and plain containers; {fix}") from e


@contextmanager
def torch_threads(n: int = 2) -> Iterator[None]:
    """At most ``n`` torch (and BLAS/OpenMP) threads inside the block, never more than torch
    already has: a worker limited to 1 thread stays at 1. A thin wrapper of
    :func:`geobench.threads.limit_threads`."""
    import torch

    from geobench.threads import limit_threads

    with limit_threads(max(1, min(int(n), torch.get_num_threads()))):
        yield


__all__ = ["load_torch_file", "torch_threads"]
