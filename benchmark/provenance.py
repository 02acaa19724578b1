"""What a result row needs to reproduce itself: versions, git commit, command, machine."""
from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from geobench import DISTRIBUTION

PACKAGES = (DISTRIBUTION, "numpy", "numba", "pandas", "scikit-learn", "lightgbm", "torch", "shapely", "geopandas")


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The source tree's commit (with ``-dirty`` if modified), or ``unknown``."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def command_line() -> str:
    if not sys.argv or not sys.argv[0]:
        return ""
    prog = Path(sys.argv[0]).name
    if prog in ("__main__.py", "-m"):  # `python -m geobench ...` re-runs as `geobench ...`
        prog = "geobench"
    return " ".join([prog] + sys.argv[1:])
