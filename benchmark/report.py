"""Moved to :mod:`geobench.evaluation.grid` (the grid) and :mod:`geobench.reporting` (figures,
results page); this alias goes when imports are rewritten."""
from geobench.evaluation.grid import grid_plan, reproduce_tasks  # noqa: F401
from geobench.reporting.figures import MAP_ENCODERS  # noqa: F401
