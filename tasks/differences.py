"""How a task's data differs from the paper's, as machine-readable fields.

Every :class:`~geobench.tasks.base.TaskSpec` carries ``differences``: a tuple of
:class:`Difference` (empty for tasks on the paper's own data). Each names the ``aspect``
(labels, points, ocean, Antarctica, data), what the ``paper`` had and what ``ours`` has, the
task ``option`` that changes it here (if any), and optionally a ``measure``: a quantity of
our points computed by code (:func:`measure`) rather than typed, e.g. the share of points on
Antarctica. ``geobench list`` prints the fields; the results page prints them with the
measured values (:mod:`geobench.reporting.differences`).

Measures (on the task's points with default options):

- ``continent_share:NAME``: the fraction of points whose assigned continent is NAME (what
  the task option ``exclude=NAME`` would drop);
- ``class_share:NAME``: the fraction of points whose class is NAME (classification tasks).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

MEASURES = {
    "continent_share": "share of points on continent {arg}",
    "class_share": "share of points in class '{arg}'",
}


@dataclass(frozen=True)
class Difference:
    """One way our task's data differs from the paper's.

    ``aspect``: a short name (``labels``, ``points``, ``ocean``, ``Antarctica``, ``data``);
    ``paper``: what the paper's data has ("not stated" when the paper does not say);
    ``ours``: what ours has, with its default; ``option``: the task option that changes it
    here (``include_ocean=True``, ``exclude=Antarctica``), or ""; ``measure``: a quantity
    computed from our points (see the module docstring), or ""."""

    aspect: str
    paper: str
    ours: str
    option: str = ""
    measure: str = ""

    def __post_init__(self) -> None:
        if self.measure:
            parse_measure(self.measure)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def parse_measure(text: str) -> tuple[str, str]:
    """``"continent_share:Antarctica"`` -> ``("continent_share", "Antarctica")``; ValueError if unknown."""
    kind, _, arg = text.partition(":")
    if kind not in MEASURES or not arg:
        raise ValueError(f"unknown measure {text!r}; use one of {', '.join(k + ':NAME' for k in MEASURES)}")
    return kind, arg


def describe_measure(text: str) -> str:
    """A reader's label for a measure: ``share of points on continent Antarctica``."""
    kind, arg = parse_measure(text)
    return MEASURES[kind].format(arg=arg)


def measure(df: pd.DataFrame, text: str) -> float:
    """The value of measure ``text`` on a task's points ``df`` (a fraction in [0, 1])."""
    kind, arg = parse_measure(text)
    if len(df) == 0:
        return float("nan")
    column = {"continent_share": "continent", "class_share": "class_name"}[kind]
    if column not in df.columns:  # e.g. class_share of a regression task: no such class
        return 0.0
    return float(np.mean(df[column].to_numpy() == arg))


def measured(differences, df: pd.DataFrame) -> list[float | None]:
    """The measured value of each difference on ``df`` (None where it has no measure)."""
    return [measure(df, d.measure) if d.measure else None for d in differences]


# Shared entries of the sampled global tasks ------------------------------------------------

def own_points(where: str, measure: str = "") -> Difference:
    """Points: the paper's own sample against ours."""
    return Difference("points", "the paper's own point sample",
                      f"our own area-uniform random sample {where} (options n_points, seed)", measure=measure)


def land_only(paper: str, also: str = "") -> Difference:
    """Ocean: the paper's ocean class against our land-only default."""
    return Difference("ocean", paper,
                      "land only by default (include_ocean=False): only points inside a polygon are kept"
                      + (f"; {also}" if also else ""), option="include_ocean=True", measure="class_share:ocean")
