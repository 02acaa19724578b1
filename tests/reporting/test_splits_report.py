"""Test-set sizes per split seed, built from records whose sizes come from real splits."""
from __future__ import annotations

import json

import pytest

from geobench.evaluation.splits import apply_split, parse_split
from geobench.reporting.splits_report import sizes_by_seed, sizes_by_seed_lines

BLOCKS = "spatial_block:deg=1.0:train=0.6:val=0.2"


def _row(task, split, seed, sizes, *, encoder="direct", status="ok", split_seed=None, options=None):
    tr, va, te = sizes
    r = {"key": f"{task}|{encoder}|linear|{split}|{seed}#{json.dumps(options or {})}", "task": task,
         "task_options": options or {}, "encoder": encoder, "head": "linear", "split": split, "seed": seed,
         "status": status, "n_train": tr, "n_val": va, "n_test": te, "primary_metric": "r2", "metrics": {"r2": 0.5},
         "setting": f"{task}|{encoder}|{split}|{json.dumps(options or {})}", "timestamp": 1.0}
    if split_seed is not None:
        r["split_seed"] = split_seed
    return r


@pytest.fixture(scope="module")
def housing_rows():
    """Rows of two encoders on California housing with 1° blocks, seeds 0-4, their sizes from the
    real split (the committed grid's test sets range from 1,205 to 3,752 points)."""
    from geobench.tasks.base import load_task

    df = load_task("california_housing").df
    sizes = {s: tuple(x.size for x in apply_split(df, parse_split(BLOCKS), s)) for s in range(5)}
    rows = [_row("california_housing", BLOCKS, s, sizes[s], encoder=e) for e in ("direct", "wrap") for s in range(5)]
    return rows, sizes


def test_sizes_per_seed_from_real_blocks(housing_rows):
    rows, sizes = housing_rows
    extra = [_row("california_housing", "random:train=0.6:val=0.2", 0, (12384, 4128, 4128)),
             _row("california_housing", BLOCKS, 0, (0, 0, 0), encoder="sh", status="not_applicable")]
    t = sizes_by_seed(rows + extra)
    assert len(t) == 1  # the random split and the not-applicable row are left out
    r = t.iloc[0]
    n_test = [sizes[s][2] for s in range(5)]
    assert r.n_seeds == 5 and r.consistent
    assert r.n_test_by_seed == {s: [sizes[s][2]] for s in range(5)}
    assert (r.n_test_min, r.n_test_max) == (min(n_test), max(n_test)) == (1205, 3752)
    assert r.n_test_median == sorted(n_test)[2]
    assert r.test_share_min == pytest.approx(1205 / 20640)
    md = "\n".join(sizes_by_seed_lines(rows))
    assert "| california_housing | `spatial_block:deg=1.0:train=0.6:val=0.2` | 5 | 0: 1,205, 1: 3,752," in md
    assert "| 1,205 | 2,898 | 3,752 | 3.1 | 6–18 % |" in md


def test_split_seed_option_newest_row_and_disagreement():
    split = "spatial_block:deg=10.0:seed=7:train=0.6:val=0.2"
    rows = [_row("elevation", split, s, (60000, 20000, 20000), split_seed=7) for s in range(3)]
    rows += [_row("elevation", split, 0, (61000, 20000, 19000), split_seed=7)]  # a re-run: same key, newest kept
    t = sizes_by_seed(rows)
    assert t.iloc[0].n_seeds == 1 and t.iloc[0].n_test_by_seed == {7: [19000, 20000]}
    assert not t.iloc[0].consistent
    assert "(rows of one seed disagree)" in "\n".join(sizes_by_seed_lines(rows))
    opts = sizes_by_seed([_row("countries", split, 0, (6, 2, 2), options={"exclude": "Antarctica"})])
    assert opts.iloc[0].task_options == '{"exclude": "Antarctica"}'


def test_no_block_rows_no_section():
    assert sizes_by_seed_lines([_row("x", "random:train=0.6:val=0.2", 0, (6, 2, 2))]) == []
