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
SLOPES = (0.008, 0.010, 0.015)  # per-seed gain per doubling (the same over the whole curve)
STEADY = [list(0.5 + b * LOG2 + 0.001 * s) for s, b in enumerate(SLOPES)]
RNG = np.random.default_rng(0)
FLAT = [list(0.55 + RNG.normal(0, 0.003, LOG2.size)) for _ in range(3)]


def test_points_table_and_gain():
    recs = _rows("geoclip", STEADY) + _rows("geoclip", STEADY, base="random:train=0.8:val=0.1")  # old spelling: left out
    pts = curve_points(recs, "ecoregions")
    assert len(pts) == 3 * len(CURVE_NTRAIN) and sorted(pts["n_fit"].unique()) == list(CURVE_NTRAIN)
    t = curve_table(pts)
    top = np.mean([0.5 + b * math.log2(80) + 0.001 * s for s, b in enumerate(SLOPES)])
    assert math.isclose(t.at["geoclip", 80000], top)
    g = doubling_gain(pts, "geoclip")
    # by hand: mean of the slopes, t(0.975, 2) = 4.302653 times their sample std over sqrt(3)
    half = 4.302653 * float(np.std(SLOPES, ddof=1)) / math.sqrt(3)
    assert g.n_seeds == 3 and g.sizes == 3 and math.isclose(g.slope, np.mean(SLOPES)) and g.n_max == 80000
    assert math.isclose(g.ci95[0], np.mean(SLOPES) - half, rel_tol=1e-6)
    assert math.isclose(g.ci95[1], np.mean(SLOPES) + half, rel_tol=1e-6)
    # only the three largest sizes count: a curve that rises early and is flat at the top has no gain
    bent = [list(np.minimum(0.5 + 0.02 * LOG2, 0.5 + 0.02 * math.log2(20)) + 0.001 * s) for s in range(3)]
    assert math.isclose(doubling_gain(curve_points(_rows("geoclip", bent), "ecoregions"), "geoclip").slope, 0.0,
                        abs_tol=1e-12)


def test_gap_line_says_how_many_doublings_the_published_gap_needs():
    # published GeoCLIP ecoregions (linear, accuracy, published.csv): 0.716
    line = gap_line(_rows("geoclip", STEADY), "ecoregions", "geoclip")
    top = np.mean([0.5 + b * math.log2(80) + 0.001 * s for s, b in enumerate(SLOPES)])
    gap = 0.716 - top
    half = 4.302653 * float(np.std(SLOPES, ddof=1)) / math.sqrt(3)
    lo, hi = np.mean(SLOPES) - half, np.mean(SLOPES) + half
    assert f"{top:.3f} at 80,000 fit points, 0.716 published" in line
    assert f"needs {gap / np.mean(SLOPES):.1f} more doublings ({gap / hi:.1f} to {gap / lo:.1f})" in line
    spread = [list(0.5 + b * LOG2) for b in (0.002, 0.010, 0.020)]  # the interval reaches below 0
    assert "the gain is not significantly above 0" in gap_line(_rows("geoclip", spread), "ecoregions", "geoclip")
    tight = [list(0.5 + b * LOG2 + 0.001 * s) for s, b in enumerate((0.010, 0.011, 0.012))]
    k = (0.716 - np.mean([0.5 + b * math.log2(80) + 0.001 * s for s, b in enumerate((0.010, 0.011, 0.012))])) / 0.011
    assert f"needs {k:.1f} more doublings" in gap_line(_rows("geoclip", tight), "ecoregions", "geoclip")
    flat = gap_line(_rows("geoclip", FLAT), "ecoregions", "geoclip")
    assert "not significantly above 0" in flat or "stopped rising" in flat
    assert gap_line(_rows("wrap", STEADY), "ecoregions", "wrap") is None  # nothing published


def test_figure(tmp_path):
    from geobench.reporting.png import MAX_FIGURE_BYTES

    p = plot_learning_curves(_rows("geoclip", STEADY) + _rows("wrap", FLAT), tmp_path)
    assert p.name == "learning_curve__linear.png" and 0 < p.stat().st_size < MAX_FIGURE_BYTES
    assert plot_learning_curves([], tmp_path / "none") is None
