"""The published-numbers table is well-formed plain data (no network, no data files)."""
from __future__ import annotations

import dataclasses
import math

import pytest

from geobench.reporting import published as P
from geobench.encoding import resolve_spec
from geobench.errors import UnknownNameError
from geobench.evaluation.splits import parse_split
from geobench.tasks.base import TASKS

ROWS = P.load_published()


def test_rows_are_frozen_published_records():
    assert len(ROWS) > 0
    for row in ROWS:
        assert isinstance(row, P.Published)
        with pytest.raises(dataclasses.FrozenInstanceError):
            row.value = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.task}-{r.encoder}-{r.metric}-{r.split}")
def test_row_fields_are_valid(row):
    assert row.task in TASKS.names()
    assert row.metric in P.METRICS
    assert row.head in P.HEADS
    assert row.split in P.SPLITS
    assert row.evidence in P.EVIDENCE_LEVELS
    assert row.source.strip() and row.table.strip() and row.variant.strip()
    if row.split != "unspecified":
        parse_split(row.split)  # a split geobench can actually run
    if row.encoder not in P.EXTERNAL_ENCODERS:
        assert resolve_spec(row.encoder) == row.encoder  # a canonical, runnable geobench spec
    # metric kind matches task kind, and values are in the metric's range
    kind = TASKS.get(row.task).spec.kind
    assert math.isfinite(row.value)
    if row.metric in ("accuracy", "top1"):
        assert kind == "classification"
        assert 0.0 <= row.value <= 1.0, "accuracy is stored as a fraction, not %"
        assert "%" in row.note, "conversion from % must be stated in note"
    elif row.metric == "r2":
        assert kind == "regression" and -1.0 <= row.value <= 1.0
    elif row.metric == "mse_z":
        assert kind == "regression" and 0.0 <= row.value < 2.0


def test_no_duplicate_keys_with_different_values():
    seen: dict[tuple, float] = {}
    for r in ROWS:
        key = (r.source, r.table, r.task, r.encoder, r.variant, r.head, r.split, r.metric)
        assert key not in seen, f"duplicate row {key}"
        seen[key] = r.value


def test_external_encoders_are_not_geobench_encoders():
    for name in P.EXTERNAL_ENCODERS:
        with pytest.raises(UnknownNameError):
            resolve_spec(name)


def test_no_row_claims_primary_evidence_yet():
    # Every number so far was read in a secondary source; a row may only be promoted to
    # "primary" after checking it against the paper's own table.
    assert P.published_for(evidence="primary") == []


def test_published_for_filters():
    sat = P.published_for(task="biome", encoder="satclip")
    assert sat and all(r.task == "biome" and r.encoder.split(":")[0] == "satclip" for r in sat)
    assert {r.encoder for r in sat} == {"satclip:L=40"}
    exact = P.published_for(encoder="satclip:L=40", metric="r2")
    assert exact and all(r.encoder == "satclip:L=40" and r.metric == "r2" for r in exact)
    assert P.published_for(task="inaturalist_2018", metric="mse_z") == []
    corro = P.published_for(evidence=("secondary-corroborated",))
    assert corro and all(r.evidence == "secondary-corroborated" for r in corro)
    assert len(P.published_for()) == len(ROWS)


def test_range_table_relations_hold():
    # Relations the RANGE paper states in its text: RANGE beats SatCLIP on biome and elevation.
    def one(task, enc, metric):
        (r,) = [r for r in P.published_for(task=task, encoder=enc, metric=metric)
                if "RANGE" in r.table]
        return r.value

    assert one("biome", "range", "accuracy") > one("biome", "satclip:L=40", "accuracy")
    assert one("elevation", "range", "r2") > one("elevation", "satclip:L=40", "r2")
