"""geobench: how good is a location encoder on real downstream tasks, and where on Earth does it fail?

Coordinates are ``(lon, lat)`` float64 degrees everywhere inside geobench.
Heavy modules are imported lazily; ``import geobench`` is cheap and has no side effects.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

# The distribution (what pip installs) is ``geobench-locenc``: ``geobench`` on PyPI is another
# project (ServiceNow's GEO-Bench), which also installs a top-level ``geobench`` package.
DISTRIBUTION = "geobench-locenc"

try:
    __version__ = _version(DISTRIBUTION)
except PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"

__all__ = ["__version__", "evaluate"]


def __getattr__(name: str):
    if name == "evaluate":
        from geobench.api import evaluate

        return evaluate
    raise AttributeError(name)
