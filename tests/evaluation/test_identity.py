"""A cell's identity is its content: a change in any part gives a new cell (the old rows stay),
and the leaderboard never averages across identities."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geobench
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid

TASK = "air_temperature"
KW = dict(tracking_uri="none", progress=False, n_boot=0)


def _keys(results) -> list[str]:
    return [r["key"] for r in read_records(results / "runs.jsonl")]


def test_edited_user_function_gives_new_numbers_in_the_same_folder(tmp_path):
    """The reproduction from the issue: edit the function, evaluate again under the same name
    into the same folder. The old code returned the first row again."""
    kw = dict(name="mine", tasks=[TASK], seeds=1, results_dir=tmp_path, progress=False, n_boot=0)

    def mine(lonlat):
        return np.deg2rad(lonlat[:, [0, 0, 0]]) * [1.0, 0.5, 0.25]  # 3 longitude-only features

    r_first = geobench.evaluate(mine, **kw)["r2"].item()

    def mine(lonlat):  # noqa: F811 - the edit: 32 richer features of both coordinates
        lon, lat = np.deg2rad(lonlat).T
        k = np.arange(1, 9)[None, :]
        return np.hstack([np.sin(k * lat[:, None]), np.cos(k * lat[:, None]),
                          np.sin(k * lon[:, None]), np.cos(k * lon[:, None])])

    r_edit = geobench.evaluate(mine, **kw)["r2"].item()
    assert r_edit > r_first + 0.3  # a new number, not the old row
    assert len(_keys(tmp_path)) == 2  # the old row stays
    again = geobench.evaluate(mine, **kw)["r2"].item()  # unchanged code: reused
    assert again == r_edit and len(_keys(tmp_path)) == 2
    bumped = geobench.evaluate(mine, version="2", **kw)["r2"].item()  # same code, new version: a new cell
    assert bumped == r_edit and len(_keys(tmp_path)) == 3


def test_closure_values_are_part_of_a_user_function(tmp_path):
    def make(scale):
        def enc(lonlat):
            return np.sin(np.deg2rad(lonlat) * scale)
        return enc

    kw = dict(name="scaled", tasks=[TASK], seeds=1, results_dir=tmp_path, progress=False, n_boot=0)
    a = geobench.evaluate(make(1.0), **kw)["r2"].item()
    b = geobench.evaluate(make(3.0), **kw)["r2"].item()
    assert a != b and len(_keys(tmp_path)) == 2


def _grid(tmp_path, **kw):
    base = dict(tasks=[TASK], encoders=["wrap"], heads=["linear"], splits=["random"], seeds=[0])
    base.update({k: v for k, v in kw.items() if k in base})
    return run_grid(base["tasks"], base["encoders"], base["heads"], base["splits"], base["seeds"],
                    results_dir=tmp_path, **{**KW, **{k: v for k, v in kw.items() if k not in base}})


def _changes_cell(tmp_path, first: dict, second: dict) -> tuple[dict, dict]:
    a = _grid(tmp_path, **first)
    assert len(a.records) == 1
    assert _grid(tmp_path, **first).records == []  # the same content is done
    b = _grid(tmp_path, **second)
    assert len(b.records) == 1, "a changed input must be a new cell"
    assert b.records[0]["key"] != a.records[0]["key"] and len(_keys(tmp_path)) == 2
    return a.records[0], b.records[0]


def test_tune_is_part_of_the_identity(tmp_path):
    a, b = _changes_cell(tmp_path, dict(heads=["mlp:max_epochs=2"]), dict(heads=["mlp:max_epochs=2"], tune=True))
    assert (a["identity"]["head"]["tune"], b["identity"]["head"]["tune"]) == (False, True)
    assert a["head_params"]["n_configs"] < b["head_params"]["n_configs"]


def test_head_options_are_part_of_the_identity(tmp_path):
    a, b = _changes_cell(tmp_path, dict(heads=["linear"]), dict(heads=["linear:alphas=0.5/5"]))
    assert a["identity"]["head"]["params"] == {"alphas": [0.1, 1.0, 10.0], "cv": "range"}
    assert b["identity"]["head"]["params"] == {"alphas": [0.5, 5.0], "cv": "range"} and b["head"] == "linear:alphas=0.5/5.0"
    assert b["head_params"]["alphas"] == [0.5, 5.0]


def test_linear_head_version_is_part_of_the_identity(tmp_path):
    """LinearHead 2 (k-fold as RANGE, fit on train + val) never shares a cell with version-1 rows."""
    from geobench.heads.linear import LinearHead

    assert LinearHead.version == 2
    a, = _grid(tmp_path, tasks=["elevation"], heads=["linear"], seeds=[0], task_options={"n_points": 300}).records
    assert a["identity"]["head"]["version"] == 2


def test_task_options_are_part_of_the_identity(tmp_path):
    a, b = _changes_cell(tmp_path, dict(tasks=["elevation"], task_options={"n_points": 300}),
                         dict(tasks=["elevation"], task_options={"n_points": 400}))
    assert a["identity"]["task"]["points_sha256"] != b["identity"]["task"]["points_sha256"]
    assert (a["n_train"] + a["n_val"] + a["n_test"], b["n_train"] + b["n_val"] + b["n_test"]) == (300, 400)


@pytest.fixture
def versioned_task():
    from geobench.tasks.base import TASKS, TaskSpec, register_task

    def build(shift: float = 0.0):
        rng = np.random.default_rng(0)
        lon, lat = rng.uniform(-180, 180, 400), rng.uniform(-60, 60, 400)
        return pd.DataFrame({"lon": lon, "lat": lat, "y": np.cos(np.deg2rad(lat)) * 30 + shift})

    def register(version: int):
        spec = TaskSpec("_id_task", "regression", "y", "1", "identity test task", "-", "same data", (),
                        version=version)
        register_task(spec, override=True)(build)

    yield register
    TASKS._items.pop("_id_task", None)


def test_task_version_is_part_of_the_identity(tmp_path, versioned_task):
    versioned_task(1)
    a = _grid(tmp_path, tasks=["_id_task"])
    versioned_task(2)
    b = _grid(tmp_path, tasks=["_id_task"])
    assert len(a.records) == len(b.records) == 1 and a.records[0]["key"] != b.records[0]["key"]
    assert (a.records[0]["identity"]["task"]["version"], b.records[0]["identity"]["task"]["version"]) == (1, 2)


def test_weights_are_part_of_the_identity(tmp_path, monkeypatch):
    """A retrained checkpoint under the same spec (here: a plugin encoder whose weights change)."""
    import hashlib

    from geobench.encoding import ArrayEncoder, register_encoder

    weights = {"w": np.linspace(0.5, 2.0, 4)}

    @register_encoder("_id_weighted", kind="pretrained", override=True)
    def factory():
        w = weights["w"].copy()
        return ArrayEncoder("_id_weighted", 4, lambda x: np.sin(np.deg2rad(x[:, [1]]) * w),
                            {"weights_sha256": hashlib.sha256(w.tobytes()).hexdigest()})

    try:
        a = _grid(tmp_path, encoders=["_id_weighted"])
        assert _grid(tmp_path, encoders=["_id_weighted"]).records == []
        weights["w"] = weights["w"] * 3  # "retrained"
        b = _grid(tmp_path, encoders=["_id_weighted"])
        assert len(b.records) == 1 and b.records[0]["metrics"]["r2"] != a.records[0]["metrics"]["r2"]
        assert a.records[0]["identity"]["encoder"]["weights_sha256"] != b.records[0]["identity"]["encoder"]["weights_sha256"]
    finally:
        from geobench.encoding import ENCODERS

        ENCODERS._items.pop("_id_weighted", None)


def test_leaderboard_never_averages_across_identities(tmp_path):
    """The issue's reproduction: n_points 300 then 400 into one folder, one seed each, used to show
    one cell "2 seeds". Now: the newest setting with its own seed count, the older one counted."""
    from geobench.reporting.leaderboard import summarize, write_leaderboard

    _grid(tmp_path, tasks=["elevation"], seeds=[0, 1], task_options={"n_points": 300})
    new = _grid(tmp_path, tasks=["elevation"], seeds=[0], task_options={"n_points": 400})
    _grid(tmp_path, tasks=["elevation"], heads=["linear:alphas=1/100"], seeds=[0], task_options={"n_points": 400})
    table, dropped = summarize(read_records(tmp_path / "runs.jsonl"))
    assert dropped == 0
    plain = table[table["head"] == "linear"].iloc[0]
    assert (plain.n_seeds, plain.superseded) == (1, 1)
    assert plain["mean"] == new.records[0]["metrics"]["r2"]
    other = table[table["head"] != "linear"]
    assert len(other) == 1 and other.iloc[0].n_seeds == 1 and other.iloc[0].superseded == 0
    _, md, _ = write_leaderboard(tmp_path)
    text = md.read_text()
    assert "†" in text and "1 older setting(s) stay in runs.jsonl and are not averaged in" in text


def test_ci_method_is_part_of_the_identity_and_the_record_says_which_made_the_ci(tmp_path):
    """The default CI is the block bootstrap over the task's blocks; the i.i.d. one is another cell
    with the same predictions and a narrower interval; an old row never stands in for either."""
    a, b = _changes_cell(tmp_path, dict(n_boot=300), dict(n_boot=300, ci="iid"))
    assert (a["identity"]["ci"], a["ci_method"], b["identity"]["ci"], b["ci_method"]) == \
        ("block:deg=10", "block:deg=10", "iid", "iid")
    assert a["metrics"] == b["metrics"] and a["setting"] != b["setting"]
    assert a["ci_blocks"] > 100 and "ci_blocks" not in b  # air temperature's test points span >100 blocks
    (lo_a, hi_a), (lo_b, hi_b) = a["ci95"]["r2"], b["ci95"]["r2"]
    assert lo_a < a["metrics"]["r2"] < hi_a and hi_a - lo_a > 1.3 * (hi_b - lo_b)


def test_a_test_set_inside_one_block_records_no_interval(tmp_path):
    """California housing split into 10-degree blocks: the whole test set is one block, where a
    block bootstrap is undefined: ci95 is null with a warning, not a fake interval."""
    r, = _grid(tmp_path, tasks=["california_housing"], splits=["spatial_block:deg=10"], n_boot=200).records
    assert r["ci_method"] == "block:deg=10" and r["ci_blocks"] == 1 and r["ci95"] == {"r2": None}
    assert any("interval is undefined" in w for w in r["warnings"])
