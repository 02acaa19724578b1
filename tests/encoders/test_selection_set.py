"""The pretraining probe set: drawn off the benchmark, checked disjoint from every benchmark point,
recorded as ``tuned_on`` in the run's JSON record."""
from __future__ import annotations

import numpy as np
import pytest

from geobench.encoders.pretraining import selection
from geobench.encoders.pretraining.selection import (SelectionOverlapError, check_disjoint, coinciding,
                                                     describe_selection_set)
from geobench.tasks.base import load_task


def test_coordinate_keys_match_exact_coordinates_only():
    a = np.array([[0.0, 10.0], [-0.0, 10.0], [1.0, 2.0], [1.0 + 1e-12, 2.0]])
    b = np.array([[0.0, 10.0], [2.0, 1.0]])
    assert coinciding(a, b).tolist() == [True, True, False, False]  # -0.0 is 0.0; swapped or nudged is not


def test_selection_set_is_disjoint_from_every_benchmark_task():
    d = describe_selection_set(n=300)  # the default builder seed (2), a small size
    assert d["builder_options"] == {"n_points": 300, "seed": selection.SELECTION_SEED}
    assert d["tasks"] == ["elevation", "population"] and d["n_points"] == {"elevation": 300, "population": 300}
    chk = d["disjoint_from_benchmark"]
    assert chk["coinciding_points"] == 0
    from geobench.evaluation.plan import offline_tasks

    assert set(offline_tasks()) <= set(chk["benchmark_points_compared"])  # every offline task was compared
    assert chk["benchmark_points_compared"]["elevation"] == 100_000


def test_disjointness_check_fails_on_an_overlapping_set():
    # drawn with the benchmark's own sampling seed: the 300 points are the benchmark's first 300
    with pytest.raises(SelectionOverlapError, match="300 of 300 elevation points are elevation benchmark points"):
        describe_selection_set(n=300, seed=0)
    # one benchmark station among 299 off-benchmark points is caught too
    sel = load_task("elevation", n_points=300, seed=2).lonlat.copy()
    station = load_task("air_temperature").lonlat[1234]
    sel[17] = station
    bench = {t: load_task(t).lonlat for t in ("air_temperature", "elevation", "population")}
    with pytest.raises(SelectionOverlapError, match=r"1 of 300 elevation points are air_temperature benchmark"):
        check_disjoint({"elevation": sel}, bench)
    sel[17] = station + [0.0, 1e-9]  # a near miss is not an exact coincidence
    assert check_disjoint({"elevation": sel}, bench) == {t: len(v) for t, v in bench.items()}
