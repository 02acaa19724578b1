"""Moved to :mod:`geobench.reporting.continents` and :mod:`geobench.reporting.png`; this alias
goes when imports are rewritten."""
from geobench.reporting.continents import plot_continents_from_runs  # noqa: F401
