"""geobench: how good is a location encoder on real downstream tasks, and where on Earth does it fail?

Coordinates are ``(lon, lat)`` float64 degrees everywhere inside geobench.
Heavy modules are imported lazily; ``import geobench`` is cheap and has no side effects.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "evaluate"]


def __getattr__(name: str):
    if name == "evaluate":
        from geobench.api import evaluate

        return evaluate
    raise AttributeError(name)
