"""Moved to :mod:`geobench.reporting.leaderboard`; this alias goes when imports are rewritten."""
from geobench.reporting.leaderboard import COLUMNS, markdown, summarize, write_leaderboard  # noqa: F401
