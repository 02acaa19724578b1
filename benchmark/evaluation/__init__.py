"""Evaluation: the plan (cells), splits, fitting one cell, the executors, metrics and run records."""
