"""The executor seam for the fit phase: serial, joblib (loky) or Dask distributed.

Each executor maps a picklable function over jobs and yields results *as they finish*,
so the driver can record every cell immediately (a crash loses only cells in flight).
Workers x threads per worker never exceed the cores given.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterator

EXECUTORS = ("serial", "joblib", "dask")


def default_cores() -> int:
    return int(os.environ.get("GEOBENCH_CORES", os.cpu_count() or 1))


def run_jobs(fn: Callable[[Any], Any], jobs: list, *, executor: str = "serial", n_jobs: int | None = None,
             scheduler: str | None = None) -> Iterator[Any]:
    """Yield ``fn(job)`` for every job, in completion order."""
    if executor not in EXECUTORS:
        from geobench.errors import UnknownNameError
        from geobench.registry import unknown_name_message

        raise UnknownNameError(unknown_name_message("executor", executor, EXECUTORS))
    if not jobs:
        return iter(())
    if executor == "serial" or (executor == "joblib" and (n_jobs or 1) <= 1):
        return (fn(j) for j in jobs)
    if executor == "joblib":
        from joblib import Parallel, delayed

        par = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
        return iter(par(delayed(fn)(j) for j in jobs))
    return _dask(fn, jobs, n_jobs or 2, scheduler)


SCHEDULER_TIMEOUT_S = 5.0


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Raise an InputError unless the Dask scheduler at ``address`` (``tcp://HOST:PORT``) accepts
    a connection within ``timeout`` seconds; the runner calls it before the embedding phase."""
    import socket
    from urllib.parse import urlsplit

    from geobench.errors import InputError

    u = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = u.hostname, u.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise InputError(f"--scheduler {address!r} is not an address; write tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise InputError(f"cannot reach the Dask scheduler {address} ({e.strerror or e}); start it "
                         f"(`dask scheduler` and `dask worker {address}`), fix --scheduler, or leave --scheduler "
                         "out for a local cluster") from None


def _dask(fn, jobs: list, n_workers: int, scheduler: str | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        check_scheduler(scheduler)
        client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S * 2:.0f}s")
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    try:
        futures = client.map(fn, jobs, pure=False)
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def threads_per_worker(executor: str, n_jobs: int | None, cores: int | None = None) -> int:
    """Threads each worker may use so that workers x threads <= cores."""
    cores = cores or default_cores()
    workers = 1 if executor == "serial" else max(1, n_jobs or cores)
    return max(1, cores // workers)
