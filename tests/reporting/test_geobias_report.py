"""The geo-bias sections from a records fixture whose geo blocks are known."""
from __future__ import annotations

import pytest

from geobench.evaluation.records import upgrade
from geobench.reporting.geobias_report import block_size_curve, distance_curve, geobias_lines, moran_table
from geobench.reporting.leaderboard import summarize

BLK = "spatial_block:deg=10.0:train=0.6:val=0.2"


def _geo(i: float, near: float, far: float, worst: str = "Africa") -> dict:
    return {"moran": {"of": "residual", "k": 8, "n": 100, "I": i, "EI": -0.01, "z_rand": i * 100, "p_rand": 0.0},
            "continents": {"error": "rmse", "min_n": 50, "n_continents": 3, "worst": worst, "worst_error": 3.0,
                           "best_error": 1.0, "spread": 2.0},
            "distance": {"median_km": 300.0, "bins": [
                {"lo_km": 0.0, "hi_km": 10.0, "n": 5, "rmse": None, "skill": None, "r2": None},
                {"lo_km": 10.0, "hi_km": 500.0, "n": 60, "rmse": 1.0, "skill": near, "r2": near},
                {"lo_km": 500.0, "hi_km": None, "n": 35, "rmse": 2.0, "skill": far, "r2": far}]}}


def _row(enc, seed, geo, split=BLK, r2=0.5):
    return upgrade({"key": f"elevation|{enc}|linear|{split}|{seed}|", "task": "elevation", "encoder": enc, "head": "linear",
                    "split": split, "seed": seed, "status": "ok", "kind": "regression", "metrics": {"r2": r2},
                    "primary_metric": "r2", "geo": geo})


RECS = [_row("wrap", 0, _geo(0.30, 0.8, 0.2)), _row("wrap", 1, _geo(0.40, 0.6, 0.0, worst="Asia")),
        _row("sh", 0, _geo(0.10, 0.9, 0.7)), _row("sh", 1, _geo(0.20, 0.9, 0.5)),
        _row("sh", 0, None, split="spatial_block:deg=2.0:train=0.6:val=0.2", r2=0.3)]


def test_moran_and_distance_tables_average_the_seeds():
    mt = moran_table(RECS)
    assert mt.loc["wrap", "elevation"] == pytest.approx(0.35) and mt.loc["sh", "elevation"] == pytest.approx(0.15)
    dc = distance_curve(RECS, "elevation")
    assert list(dc.columns) == ["10-500 km", ">= 500 km"]  # the empty first bin leaves no column
    assert dc.loc["wrap", ">= 500 km"] == pytest.approx(0.1) and dc.loc["sh", "10-500 km"] == pytest.approx(0.9)
    bc = block_size_curve(RECS, "elevation")
    assert bc.loc["sh", 2.0] == pytest.approx(0.3) and bc.loc["sh", 10.0] == pytest.approx(0.5)


def test_leaderboard_geo_columns_and_the_page_section():
    t = summarize(RECS)[0].set_index(["encoder", "split"])
    w = t.loc[("wrap", BLK)]
    assert w.moran_i == pytest.approx(0.35) and w.moran_z == pytest.approx(35) and w.continent_spread == pytest.approx(2.0)
    assert w.worst_continent == "Africa"  # one seed each: the tie goes to the first in name order
    text = "\n".join(geobias_lines(RECS))
    assert "4 of 5 records carry a geo block" in text and "| wrap | 0.350 |" in text
    assert geobias_lines([{k: v for k, v in r.items() if k != "geo"} for r in RECS]) == []


def test_block_size_curve_uses_declared_sizes_and_common_seeds():
    """The grid's 10° block has 5 linear seeds, the other sizes 3: each size is averaged over the
    seeds the encoder has at every size; an exploratory size outside the profile is left out."""
    geo = _geo(0.1, 0.5, 0.1)
    recs = [_row("sh", s, geo, r2=0.50 + 0.1 * s) for s in range(5)]  # 10°: 0.5 .. 0.9
    recs += [_row("sh", s, geo, split="spatial_block:deg=2.0:train=0.6:val=0.2", r2=0.2 + 0.1 * s) for s in range(3)]
    recs += [_row("sh", 0, geo, split="spatial_block:deg=7.0:train=0.6:val=0.2", r2=0.9)]  # not declared
    bc = block_size_curve(recs, "elevation")
    assert list(bc.columns) == [2.0, 10.0]
    assert bc.loc["sh", 10.0] == pytest.approx(0.6) and bc.loc["sh", 2.0] == pytest.approx(0.3)  # seeds 0-2
