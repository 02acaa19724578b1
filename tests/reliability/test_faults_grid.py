"""Issue 14, a grid keeps going and says what happened: inapplicable cells are recorded, not
fatal (item 8); clear errors instead of tracebacks (item 11: rows without the metric, object
embeddings, broken plugins); silent no-ops now say so (item 14); progress while embedding
(item 10)."""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import pytest

from geobench.cli import main
from geobench.errors import GeobenchError, InputError, NotApplicableError, UnknownNameError
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid

RUN = dict(tracking_uri="none", progress=False, n_boot=0)


# --- item 8: one inapplicable cell no longer aborts the grid ----------------------------

def test_continent_without_points_is_not_applicable_and_the_rest_runs(results_dir):
    res = run_grid(["median_income", "air_temperature"], ["wrap"], ["linear"], ["continent:Africa", "random"], [0],
                   results_dir=results_dir, **RUN)
    by = {(r["task"], r["split"].split(":")[0]): r for r in res.records}
    assert len(by) == 4
    na = by[("median_income", "continent")]
    assert na["status"] == "not_applicable" and "Africa" in na["reason"] and "North America" in na["reason"]
    assert not na.get("metrics")
    for k in [("median_income", "random"), ("air_temperature", "continent"), ("air_temperature", "random")]:
        assert by[k]["status"] == "ok", by[k]
    # recorded as done: a second run skips all four
    again = run_grid(["median_income", "air_temperature"], ["wrap"], ["linear"], ["continent:Africa", "random"], [0],
                     results_dir=results_dir, **RUN)
    assert again.skipped == 4 and not again.records


def test_continent_holding_every_point_is_not_applicable(results_dir):
    (r,) = run_grid(["median_income"], ["wrap"], ["linear"], ["continent:North_America"], [0],
                    results_dir=results_dir, **RUN).records
    assert r["status"] == "not_applicable" and "train" in r["reason"]


def test_cli_inapplicable_cell_exits_0_with_rows(results_dir, capsys):
    rc = main(["run", "--task", "median_income", "air_temperature", "--split", "continent:Africa", "random",
               "--encoder", "wrap", "--seeds", "1", "--bootstrap", "0", "--tracking-uri", "none",
               "--results", str(results_dir)])
    assert rc == 0
    assert len(read_records(results_dir / "runs.jsonl")) == 4
    assert "n/a" in capsys.readouterr().out


@pytest.mark.parametrize("split, err", [("continent:Atlantis", UnknownNameError),
                                        ("continent:Africa:fewshot=1.5", InputError)])
def test_genuine_split_errors_still_fail_before_any_work(results_dir, split, err, monkeypatch):
    import geobench.evaluation.runner as runner

    monkeypatch.setattr(runner, "_embed_phase", lambda *a: pytest.fail("embedding ran"))
    with pytest.raises(err):
        run_grid(["air_temperature"], ["wrap"], ["linear"], [split], [0], results_dir=results_dir, **RUN)


def test_apply_split_raises_not_applicable_for_an_absent_continent():
    from geobench.evaluation.splits import apply_split, parse_split
    from geobench.tasks.base import load_task

    with pytest.raises(NotApplicableError, match="continents present: North America"):
        apply_split(load_task("median_income").df, parse_split("continent:Oceania"), 0)


# --- item 11: rows without the metric, object embeddings, broken plugins ----------------

def _one_run(results_dir):
    run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], [0, 1], results_dir=results_dir, **RUN)
    return results_dir / "runs.jsonl"


def test_leaderboard_skips_a_row_without_its_metric(results_dir, capsys):
    runs = _one_run(results_dir)
    rows = [json.loads(line) for line in runs.read_text().splitlines()]
    rows[0]["metrics"].pop(rows[0]["primary_metric"])
    broken_head = {k: v for k, v in rows[1].items() if k != "head"}
    runs.write_text("".join(json.dumps(r) + "\n" for r in rows + [broken_head]))
    with pytest.warns(UserWarning, match="1 row"):
        rc = main(["leaderboard", "--results", str(results_dir)])
    assert rc == 0
    assert "| wrap |" in capsys.readouterr().out  # the board is written from the one good row


def test_summarize_warns_and_skips_rows_without_the_primary_metric():
    from geobench.reporting.leaderboard import summarize

    base = {"key": "k", "task": "t", "encoder": "e", "head": "linear", "split": "random", "setting": "s",
            "status": "ok", "primary_metric": "r2", "timestamp": 1.0}
    rows = [{**base, "key": "a", "seed": 0, "metrics": {"r2": 0.5}},
            {**base, "key": "b", "seed": 1, "metrics": {}},
            {**base, "key": "c", "seed": 2, "metrics": {"r2": "x"}}]
    with pytest.warns(UserWarning, match=r"2 row\(s\).*r2"):
        t, _ = summarize(rows)
    assert t["n_seeds"].tolist() == [1] and t["mean"].tolist() == [0.5]


def test_object_dtype_embedding_is_a_clear_error():
    from geobench.encoding import check_embedding, get_encoder

    enc = get_encoder(lambda x: np.array([[object()] * 2] * len(x), dtype=object), name="objenc")
    with pytest.raises(InputError, match="objenc.*dtype object"):
        check_embedding(enc, enc.encode(np.zeros((3, 2))), 3)


def _plugin(tmp_path, monkeypatch, name, text):
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    return name


@pytest.mark.parametrize("text, needles", [
    ("x = 1\ndef f(:\n    pass\n", ["SyntaxError", "line 2"]),
    ("x = 1\n\nraise RuntimeError('boom at import')\n", ["RuntimeError", "boom at import", "line 3"]),
])
def test_broken_plugin_is_reported_with_its_line(tmp_path, monkeypatch, capsys, text, needles):
    name = _plugin(tmp_path, monkeypatch, "fc_broken_plugin", text)
    rc = main(["run", "--plugin", name, "--task", "air_temperature", "--encoder", "wrap", "--tracking-uri", "none",
               "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    for n in [name, "fc_broken_plugin.py", *needles]:
        assert n in err, err


# --- item 14: silent no-ops say what happened -------------------------------------------

def test_missing_plugin_module_vs_missing_dependency(tmp_path, monkeypatch):
    from geobench.registry import load_plugin

    with pytest.raises(GeobenchError, match="plugin module 'fc_no_such_plugin' not found.*PYTHONPATH"):
        load_plugin("fc_no_such_plugin")
    name = _plugin(tmp_path, monkeypatch, "fc_dep_plugin", "import fc_missing_dependency_xyz\n")
    with pytest.raises(GeobenchError) as e:
        load_plugin(name)
    msg = str(e.value)
    assert "fc_missing_dependency_xyz" in msg and "install" in msg and "PYTHONPATH" not in msg


def test_n_points_on_a_task_without_that_option_is_reported(results_dir, capsys):
    rc = main(["run", "--task", "air_temperature", "--encoder", "wrap", "--seeds", "1", "--bootstrap", "0",
               "--n-points", "500", "--tracking-uri", "none", "--results", str(results_dir)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "--n-points" in err and "ignored" in err and "air_temperature" in err


def test_leaderboard_on_a_mistyped_folder_is_an_error(tmp_path, capsys):
    typo = tmp_path / "resluts"
    assert main(["leaderboard", "--results", str(typo)]) == 2
    err = capsys.readouterr().err
    assert str(typo) in err and "runs.jsonl" in err
    assert not typo.exists()


def test_plot_continents_with_no_data_says_so(tmp_path, capsys):
    assert main(["plot", "continents", "--results", str(tmp_path / "nothing")]) == 2
    assert "runs.jsonl" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "runs.jsonl").write_text("")
    assert main(["plot", "continents", "--results", str(tmp_path / "empty")]) == 0
    assert "no results" in capsys.readouterr().out


# --- item 10: a slow encoder shows progress while embedding ------------------------------

def test_slow_embedding_shows_progress(monkeypatch, capsys, empty_cache):
    from geobench.encoding import embed as E
    from geobench.encoding import get_encoder

    monkeypatch.setattr(E, "EMBED_NOTICE_S", 0.2)

    def slow(x):
        time.sleep(0.8)
        return x / 90.0

    enc = get_encoder(slow, name="slowenc")
    E.embed(enc, np.zeros((5, 2)) + np.arange(5)[:, None], "f" * 64)
    err = capsys.readouterr().err
    assert "embedding 5 points with slowenc" in err and "done" in err
