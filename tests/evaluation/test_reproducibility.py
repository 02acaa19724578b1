"""Reproducibility: the same command gives bit-identical results; the seed drives the split;
a run record carries what is needed to reproduce it (command, versions, data and weights
checksums, git commit) and re-running its command reproduces its numbers.

Fast checks use the linear head end to end and the MLP / LightGBM heads directly with small
fixed hyper-parameters in two separate processes; the full three-head grid through
``geobench run`` twice is ``slow`` (the default MLP search takes minutes on 2 cores).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

import geobench
import pandas as pd
import pytest

from geobench import data
from geobench.cache import sha256_file
from geobench.evaluation.records import read_records
from geobench.evaluation.runner import run_grid

ROOT = Path(__file__).resolve().parents[2]
GEOBENCH = str(Path(sys.executable).with_name("geobench"))  # the console script, as users run it
AIR = "air_temperature/stationDataAll.csv"
CLS_TASK, CLS_OPTS = "biome", {"n_points": 3000}
VOLATILE = ("timestamp", "timings")


@pytest.fixture(scope="module")
def warm():
    """Points and wrap/direct embeddings for both tasks, built once in the shared test cache."""
    from geobench.encoding.embed import embed
    from geobench.encoding import get_encoder
    from geobench.tasks.base import load_task

    out = {}
    for task, opts in (("air_temperature", {}), (CLS_TASK, CLS_OPTS)):
        pts = load_task(task, **opts)
        for e in ("direct", "wrap"):
            embed(get_encoder(e), pts.lonlat, pts.sha256)
        out[task] = pts
    return out


def _env() -> dict[str, str]:
    return {**os.environ, "GEOBENCH_CORES": "2", "GEOBENCH_THREADS": "2"}


def _run_cli(args: list[str], results: Path) -> subprocess.CompletedProcess:
    cmd = [GEOBENCH, "run", *args, "--results", str(results), "--tracking-uri", "none"]
    out = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=3600)
    assert out.returncode == 0, out.stderr
    return out


def _rows(results: Path) -> list[str]:
    """Records without wall-clock fields and without provenance (compared separately)."""
    out = []
    for r in read_records(results / "runs.jsonl"):
        r = {k: v for k, v in r.items() if k not in VOLATILE + ("provenance",)}
        out.append(json.dumps(r, sort_keys=True))
    return out


def _same_command_twice(tmp_path: Path, heads: list[str], seeds: int, boot: int) -> list[dict]:
    commands = [
        ["--task", "air_temperature", "--encoder", "wrap"],
        ["--task", CLS_TASK, "--n-points", str(CLS_OPTS["n_points"]), "--encoder", "wrap"],
    ]
    recs = []
    for i, c in enumerate(commands):
        args = c + ["--head", *heads, "--seeds", str(seeds), "--bootstrap", str(boot)]
        a, b = tmp_path / f"a{i}", tmp_path / f"b{i}"
        _run_cli(args, a)
        _run_cli(args, b)
        ra, rb = _rows(a), _rows(b)
        assert len(ra) == len(heads) * seeds
        assert ra == rb  # metrics, per-continent metrics, CIs, chosen head parameters: bit-identical
        for ja, jb in zip(read_records(a / "runs.jsonl"), read_records(b / "runs.jsonl")):
            if ja["status"] == "ok":
                pa, pb = pd.read_parquet(a / ja["predictions"]), pd.read_parquet(b / jb["predictions"])
                pd.testing.assert_frame_equal(pa, pb, check_exact=True)
        recs += read_records(a / "runs.jsonl")
    return recs


def test_same_command_twice_is_bit_identical_linear(tmp_path, warm):
    recs = _same_command_twice(tmp_path, ["linear"], seeds=2, boot=200)
    by_task = {r["task"]: r for r in recs}
    assert by_task["air_temperature"]["metrics"]["r2"] > 0.8
    assert by_task[CLS_TASK]["metrics"]["accuracy"] > 0.3
    assert by_task[CLS_TASK]["task_options"] == CLS_OPTS


@pytest.mark.slow
@pytest.mark.timeout(7200)  # the default MLP search: minutes per cell on 2 cores, four runs
def test_same_command_twice_is_bit_identical_all_heads(tmp_path, warm):
    recs = _same_command_twice(tmp_path, ["linear", "mlp", "lightgbm"], seeds=1, boot=200)
    assert {(r["task"], r["head"]) for r in recs if r["status"] == "ok"} == {
        (t, h) for t in ("air_temperature", CLS_TASK) for h in ("linear", "mlp", "lightgbm")}


# The MLP and LightGBM heads with small fixed hyper-parameters on the real cached embeddings:
# two fits from fresh head objects must give byte-identical predictions. (Across processes,
# through ``geobench run`` with the default search, see the slow test above.)
FAST_HEADS = {
    "mlp": dict(params={"hidden": 64, "depth": 2, "lr": 1e-3}, max_epochs=8, patience=3),
    "lightgbm": dict(params={"n_estimators": 40, "num_leaves": 15, "learning_rate": 0.2}),
}


def _fit_predict(pts, X, name: str) -> tuple[np.ndarray, np.ndarray]:
    from geobench.heads import make_head
    from geobench.evaluation.splits import apply_split, parse_split

    tr, va, te = apply_split(pts.df, parse_split("random"), 1)
    nc = len(pts.classes) if pts.classes else None
    h = make_head(name, pts.spec.kind, seed=3, n_threads=2, n_classes=nc, **FAST_HEADS[name])
    h.fit(X[tr], pts.y[tr], eval_set=[(X[va], pts.y[va])])
    out = h.predict(X[te]) if pts.spec.kind == "regression" else h.predict_scores(X[te])
    return out, pts.y[te]


@pytest.mark.parametrize("head", sorted(FAST_HEADS))
def test_mlp_and_lightgbm_refit_is_bit_identical(head, warm):
    from geobench.encoding.embed import embed
    from geobench.encoding import get_encoder

    for task, pts in warm.items():
        X = np.load(embed(get_encoder("wrap"), pts.lonlat, pts.sha256)[0])
        a, y = _fit_predict(pts, X, head)
        b, _ = _fit_predict(pts, X, head)
        assert a.tobytes() == b.tobytes(), (task, head)  # bit-identical, not just close
        if pts.spec.kind == "regression":  # and a real fit, not a constant
            assert 1 - np.mean((y - a) ** 2) / np.var(y) > 0.7
        else:
            assert np.mean(a.argmax(1) == y) > np.bincount(y).max() / y.size + 0.05  # beats the majority class


def test_changing_only_the_seed_changes_split_and_metrics(tmp_path, warm):
    res = run_grid(["air_temperature"], ["direct", "wrap"], ["linear"], ["random", "spatial_block"], 2,
                   results_dir=tmp_path, tracking_uri="none", progress=False, n_boot=0)
    recs = {(r["encoder"], r["split"], r["seed"]): r for r in res.records}
    assert len(recs) == 8

    def test_rows(r):
        return tuple(pd.read_parquet(tmp_path / r["predictions"])["row"])

    splits = sorted({k[1] for k in recs})
    assert [s.split(":")[0] for s in splits] == ["random", "spatial_block"]
    for split in splits:
        for enc in ("direct", "wrap"):
            r0, r1 = recs[(enc, split, 0)], recs[(enc, split, 1)]
            assert test_rows(r0) != test_rows(r1)  # another seed, another split
            assert r0["metrics"]["r2"] != r1["metrics"]["r2"] and r0["per_continent"] != r1["per_continent"]
        for seed in (0, 1):  # the split depends on the seed only, not on the encoder
            assert test_rows(recs[("direct", split, seed)]) == test_rows(recs[("wrap", split, seed)])


def _satclip_ckpt(path: Path, L: int = 4) -> str:
    import torch

    from geobench.encoders.satclip.checkpoint import official_hparams, save_checkpoint

    g = torch.Generator().manual_seed(0)
    cap, emb = 16, 8
    sd = {"layers.0.weight": torch.randn(cap, L * L, generator=g) * 0.3, "layers.0.bias": torch.zeros(cap),
          "last_layer.weight": torch.randn(emb, cap, generator=g) * 0.3, "last_layer.bias": torch.zeros(emb)}
    return save_checkpoint(path, sd, official_hparams(L, num_layers=1, capacity=cap, embed_dim=emb))


def test_record_holds_enough_to_reproduce_itself(tmp_path, warm):
    ckpt = tmp_path / "my_satclip.ckpt"
    ck_sha = _satclip_ckpt(ckpt)
    assert ck_sha == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    first = tmp_path / "first"
    _run_cli(["--task", "air_temperature", "--encoder", "wrap", f"satclip:L=4:ckpt={ckpt}", "--head", "linear",
              "--seeds", "1", "--bootstrap", "100"], first)
    recs = read_records(first / "runs.jsonl")
    assert len(recs) == 2
    for r in recs:
        prov = r["provenance"]
        # the command, as typed
        assert prov["command"].startswith("geobench run ") and "--task air_temperature" in prov["command"]
        # versions of the interpreter and the numeric stack
        assert prov["versions"]["python"] == platform.python_version()
        for pkg in (geobench.DISTRIBUTION, "numpy", "pandas", "scikit-learn", "lightgbm", "torch"):
            assert prov["versions"][pkg] == version(pkg), pkg
        # data checksums: the declared ones, which are those of the bytes actually read
        assert prov["data_checksums"] == {AIR: data.get_declared(AIR).sha256}
        assert sha256_file(data.fetch(AIR)) == prov["data_checksums"][AIR]
        assert re.fullmatch(r"[0-9a-f]{64}", prov["points_sha256"])
        # the source tree: a real commit of this repository (HEAD or an ancestor of it)
        m = re.fullmatch(r"([0-9a-f]{40})(-dirty)?", prov["git_commit"])
        assert m, prov["git_commit"]
        assert subprocess.run(["git", "merge-base", "--is-ancestor", m.group(1), "HEAD"], cwd=ROOT).returncode == 0
        assert "weights_sha256" in prov
        assert prov["mkl_cbwr"] == os.environ.get("MKL_CBWR", geobench.MKL_CBWR)  # the run's MKL mode
    by_enc = {r["encoder"].split(":")[0]: r for r in recs}
    assert by_enc["satclip"]["provenance"]["weights_sha256"] == ck_sha  # the exact weights used
    assert by_enc["satclip"]["encoder_meta"]["weights_sha256"] == ck_sha
    assert by_enc["wrap"]["provenance"]["weights_sha256"] is None  # parameter-free

    # re-running the recorded command (into a new folder) reproduces the numbers exactly
    argv = shlex.split(recs[0]["provenance"]["command"])
    assert argv[:2] == ["geobench", "run"]
    i = argv.index("--results")
    argv[i + 1] = str(tmp_path / "again")
    out = subprocess.run([GEOBENCH, *argv[1:]], env=_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert _rows(tmp_path / "again") == _rows(first)
