"""geobench: how good is a location encoder on real downstream tasks, and where on Earth does it fail?

Coordinates are ``(lon, lat)`` float64 degrees everywhere inside geobench.
Heavy modules are imported lazily; ``import geobench`` is cheap. Its one side effect: it sets
``MKL_CBWR=AUTO,STRICT`` unless already set (:data:`MKL_CBWR`).
"""
from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version as _version

# Intel MKL (torch's CPU BLAS) may pick a kernel by the memory alignment of its operands, so the
# same training run can round differently from one run to the next (measured: an MLP trained alone
# or interleaved with others in the search differed by 1e-6). ``STRICT`` conditional numerical
# reproducibility makes the results independent of alignment, on the code path MKL picks for
# this CPU (``AUTO``). MKL reads the variable at its first call, so it is set here, before
# geobench runs any torch code; a process that ran MKL before importing geobench keeps its mode.
MKL_CBWR = "AUTO,STRICT"
# True when this import set the variable after torch was already loaded: MKL may have started in
# its default mode, so the records then say the mode is not known (``provenance.mkl_cbwr``).
MKL_CBWR_LATE = "MKL_CBWR" not in os.environ and "torch" in sys.modules
os.environ.setdefault("MKL_CBWR", MKL_CBWR)
if MKL_CBWR_LATE:
    import warnings

    warnings.warn("torch was imported before geobench, so MKL_CBWR=AUTO,STRICT may come too late for MKL and "
                  "torch results may depend on memory alignment; import geobench first, or set MKL_CBWR in the "
                  "environment", stacklevel=2)

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
