"""The published numbers' data file: the loader validates every row and names the bad line."""
from __future__ import annotations

import csv

import pytest

from geobench.errors import DataError
from geobench.reporting import published as P


def _rows() -> list[dict]:
    with P.PUBLISHED_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write(tmp_path, rows, columns=None):
    p = tmp_path / "published.csv"
    with p.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, columns or list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return p


def test_the_shipped_file_loads_with_sources_for_every_row():
    rows = P.load_published()
    assert len(rows) == len(_rows()) > 0 and rows is P.load_published()  # cached
    assert all(r.source and r.table and r.evidence in P.EVIDENCE_LEVELS for r in rows)


@pytest.mark.parametrize("field, value, message", [
    ("evidence", "primary?", "evidence 'primary\\?' is not one of"),
    ("metric", "rmse", "metric 'rmse' is not one of"),
    ("split", "spatial_block", "split 'spatial_block' is not one of"),
    ("value", "nan", "value 'nan' is not a finite number"),
    ("value", "0,5", "value '0,5' is not a finite number"),
    ("source", " ", "empty 'source'"),
])
def test_a_bad_field_names_the_file_and_line(tmp_path, field, value, message):
    rows = _rows()
    rows[2][field] = value
    with pytest.raises(DataError, match=rf"published.csv:4: {message}"):
        P.load_published(_write(tmp_path, rows))


def test_duplicates_missing_columns_and_a_missing_file_are_refused(tmp_path):
    rows = _rows()
    with pytest.raises(DataError, match="published.csv:3: duplicate of line 2"):
        P.load_published(_write(tmp_path, [rows[0], {**rows[0], "value": "0.5"}]))
    with pytest.raises(DataError, match="columns"):
        P.load_published(_write(tmp_path, [{k: v for k, v in rows[0].items() if k != "note"}]))
    with pytest.raises(DataError, match="missing"):
        P.load_published(tmp_path / "nope.csv")
