"""The results page's table of task differences: fields, measured values, what the runs show."""
from __future__ import annotations

import numpy as np
import pytest

from geobench.errors import DataError
from geobench.reporting.differences import continent_in_runs, difference_rows, differences_lines
from geobench.tasks.base import load_task


def _rec(encoder, seed, n_test, n_ant, acc_ant, *, task="countries", split="random:train=0.6:val=0.2",
         head="linear", options=None):
    return {"key": f"{task}|{encoder}|{head}|{split}|{seed}|{options}", "task": task, "task_options": options or {},
            "encoder": encoder, "head": head, "split": split, "seed": seed, "status": "ok",
            "primary_metric": "accuracy", "n_test": n_test, "metrics": {"accuracy": 0.5},
            # the setting as the identity would give it; the other-options row is the older setting
            "setting": f"{task}|{options}", "timestamp": 0.0 if options else 1.0,
            "per_continent": {"Antarctica": {"accuracy": acc_ant, "n": n_ant}, "Asia": {"accuracy": 0.5, "n": 100}}}


RECORDS = ([_rec("sh", s, 20000, 1700, 1.0) for s in range(3)]
           + [_rec("random", s, 20000, 1600, 0.1 + 0.01 * s) for s in range(3)]
           + [_rec("direct", 0, 20000, 1640, 0.999)]
           + [_rec("sh", 0, 18000, 0, None, options={"exclude": "Antarctica"})]  # other options: left out
           + [_rec("sh", 0, 20000, 9999, 0.0, split="spatial_block:deg=10.0:train=0.6:val=0.2")]
           + [_rec("sh", 0, 20000, 9999, 0.0, head="mlp")])


def test_continent_in_runs_uses_default_options_random_split_linear_head():
    got = continent_in_runs(RECORDS, "countries", "Antarctica")
    assert got["metric"] == "accuracy"
    assert got["test_share"] == pytest.approx(np.median([0.085] * 3 + [0.08] * 3 + [0.082]))
    assert got["by_encoder"] == pytest.approx({"direct": 0.999, "random": 0.11, "sh": 1.0})
    assert continent_in_runs(RECORDS, "biome", "Antarctica") is None


def test_the_table_renders_fields_and_measured_values():
    rows = difference_rows(["countries", "air_temperature", "elevation"])
    df = load_task("countries").df
    share = float(np.mean(df["lat"].to_numpy() < -60))  # independent of the continent column (within 2 points)
    ant = rows[(rows.task == "countries") & (rows.aspect == "Antarctica")].iloc[0]
    assert ant.value == pytest.approx(share, abs=1e-4) and ant.n_points == len(df)
    md = "\n".join(differences_lines(RECORDS, rows))
    assert "## How our tasks differ from the paper's" in md
    line = next(x for x in md.splitlines() if x.startswith("| countries | close proxy | Antarctica |"))
    n = int((df["continent"] == "Antarctica").sum())
    assert f"share of points on continent Antarctica: {100 * n / len(df):.2f} % ({n:,} of {len(df):,})" in line
    assert "`exclude=Antarctica`" in line
    assert "8.2 % of test points; accuracy there: median 0.999 over 3 encoders, lowest `random` 0.110, " \
           "`direct` 0.999" in line
    assert "| countries | close proxy | ocean | an 'ocean' class for points in no country, about 67 % of the points |" in md
    assert "share of points in class 'ocean': 0 % (0 of 100,000)" in md
    assert "| air_temperature | same data | – | the same data | the same data |" in md
    elev = next(x for x in md.splitlines() if x.startswith("| elevation | close proxy | points |"))
    assert "no linear random-split rows" in elev  # no elevation records given


def test_unloadable_points_are_reported_not_guessed():
    def load(name):
        raise DataError(f"task {name!r} needs external data\nmore")

    rows = difference_rows(["countries"], load=load)
    assert rows.value.isna().all() and rows.n_points.isna().all()
    md = "\n".join(differences_lines([], rows))
    assert "not computed: task 'countries' needs external data |" in md
