"""The ``probes`` perf section: pairing version-1 and version-2 records by cell and seed, the
quality verdict, the search-to-fit ratio, and a quick real run."""
from __future__ import annotations

import math

import pytest

from geobench.perf.probes import mlp_cells, paired, quality, search_ratio


def _rec(head, seed, r2, cell_s, search_s=None, fit_s=None, task="elevation", at_cap=False, split="random"):
    return {"task": task, "encoder": "sh", "split": split, "seed": seed, "status": "ok", "head": head,
            "primary_metric": "r2", "metrics": {"r2": r2}, "head_params": {"best_epoch_at_cap": at_cap},
            "timings": {"cell_s": cell_s, "search_s": search_s, "chosen_fit_s": fit_s}}


def test_pairs_quality_and_ratio():
    before = [_rec("v1", s, 0.80 + 0.01 * s, 100.0) for s in range(3)]
    after = [_rec("v2", s, 0.81 + 0.01 * s, 40.0, 30.0, 20.0 + s) for s in range(3)]
    after.append(_rec("v2", 3, 0.9, 1.0, 1.0, 1.0))  # no partner: not paired
    rows = paired(before, after)
    assert len(rows) == 3 and rows[0]["before_s"] == 100.0 and rows[0]["after_s"] == 40.0
    q = quality(rows)
    assert math.isclose(q["mean_better_by"], 0.01) and q["n_pairs"] == 3
    (cell,) = q["cells"]
    assert math.isclose(cell["seed_std"], 0.01) and cell["within_noise_or_better"]
    worse = quality(paired(before, [_rec("v2", s, 0.70 + 0.001 * s, 40.0) for s in range(3)]))
    assert worse["cells_within_noise_or_better"] == 0 and worse["paired_t_p"] < 0.01
    r = search_ratio(rows)
    assert r["n"] == 3 and math.isclose(r["median"], 30 / 21) and math.isclose(r["total"], 90 / 63)
    assert r["by_split_kind"]["random"]["n"] == 3 and r["share_over_2"] == 0


def test_search_ratio_per_split_kind():
    block = "spatial_block:deg=10"
    rows = paired([_rec("v1", s, 0.5, 10.0, split=sp) for s in range(2) for sp in ("random", block)],
                  [_rec("v2", s, 0.5, 5.0, 3.0 if sp == block else 1.0, 1.0, split=sp)
                   for s in range(2) for sp in ("random", block)])
    r = search_ratio(rows)
    assert r["n"] == 4 and r["share_over_2"] == 0.5 and math.isclose(r["total"], 8 / 4)
    assert r["by_split_kind"]["spatial_block"] == {"n": 2, "median": 3.0, "max": 3.0, "total": 3.0,
                                                   "share_over_2": 1.0}
    assert r["by_split_kind"]["random"]["median"] == 1.0


def test_mlp_cells_cover_the_published_cells_and_every_task():
    cells = mlp_cells()
    assert len(cells) >= 10 and len({c[0] for c in cells}) == 8
    assert ("population", "satclip-bm", "continent:Africa") in cells
    assert ("ecoregions", "geoclip", "continent:Africa:fewshot=0.01") in cells
    # spatial-block cells at the grid's block size of their task
    assert ("california_housing", "satclip-bm", "spatial_block:deg=1") in cells
    assert sum(c[2].startswith("spatial_block") for c in cells) == 3


@pytest.mark.slow
def test_quick_section_runs(tmp_path):
    from geobench.perf.config import Config
    from geobench.perf.probes import section_probes

    rows, raw = section_probes(Config.make(quick=True, grid_jobs=1), tmp_path)
    assert raw["mlp"]["search_ratio"]["n"] == 1 and raw["lightgbm"]["pairs"]
    assert any(r["name"].startswith("mlp search / one fit") for r in rows)


@pytest.mark.slow
def test_a_kept_probes_dir_pairs_only_the_current_code_rows(tmp_path):
    """Resuming in a kept ``--probes-dir``: a row written there by older code under the same head
    string (another identity, so another key) is never paired in place of the current one."""
    import json

    from geobench.perf.config import Config
    from geobench.perf.probes import section_probes

    cfg = Config.make(quick=True, grid_jobs=1, probes_dir=str(tmp_path))
    _, raw = section_probes(cfg, tmp_path)
    runs = tmp_path / "mlp" / "runs.jsonl"
    old = json.loads(runs.read_text().splitlines()[0])
    old["key"] += "-older-code"
    old["identity"]["head"]["params"]["patience"] = 99
    old["metrics"][old["primary_metric"]] = -5.0
    old["timestamp"] += 1e6  # newer on disk than the current row
    with open(runs, "a") as f:
        f.write(json.dumps(old) + "\n")
    _, again = section_probes(cfg, tmp_path)  # resumed: nothing re-run, the older row left out
    assert again["mlp"]["pairs"] == raw["mlp"]["pairs"] and -5.0 not in [
        v for p in again["mlp"]["pairs"] for v in (p["before"], p["after"])]
