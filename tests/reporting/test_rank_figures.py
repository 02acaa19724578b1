"""The critical-difference diagram: its groups on hand-worked ranks, and its data from a records
fixture whose per-task ranks are set by hand."""
from __future__ import annotations

import math

import pytest

from geobench.errors import InputError
from geobench.evaluation.grid import grid_plan
from geobench.evaluation.records import upgrade
from geobench.evaluation.splits import parse_split
from geobench.reporting.png import MAX_FIGURE_BYTES
from geobench.reporting.rank_figures import cd_diagram, cd_groups, footnote, plot_cd_diagram, title

R4 = {"a": 1.0, "b": 1.5, "c": 3.0, "d": 3.2}


@pytest.mark.parametrize(("cd", "expected"), [
    (1.0, [("a", "b"), ("c", "d")]),  # a-b 0.5 < 1; b-c 1.5 is not; c-d 0.2 is
    (2.5, [("a", "b", "c", "d")]),  # a-d 2.2 < 2.5: one group, the smaller runs inside it not repeated
    (1.8, [("a", "b"), ("b", "c", "d")]),  # a-c 2.0 >= 1.8 but b-d 1.7 < 1.8: overlapping groups
    (0.3, [("c", "d")]),  # a-b 0.5 >= 0.3: a and b stand alone, no bar
    (0.1, []),
])
def test_groups_on_hand_worked_ranks(cd, expected):
    assert cd_groups(R4, cd) == expected
    assert cd_groups(dict(reversed(list(R4.items()))), cd) == expected  # input order does not matter


def test_groups_ties_boundary_and_degenerate_inputs():
    assert cd_groups({"z": 2.0, "y": 2.0, "x": 2.0}, 0.5) == [("x", "y", "z")]  # a tie: ordered by name
    assert cd_groups({"b": 1.0, "a": 1.0, "c": 4.0}, 1.0) == [("a", "b")]
    assert cd_groups({"a": 1.0, "b": 2.0}, 1.0) == []  # a difference of exactly CD is significant
    assert cd_groups({"a": 1.0, "b": 2.0, "c": 2.5}, 1.0) == [("b", "c")]
    assert cd_groups({"a": 1.0}, 3.0) == []  # a single encoder: nothing to join
    assert cd_groups({}, 1.0) == []
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(InputError, match="critical difference"):
            cd_groups(R4, bad)


TASKS = ("air_temperature", "elevation", "population", "countries", "biome", "ecoregions")
# rank of (satclip-bm, geoclip, wrap) per task; constant is always 4th
RANKS = {"air_temperature": (1, 2, 3), "elevation": (1, 2, 3), "population": (2, 1, 3),
         "countries": (1, 2, 3), "biome": (1, 3, 2), "ecoregions": (2, 1, 3)}
SCORE = {1: 0.8, 2: 0.6, 3: 0.4}


def _split(task: str, kind: str = "spatial_block") -> str:
    return next(str(parse_split(s)) for s in dict(grid_plan([task]))[task] if s.startswith(kind))


def _rows(enc: str, task: str, mean: float, head: str = "linear", split: str | None = None) -> list[dict]:
    split = split or _split(task)
    return [upgrade({"key": f"{task}|{enc}|{head}|{split}|{s}|", "task": task, "encoder": enc, "head": head,
                     "split": split, "seed": s, "status": "ok", "metrics": {"r2": mean + d}, "primary_metric": "r2"})
            for s, d in enumerate((-0.05, 0.05))]  # the seeds average to ``mean``


def _records() -> list[dict]:
    recs = []
    for t, ranks in RANKS.items():
        for enc, r in zip(("satclip-bm", "geoclip", "wrap"), ranks):
            recs += _rows(enc, t, SCORE[r])
        recs += _rows("constant", t, 0.0)
    recs += _rows("rff", "elevation", 0.99)  # 1 task of 6: dropped, not ranked
    recs += _rows("wrap", "elevation", 0.99, head="mlp")  # another head
    recs += _rows("wrap", "elevation", 0.99, split="spatial_block:deg=2.0:train=0.6:val=0.2")  # not a grid cell
    return recs


def test_cd_data_from_records():
    d = cd_diagram(_records())
    # rank sums over the 6 tasks: satclip 1+1+2+1+1+2 = 8, geoclip 2+2+1+2+3+1 = 11, wrap 3*5+2 = 17, constant 24
    expected = {"satclip-bm": 8 / 6, "geoclip": 11 / 6, "wrap": 17 / 6, "constant": 4.0}
    assert d.ranking.mean_rank == pytest.approx(expected)
    assert (d.ranking.k, d.ranking.n, d.ranking.dropped) == (4, 6, ("rff",))
    # Friedman: 12 / (n k (k + 1)) * sum(R_j^2) - 3 n (k + 1) = 12 / 120 * (64 + 121 + 289 + 576) - 90 = 15
    assert d.ranking.chi2 == pytest.approx(15.0)
    from scipy.stats import chi2
    assert d.ranking.p == pytest.approx(chi2.sf(15.0, 3))
    # Nemenyi (Demšar's table, k = 4): 2.569 * sqrt(4 * 5 / (6 * 6)) = 1.915
    assert d.ranking.cd == pytest.approx(2.569 * math.sqrt(20 / 36), rel=1e-3)
    assert d.order == ("satclip-bm", "geoclip", "wrap", "constant")
    assert (d.left, d.right) == (("satclip-bm", "geoclip"), ("wrap", "constant"))
    # satclip-wrap 1.5 < 1.915, satclip-constant 2.67 is not; wrap-constant 1.17 < 1.915
    assert d.groups == [("satclip-bm", "geoclip", "wrap"), ("wrap", "constant")]
    assert "4 encoders over 6 tasks" in title(d) and "Friedman χ² = 15.0" in title(d) and "CD = 1.91" in title(d)
    assert "Left out for missing tasks: rff." in footnote(d)


def test_cd_plot_writes_a_small_png_or_nothing(tmp_path):
    p = plot_cd_diagram(_records(), tmp_path)
    assert p == tmp_path / "cd__linear__spatial_block.png" and 0 < p.stat().st_size < MAX_FIGURE_BYTES
    assert plot_cd_diagram(_records(), tmp_path / "none", kind="random") is None  # no rows there
    assert plot_cd_diagram(_rows("wrap", "elevation", 0.5), tmp_path / "none") is None  # a single encoder
    assert not (tmp_path / "none").exists()
