"""Published downstream numbers that geobench results are compared against: a typed, validated
loader for the data file ``published.csv`` next to this module (one row per number).

Every row records one number exactly as it was read, where it was read (``source``), the table
it is attributed to, the encoder as printed (``variant``), the head, split and metric.

**Provenance warning.** The papers' tables themselves (SatCLIP, Klemmer et al., arXiv
2311.17179; RANGE, Dhakal et al., CVPR 2025, arXiv 2502.19781) could not be read in full
when the table was written: the available copies of the arXiv/ar5iv HTML pages stop after the
introduction. Every row was therefore read in a *secondary* source that quotes or
transcribes the paper, and the ``evidence`` column says how much that is worth:

- ``"primary"``: read in the paper's own table (no row has this yet);
- ``"secondary-corroborated"``: the same number read in two independent secondary sources
  (e.g. a transcribed table plus a verbatim text span of the paper's table);
- ``"secondary"``: one secondary source only.

Verify a row against the paper's PDF before relying on it, then set its ``evidence`` to ``primary``.

Conventions (geobench names): ``task`` is a geobench task name; ``encoder`` is a geobench
encoder spec when one exists, otherwise the lower-case printed name (``sinr``, ``range``,
``range+``). SatCLIP rows map on L only (``satclip`` = L=10, ``satclip:L=40``); the vision
backbone of the released checkpoint (ResNet18/50, ViT16) is in ``variant``. The published
numbers are for the *released* checkpoints (``satclip:L=..:ckpt=PATH``), not geobench's
shipped Blue-Marble checkpoints; ``metric`` is
``mse_z`` (MSE on the z-scored target), ``r2`` or ``accuracy`` (a fraction in [0, 1]; papers
print %, divided by 100 here, which ``note`` says); ``head`` is ``mlp`` or ``linear``;
``split`` is a geobench split spec (``random``, ``continent:Africa`` = zero-shot,
``continent:Africa:fewshot=0.01``) or ``unspecified`` when the source does not say.
Reported ± spreads are kept in ``note``.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from geobench.errors import DataError

__all__ = ["Published", "PUBLISHED_CSV", "EVIDENCE_LEVELS", "METRICS", "HEADS", "SPLITS",
           "EXTERNAL_ENCODERS", "load_published", "published_for"]

PUBLISHED_CSV = Path(__file__).with_name("published.csv")
EVIDENCE_LEVELS = ("primary", "secondary-corroborated", "secondary")
METRICS = ("mse_z", "r2", "accuracy", "top1")
HEADS = ("mlp", "linear")
SPLITS = ("random", "continent:Africa", "continent:Africa:fewshot=0.01", "unspecified")
# Encoders in the papers that geobench does not implement (kept by their printed name).
EXTERNAL_ENCODERS = ("sinr", "range", "range+")


@dataclass(frozen=True)
class Published:
    """One published number. ``value`` is in the units of ``metric`` (accuracy as a fraction)."""

    source: str
    table: str
    task: str
    encoder: str
    variant: str
    head: str
    split: str
    metric: str
    value: float
    note: str = ""
    evidence: str = "secondary"


COLUMNS = tuple(f.name for f in fields(Published))
_CHOICES = {"evidence": EVIDENCE_LEVELS, "metric": METRICS, "head": HEADS, "split": SPLITS}


def _row(path: Path, line: int, d: dict[str, str]) -> Published:
    """One CSV row as a Published, or a DataError naming the file, line and field."""
    where = f"{path}:{line}"
    for col in COLUMNS:
        if col != "note" and not (d.get(col) or "").strip():
            raise DataError(f"{where}: empty {col!r}; every published number needs it")
    for col, allowed in _CHOICES.items():
        if d[col] not in allowed:
            raise DataError(f"{where}: {col} {d[col]!r} is not one of {', '.join(allowed)}")
    try:
        value = float(d["value"])
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"{where}: value {d['value']!r} is not a finite number")
    return Published(**{**{c: d[c] for c in COLUMNS}, "value": value})


def load_published(path: str | Path | None = None) -> tuple[Published, ...]:
    """The rows of ``published.csv`` (or ``path``) in file order, validated: the header is the
    ``Published`` fields, choices are from the module's constants, values are finite and no key
    (every field but ``value``, ``note`` and ``evidence``) occurs twice. Raises DataError."""
    return _load(str(PUBLISHED_CSV if path is None else path))


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Published, ...]:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"published numbers {p} are missing (an install without the package data "
                        "'geobench.reporting/published.csv'?); reinstall geobench or restore the file")
    with p.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if sorted(reader.fieldnames or ()) != sorted(COLUMNS):
            raise DataError(f"{p}: columns {reader.fieldnames} differ from {list(COLUMNS)}")
        rows, seen = [], {}
        for d in reader:
            row = _row(p, reader.line_num, d)
            key = (row.source, row.table, row.task, row.encoder, row.variant, row.head, row.split, row.metric)
            if key in seen:
                raise DataError(f"{p}:{reader.line_num}: duplicate of line {seen[key]} ({row.task}, {row.encoder}, "
                                f"{row.head}, {row.split}, {row.metric})")
            seen[key] = reader.line_num
            rows.append(row)
    return tuple(rows)


def published_for(task: str | None = None, encoder: str | None = None, metric: str | None = None,
                  *, evidence: str | tuple[str, ...] | None = None) -> list[Published]:
    """Rows matching every given filter (``None`` = any), in file order.

    ``encoder`` matches the geobench spec exactly or its base name (``"satclip"`` also returns
    ``satclip:L=40`` rows). ``evidence`` is one level or a tuple of levels from ``EVIDENCE_LEVELS``.
    """
    levels = (evidence,) if isinstance(evidence, str) else evidence
    out = []
    for row in load_published():
        if task is not None and row.task != task:
            continue
        if encoder is not None and row.encoder != encoder and row.encoder.split(":")[0] != encoder:
            continue
        if metric is not None and row.metric != metric:
            continue
        if levels is not None and row.evidence not in levels:
            continue
        out.append(row)
    return out
