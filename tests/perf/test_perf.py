"""Smoke test of ``python -m geobench.perf --quick``: every section runs at tiny sizes and the
JSON has the machine, versions, thread counts, raw timings, same-run reference ratios and
PASS/MISS flags. (The numbers of a quick run are meaningless; only the structure is tested.)"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import numpy as np
import pytest

from geobench import perf


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    d = tmp_path_factory.mktemp("perf")
    out = d / "perf.json"
    rc = perf.main(["--quick", "--sections", "sh,encoders,heads,linear,bootstrap", "--encoders", "direct,sh:L=4,satclip",
                    "--out", str(out), "--tmp", str(d)])
    assert rc == 0
    return json.loads(out.read_text())


def test_header(quick):
    m = quick["machine"]
    assert m["logical_cores"] >= 1 and m["memory_bytes"] > 1e8 and m["cpu_model"]
    assert quick["versions"]["numpy"] and quick["versions"]["threadpoolctl"] != "not installed"
    t = quick["threads"]
    assert t["limit"] >= 1 and t["measured_under_limit"]["torch"] == t["limit"]
    assert all(p["num_threads"] <= t["limit"] for p in t["measured_under_limit"]["pools"])
    assert quick["quick"] is True and quick["sections"] == ["sh", "encoders", "heads", "linear", "bootstrap"]
    cal = quick["calibration"]
    assert cal["start"]["matmul_GFLOPs"] > 0 and set(cal["drift_end_over_start"]) == {
        "write_GBps", "matmul_GFLOPs", "python_Mops"}


def test_timings_are_medians_with_same_run_references(quick):
    rows = quick["rows"]
    timed = [r for r in rows if "timing" in r]
    assert len(timed) >= 10
    for r in timed:
        tm = r["timing"]
        assert tm["repeats"] == len(tm["times_s"]) >= 1
        assert tm["median_s"] == pytest.approx(statistics.median(tm["times_s"]), abs=1e-6)
        if not tm.get("budget_limited"):
            assert tm["repeats"] >= 3
    # SH rows: throughput = N / median, ratio = value / reference value
    sh = {r["name"]: r for r in rows if r["section"] == "sh"}
    f32 = sh["spherical_harmonics L=40 float32 (row-major, fresh output)"]
    assert f32["value"] == pytest.approx(2000 / f32["timing"]["median_s"], rel=1e-4)
    assert f32["ratio"] == pytest.approx(f32["value"] / f32["ref_value"], rel=1e-9)
    assert f32["status"] in ("PASS", "MISS") and f32["target"].startswith(">=")
    assert f32["status"] == ("PASS" if f32["value"] >= perf.TARGETS["sh_L40_f32"] else "MISS")
    wb = sh["  L=40 float32 vs fresh-array write bound"]
    assert wb["status"] == ("PASS" if wb["ratio"] <= 2 else "MISS")
    off = sh["  L=10 float64 vs official analytic (recorded)"]
    assert off["ref_value"] == statistics.median([245_288, 180_702]) and "not measured" in off["note"]
    naive = sh["naive per-(l,m) reference L=40 float64"]
    assert naive["value"] > 0 and naive["value"] < f32["value"]


def test_encoders_and_errors(quick):
    enc = quick["sections_raw"]["encoders"]["encoders"]
    assert enc["direct"]["dim"] == 2 and enc["sh:L=4"]["dim"] == 16 and enc["sh:L=4"]["n"] == 500
    # an encoder whose weights are unavailable is recorded, not fatal (`satclip` without weights=/ckpt=)
    assert "InputError" in enc["satclip"]["error"] and "satclip needs its weights" in enc["satclip"]["error"]
    assert any(r["status"] == "ERROR" and r["name"] == "satclip" for r in quick["rows"])


def test_heads_rows(quick):
    names = {r["name"] for r in quick["rows"] if r["section"] == "heads"}
    for h in ("linear", "mlp", "lightgbm"):
        for n in (200, 500):
            for d in (16, 36):
                assert f"{h} fit N={n:,} d={d}" in names
    mlp = next(r for r in quick["rows"] if r["name"] == "mlp fit N=500 d=36")
    assert mlp["ref_name"] == "linear head, same data" and mlp["ratio"] > 0


def test_linear_against_ranges_sklearn_estimators(quick):
    """The linear head and RANGE's sklearn estimators are the same model: same alpha, same
    predictions, regression (RidgeCV cv=3) and classification (RidgeClassifierCV cv=10)."""
    rows = {r["name"]: r for r in quick["rows"] if r["section"] == "linear"}
    raw = quick["sections_raw"]["linear"]["runs"]
    for kind, ref in (("regression", "RidgeCV(cv=3)"), ("classification", "RidgeClassifierCV(cv=10)")):
        for n in (200, 500):
            for d in (16, 36):
                size = f"{kind} N={n:,} d={d}"
                r = rows[f"linear fit {size}"]
                assert r["ref_name"].endswith(ref) and r["ratio"] > 0 and r["ref_value"] > 0
                assert raw[size]["same_alpha"] and raw[size]["ours"]["alpha"] == raw[size]["sklearn"]["alpha"]
                assert raw[size]["disagreement"] < (1e-4 if kind == "regression" else 0.01)


def test_bootstrap_rows(quick):
    rows = {r["name"]: r for r in quick["rows"] if r["section"] == "bootstrap"}
    assert set(rows) == {f"block bootstrap {m} N=2,000 x 1000" for m in ("r2", "accuracy", "macro_f1")}
    assert all(r["ref_name"].startswith("i.i.d.") and r["ratio"] > 0 for r in rows.values())


def test_subprocess_sections(tmp_path, capsys):
    """cold first run, peak memory and the grid (cold + warm), each as a tiny child process."""
    out = tmp_path / "p.json"
    rc = perf.main(["--quick", "--sections", "cold,memory,grid", "--grid-encoders", "direct",
                    "--grid-seeds", "1", "--out", str(out), "--tmp", str(tmp_path)])
    assert rc == 0
    res = json.loads(out.read_text())
    rows = {r["section"]: r for r in res["rows"]}
    assert set(rows) >= {"cold", "memory", "grid"}
    cold = rows["cold"]
    assert cold["status"] in ("PASS", "MISS") and cold["value"] > 0 and cold["ref_value"] > 0
    assert res["sections_raw"]["cold"]["cold"][0]["rc"] == 0
    mem = rows["memory"]
    assert mem["status"] == "PASS" and 5e7 < mem["value"] < 4e9  # a python + numpy process, < 4 GB
    grid = [r for r in res["rows"] if r["section"] == "grid"]
    assert [g["status"] for g in grid] == ["", "PASS"]
    g = res["sections_raw"]["grid"]
    assert g["n_cells"] == 1 and g["cold"][0]["report"]["n_records"] == 1
    assert g["warm"][0]["report"]["n_records"] == 1  # force=True re-ran the cell on the warm cache
    assert "PASS" in capsys.readouterr().out
    # no temporary caches are left behind
    assert not list(tmp_path.glob("geobench-perf-*"))


def test_unknown_section_is_an_error(capsys):
    assert perf.main(["--quick", "--sections", "nope", "--out", ""]) == 2
    assert "nope" in capsys.readouterr().err


def test_merge_remeasures_one_section_and_keeps_the_others(quick, tmp_path):
    out = tmp_path / "perf.json"
    out.write_text(json.dumps(quick))
    rc = perf.main(["--quick", "--sections", "sh", "--merge", "--out", str(out), "--tmp", str(tmp_path)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["sections"] == ["sh", "encoders", "heads", "linear", "bootstrap"]
    assert res["merged"]["sections"] == ["encoders", "heads", "linear", "bootstrap"] and res["merged"]["from_run"] == quick["generated_utc"]
    by = {}
    for r in res["rows"]:
        by.setdefault(r["section"], []).append(r)
    assert all("from_run" not in r for r in by["sh"])  # re-measured now
    assert all(r["from_run"] == quick["generated_utc"] for r in by["encoders"] + by["heads"])
    assert len(by["heads"]) == sum(r["section"] == "heads" for r in quick["rows"])
    assert res["sections_raw"]["sh"]["backend"] in ("numba", "numpy")
    assert res["merged"]["context"]["versions"] == quick["versions"]


def test_merge_with_a_corrupt_earlier_file_fails_before_measuring(tmp_path, capsys):
    out = tmp_path / "perf.json"
    out.write_text('{"rows": [')  # truncated
    assert perf.main(["--quick", "--sections", "sh", "--merge", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "drop --merge" in err
    assert out.read_text() == '{"rows": ['  # untouched


def test_projection_from_measured_cell_times(tmp_path):
    """Current-setting records only: the declared grid's wall time from record timestamps (runs
    split at gaps), and the every-encoder grid projected from median cell times."""
    from geobench.evaluation.grid import grid_plan
    from geobench.evaluation.identity import SCORES_VERSION, head_identity
    from geobench.evaluation.intervals import ci_method
    from geobench.evaluation.plan import offline_tasks
    from geobench.evaluation.records import SCHEMA_VERSION
    from geobench.evaluation.splits import parse_split
    from geobench.perf.projection import measured_wall

    runs = tmp_path / "runs.jsonl"
    split = str(parse_split("random"))

    def rec(task, enc, head, seed, cell_s, ts, status="ok", version=None):
        ident = {"head": head_identity(head, False), "ci": ci_method("block", task, split), "scores": SCORES_VERSION}
        if version:
            ident["head"] = {**ident["head"], "version": version}
        return {"schema_version": SCHEMA_VERSION, "setting": "s", "key": f"{task}|{enc}|{head}|{seed}|{version}", "task": task, "encoder": enc, "head": head,
                "split": split, "seed": seed, "status": status, "timings": {"cell_s": cell_s}, "timestamp": ts,
                "identity": ident, "reason": "too many classes" if status != "ok" else None}

    recs = [rec("air_temperature", "wrap", "linear", i, v, 1000.0 + 10 * i) for i, v in enumerate((1.0, 3.0, 2.0))]
    recs.append(rec("air_temperature", "sh", "linear", 0, 4.0, 5000.0))  # a second run, after an interruption
    recs.append(rec("air_temperature", "sh", "mlp", 0, 99.0, 5010.0, version=1))  # superseded: not counted
    recs.append(rec("countries", "wrap", "lightgbm", 0, None, 5020.0, status="not_applicable"))
    runs.write_text("".join(json.dumps(r) + "\n" for r in recs))
    def spans(*cells):
        return [{"timestamp": t0, "timings": {"cell_s": secs}} for t0, secs in cells]

    assert measured_wall(spans((0.0, 5.0), (30.0, 0.0), (2000.0, 1.0))) == (31.0, 2)  # 0-30, then 2000-2001
    assert measured_wall(spans((0.0, 1.0), (1.0, 1.0), (2.0, 600.0))) == (602.0, 1)  # the last, longest cell counts
    # a 700 s cell running across a start gap of 790 s: one run, to the end of the last cell
    assert measured_wall(spans((0.0, 5.0), (10.0, 700.0), (800.0, 5.0))) == (805.0, 1)
    cfg = perf.Config.make(runs=str(runs), projection_workers=2)
    (declared, every), raw = perf.section_projection(cfg)
    assert raw["declared"]["n_runs"] == 2 and raw["declared"]["wall_s"] == pytest.approx(22.0 + 20.0)
    assert raw["declared"]["cell_s_by_head"] == {"linear": 10.0, "mlp": 0.0, "lightgbm": 0.0}
    assert declared["status"] == "INCOMPLETE" and "5 of" in declared["note"]
    n_splits = dict(grid_plan(["air_temperature"]))["air_temperature"]
    e = raw["every_encoder"]
    cells = e["encoders"] * len(n_splits) * 5
    assert e["cells"]["linear/air_temperature"] == {"cells": cells, "median_cell_s": 2.5, "measured_cells": 4}
    assert e["cells"]["lightgbm/countries"]["median_cell_s"] == 0.0
    assert e["cells"]["mlp/air_temperature"]["median_cell_s"] is None  # only a version-1 row
    assert every["value"] == pytest.approx(cells * 2.5 / 2)
    assert "mlp/elevation" in e["missing"] and len(e["cells"]) == 3 * len(offline_tasks())


# --- the package layout: child modules, dispatch, import side effects -----------------------

def _child_env(tmp_path):
    from geobench.perf import children

    return children.child_env(tmp_path / "cache")


def test_child_cli_runs_as_a_module(tmp_path):
    """``python -m geobench.perf.child_cli REPORT ARGS...`` runs ``geobench ARGS...`` and reports
    its peak RSS (VmHWM) and CPU time; a failing command returns its exit code and stderr."""
    from geobench.perf import children

    r = children.run_child(children.CHILD_CLI, ["list"], _child_env(tmp_path), timeout=600)
    assert r["rc"] == 0, r.get("stderr_tail")
    rep = r["report"]
    assert set(rep) == {"vmhwm_kb", "self_maxrss_kb", "cpu_s", "children_maxrss_kb", "rc", "seconds_in_python"}
    assert rep["rc"] == 0 and rep["cpu_s"] > 0 and 0 < rep["seconds_in_python"] < r["wall_s"]
    peak, how = children.peak_rss_bytes(rep)
    if rep["vmhwm_kb"]:  # Linux
        assert how.startswith("VmHWM") and peak == 1024 * rep["vmhwm_kb"]
    assert 1e7 < peak < 4e9
    bad = children.run_child(children.CHILD_CLI, ["run", "--task", "air_temperature"], _child_env(tmp_path),
                             timeout=600)
    assert bad["rc"] == 2 and "--encoder" in bad["stderr_tail"] and bad["report"] == {}
    assert children.child_failed("cold", "x", bad)["status"] == "ERROR"


def test_child_grid_runs_as_a_module(tmp_path):
    """``python -m geobench.perf.child_grid REPORT JOB`` runs the grid of JOB (here empty)."""
    from geobench.perf import children

    job = {"tasks": [], "encoders": [], "seeds": 1, "results": str(tmp_path / "results"), "force": False,
           "executor": "serial", "jobs": None, "n_boot": 0}
    r = children.run_child(children.CHILD_GRID, [json.dumps(job)], _child_env(tmp_path), timeout=600)
    assert r["rc"] == 0, r.get("stderr_tail")
    assert set(r["report"]) == {"wall_seconds", "n_records", "skipped", "status", "sum_fit_s", "sum_cell_s",
                                "sum_embed_s_unique", "vmhwm_kb", "self_maxrss_kb", "cpu_s", "slowest_cells"}
    assert r["report"]["n_records"] == 0 and r["report"]["slowest_cells"] == []


def test_every_section_is_dispatched_in_order():
    from geobench.perf import cli

    assert tuple(cli.SECTION_FUNCS) == perf.SECTIONS
    assert all(f.__name__ == f"section_{s}" for s, f in cli.SECTION_FUNCS.items())


def test_importing_perf_loads_no_openmp_runtime_and_main_sets_passive_wait(monkeypatch):
    """``main`` sets OMP_WAIT_POLICY=PASSIVE (unless set) before torch or numba load OpenMP, so
    importing the package and its CLI must not load them; the children import nothing extra."""
    code = ("import sys, geobench.perf, geobench.perf.cli, geobench.perf.child_cli, geobench.perf.child_grid\n"
            "geobench.perf.main\n"
            "print(sorted(m for m in ('torch', 'numba', 'sklearn', 'lightgbm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    monkeypatch.setenv("OMP_WAIT_POLICY", "x")
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert perf.main(["--quick", "--sections", "nope", "--out", ""]) == 2
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert perf.main(["--quick", "--sections", "nope", "--out", ""]) == 2
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_points_are_the_area_uniform_draw_perf_always_used():
    """The sections draw their points with tasks.sampling.sample_sphere; it must stay perf's
    former own draw, or perf numbers stop being comparable: the same longitudes bit for bit and
    the same latitudes up to the last bits (geobench.portable's arcsin, not NumPy's)."""
    from geobench.tasks.sampling import sample_sphere

    for n, seed in ((1, 0), (500, 1), (2_000, 0), (12_345, 3)):
        rng = np.random.default_rng(seed)
        lon = rng.uniform(-180.0, 180.0, n)
        lat = np.rad2deg(np.arcsin(rng.uniform(-1.0, 1.0, n)))
        got = sample_sphere(n, seed)
        assert np.array_equal(got[:, 0], lon) and np.abs(got[:, 1] - lat).max() <= 1e-13
