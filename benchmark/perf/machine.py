"""The machine, package versions and thread pools a perf run was measured on."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def machine_info() -> dict:
    import psutil

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover
        affinity = None
    return {"cpu_model": cpu, "logical_cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False),
            "usable_cores": affinity, "memory_bytes": psutil.virtual_memory().total,
            "memory_gb": round(psutil.virtual_memory().total / 1e9, 2), "platform": platform.platform(),
            "python": platform.python_version()}


def versions_info() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from geobench.provenance import git_commit, versions

    out = dict(versions())
    for p in ("scipy", "threadpoolctl", "joblib", "distributed", "psutil", "mlflow"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    out["git_commit"] = git_commit()
    return out


def thread_info(limit: int) -> dict:
    """Thread counts: torch and every BLAS/OpenMP pool (threadpoolctl), by default and
    inside the ``limit_threads(limit)`` used for all in-process measurements."""
    from threadpoolctl import threadpool_info

    from geobench.threads import limit_threads

    import torch  # noqa: F401  (so that its pools are visible and limited)

    def pools():
        return [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "prefix")}
                for p in threadpool_info()]

    default = {"torch": torch.get_num_threads(), "pools": pools()}
    with limit_threads(limit):
        limited = {"torch": torch.get_num_threads(), "pools": pools()}
    env = {k: os.environ.get(k) for k in ("GEOBENCH_THREADS", "GEOBENCH_CORES", "OMP_NUM_THREADS",
                                          "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    return {"limit": limit, "default": default, "measured_under_limit": limited, "env": env}
