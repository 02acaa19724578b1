"""Everything derived from the records: leaderboard, findings, figures, the results page, the published numbers and the MLflow view."""
