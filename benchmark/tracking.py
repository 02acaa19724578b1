"""Moved to :mod:`geobench.reporting.tracking`; this alias goes when imports are rewritten."""
from geobench.reporting.tracking import Tracker  # noqa: F401
