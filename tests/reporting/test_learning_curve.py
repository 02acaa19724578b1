"""The learning curve from a records fixture with known values: the fit size comes from the
records, the gain per doubling is fitted per seed, and the published-gap sentence follows it."""
from __future__ import annotations

import math

import numpy as np

from geobench.evaluation.profiles import CURVE_NTRAIN, CURVE_SPLIT
from geobench.evaluation.records import upgrade
from geobench.evaluation.splits import parse_split
from geobench.reporting.learning_curve import curve_points, curve_table, doubling_gain, gap_line, plot_learning_curves


def _rows(enc, values_by_seed, task="ecoregions", base=CURVE_SPLIT):
    out = []
    for s, values in enumerate(values_by_seed):
        for n, v in zip(CURVE_NTRAIN, values):
            split = str(parse_split(f"{base}:ntrain={n}"))
            out.append(upgrade({"key": f"{task}|{enc}|linear|{split}|{s}|", "task": task, "encoder": enc,
                                "head": "linear", "split": split, "seed": s, "status": "ok", "n_train": n,
                                "metrics": {"accuracy": v}, "primary_metric": "accuracy"}))
    return out


LOG2 = np.log2(np.array(CURVE_NTRAIN) / 1000)
STEADY = [list(0.5 + 0.01 * LOG2 + 0.001 * s) for s in range(3)]  # +0.01 per doubling on every seed
RNG = np.random.default_rng(0)
FLAT = [list(0.55 + RNG.normal(0, 0.003, LOG2.size)) for _ in range(3)]


def test_points_table_and_gain():
    recs = _rows("geoclip", STEADY) + _rows("geoclip", STEADY, base="random:train=0.8:val=0.1")  # old spelling: left out
    pts = curve_points(recs, "ecoregions")
    assert len(pts) == 3 * len(CURVE_NTRAIN) and sorted(pts["n_fit"].unique()) == list(CURVE_NTRAIN)
    t = curve_table(pts)
    assert math.isclose(t.at["geoclip", 80000], 0.5 + 0.01 * math.log2(80) + 0.001)
    g = doubling_gain(pts, "geoclip")
    assert g.n_seeds == 3 and math.isclose(g.slope, 0.01) and g.n_max == 80000
    assert math.isclose(g.ci95[0], 0.01) and math.isclose(g.ci95[1], 0.01)


def test_gap_line_says_whether_more_points_explain_the_published_gap():
    # published GeoCLIP ecoregions (linear, published.csv): 0.716; ours 0.564 at 80k, +0.01 per doubling
    line = gap_line(_rows("geoclip", STEADY), "ecoregions", "geoclip")
    assert "0.564 at 80,000 fit points against 0.716 published" in line
    assert "needs about 15 more doublings" in line and "does not explain it" in line
    flat = gap_line(_rows("geoclip", FLAT), "ecoregions", "geoclip")
    assert "not significantly above 0, so more training points do not explain the gap" in flat
    assert gap_line(_rows("wrap", STEADY), "ecoregions", "wrap") is None  # nothing published


def test_figure(tmp_path):
    from geobench.reporting.png import MAX_FIGURE_BYTES

    p = plot_learning_curves(_rows("geoclip", STEADY) + _rows("wrap", FLAT), tmp_path)
    assert p.name == "learning_curve__linear.png" and 0 < p.stat().st_size < MAX_FIGURE_BYTES
    assert plot_learning_curves([], tmp_path / "none") is None
