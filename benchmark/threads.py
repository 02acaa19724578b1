"""Thread limits for BLAS/OpenMP, torch and LightGBM so that heads never oversubscribe.

The benchmark machine has few cores; every head runs inside :func:`limit_threads` and
passes the same ``n`` to LightGBM's ``num_threads``.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from typing import Iterator

from geobench.errors import InputError

# Environment variables read by BLAS/OpenMP runtimes when they are first loaded.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def default_threads() -> int:
    """Threads per head: ``$GEOBENCH_THREADS`` if set, else 2."""
    raw = os.environ.get("GEOBENCH_THREADS", "2")
    try:
        n = int(raw)
    except ValueError:
        raise InputError(f"GEOBENCH_THREADS={raw!r} is not an integer; set it to e.g. 2") from None
    return _check(n)


# The innermost limit_threads() limit of this thread / context (None outside any).
_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar("geobench_thread_limit", default=None)


def current_limit() -> int:
    """The innermost :func:`limit_threads` limit, else ``$OMP_NUM_THREADS`` (set by
    :func:`set_thread_env`), else :func:`default_threads`. For code that picks its own
    thread count (the compiled SH kernel)."""
    n = _LIMIT.get()
    if n is not None:
        return n
    raw = os.environ.get("OMP_NUM_THREADS")
    if raw and raw.isdigit() and int(raw) > 0:
        return int(raw)
    return default_threads()


def _check(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise InputError(f"thread count must be a positive integer, got {n!r}")
    return n


def set_thread_env(n: int) -> None:
    """Limit this process to ``n`` threads, process-wide and permanently.

    Sets the BLAS/OpenMP environment variables (effective for runtimes loaded later),
    applies threadpoolctl limits to the runtimes already loaded, and calls
    ``torch.set_num_threads(n)`` if torch is already imported (torch is never imported
    here just to set a limit).
    """
    n = _check(n)
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(n)


@contextlib.contextmanager
def limit_threads(n: int = 2) -> Iterator[int]:
    """Context manager: at most ``n`` BLAS/OpenMP threads and ``n`` torch threads inside.

    Previous limits are restored on exit. Torch is limited only if already imported
    (heads that use torch import it before entering). Yields ``n``.
    """
    n = _check(n)
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    prev_torch = None
    if torch is not None and hasattr(torch, "get_num_threads"):
        prev_torch = torch.get_num_threads()
        torch.set_num_threads(n)
    token = _LIMIT.set(n)
    try:
        with threadpool_limits(limits=n):
            yield n
    finally:
        _LIMIT.reset(token)
        if prev_torch is not None:
            torch.set_num_threads(prev_torch)
