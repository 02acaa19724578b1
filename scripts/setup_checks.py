"""Checks for scripts/setup.sh, run with the venv's python. Each prints nothing when all is well.

    reachable URL      exit 0 if the pip index URL answers (https within 10 s, or a local file:// folder)
    plan REQUIREMENT   exit 1, with the fix, if pip (as configured) would install a CUDA build of torch;
                       asks pip for a dry run, which reads the wheel's metadata without downloading it
    torch cpu|cuda     print the installed torch version and build; exit 1 if a GPU build is installed
                       although the CPU build was asked for
    olddist            exit 0 after printing ``geobench`` if this project is installed under its old
                       distribution name (setup.sh then uninstalls it); exit 1 if ServiceNow's GEO-Bench
                       (PyPI ``geobench``) is installed: both provide the top-level ``geobench`` package
"""
from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

CPU_FIX = ("re-run scripts/setup.sh where PyTorch's CPU index is reachable (or with GEOBENCH_TORCH_INDEX set to a "
           "mirror of it), or accept the CUDA build: GEOBENCH_TORCH=cuda bash scripts/setup.sh")


def reachable(url: str) -> bool:
    u = urlparse(url)
    if u.scheme == "file":
        return Path(unquote(u.path)).is_dir()
    ctx = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    req = urllib.request.Request(url.rstrip("/") + "/torch/", headers={"User-Agent": "pip"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status < 400
    except (OSError, ValueError):
        return False


def _gpu_requirements(meta: dict) -> list[str]:
    """The nvidia-* requirements of a wheel's metadata that apply on this machine."""
    out = []
    for r in meta.get("requires_dist") or []:
        if not r.lower().startswith("nvidia-"):
            continue
        try:
            from pip._vendor.packaging.requirements import Requirement

            m = Requirement(r).marker
            if m is not None and not m.evaluate({"extra": ""}):
                continue
        except Exception:  # noqa: BLE001 - no packaging: count it
            pass
        out.append(r.split(";")[0].strip())
    return out


def is_gpu_build(meta: dict) -> bool:
    """Whether a torch wheel's metadata (as in pip's report) is a CUDA/ROCm build on this machine."""
    ver = meta.get("version", "")
    if "+cpu" in ver:
        return False
    return bool(_gpu_requirements(meta)) or "+cu" in ver or "+rocm" in ver


def plan(requirement: str) -> int:
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                        "-q", "--report", "-", requirement], capture_output=True, text=True)
    try:
        meta = json.loads(r.stdout)["install"][0]["metadata"]
    except (ValueError, KeyError, IndexError):
        return 0  # pip could not tell; the check after installing still guards
    if not is_gpu_build(meta):
        return 0
    ver, gpu = meta.get("version", ""), _gpu_requirements(meta)
    print(f"setup.sh: PyTorch's CPU index is unreachable and pip's configured indexes offer torch {ver}, the CUDA "
          f"build (it requires {', '.join(gpu) or 'CUDA'} and their nvidia-* dependencies, ~3 GB, which geobench does "
          f"not need). Nothing was installed. Fix: {CPU_FIX}.", file=sys.stderr)
    return 1


def torch_build(want: str) -> int:
    import warnings

    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")  # numpy comes with geobench, later
    import torch

    gpu = torch.version.cuda or getattr(torch.version, "hip", None)
    kind = "CPU build" if not gpu else (f"CUDA {torch.version.cuda} build" if torch.version.cuda else f"ROCm {gpu} build")
    print(f"torch {torch.__version__} ({kind})")
    if want == "cpu" and gpu:
        print(f"setup.sh: a GPU build of torch is installed in .venv ({torch.__version__}), but the CPU build was "
              f"asked for (GEOBENCH_TORCH=cpu, the default). Fix: remove .venv and {CPU_FIX}.", file=sys.stderr)
        return 1
    return 0


def olddist() -> int:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        d = distribution("geobench")
    except PackageNotFoundError:
        return 0
    if (d.metadata["Summary"] or "").startswith("A benchmark for location encoders"):
        print("geobench")  # this project, installed before it was renamed geobench-locenc
        return 0
    print(f"setup.sh: .venv has the PyPI package geobench {d.version} (ServiceNow's GEO-Bench). It installs a "
          "top-level `geobench` package too, so the two cannot share an environment. Fix: "
          ".venv/bin/python -m pip uninstall geobench (or use another venv for GEO-Bench), then re-run.",
          file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    cmd, *rest = argv
    if cmd == "reachable":
        return 0 if reachable(rest[0]) else 1
    if cmd == "plan":
        return plan(rest[0])
    if cmd == "torch":
        return torch_build(rest[0])
    if cmd == "olddist":
        return olddist()
    raise SystemExit(f"unknown check {cmd!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
