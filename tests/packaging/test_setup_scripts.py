"""The distribution name, and the checks of scripts/setup.sh and scripts/test.sh that run without a network.

``geobench`` on PyPI is ServiceNow's GEO-Bench, so this project is the distribution ``geobench-locenc``
(command and import ``geobench``). setup.sh's torch and GEO-Bench checks run against fake ``torch`` and
``geobench`` distributions; test.sh's "no mirror and offline" stop runs for real, in a copy of the
scripts with no ``../shared`` beside it and every https request sent to a closed proxy port.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

import geobench
from geobench.provenance import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_distribution_name_is_not_geo_bench():
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert name == geobench.DISTRIBUTION == "geobench-locenc"
    assert name in PACKAGES and "geobench" not in PACKAGES  # run records keep geobench's version
    try:
        assert geobench.__version__ == version(name)
    except PackageNotFoundError:
        pytest.skip("geobench-locenc is not installed (source tree on sys.path)")


def test_readme_and_scripts_install_only_from_the_checkout():
    lines, fenced = [], False
    for ln in (ROOT / "README.md").read_text().splitlines():
        if ln.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced and "pip install" in ln:
            lines.append(ln)
    for text in lines + [ln for ln in (SCRIPTS / "setup.sh").read_text().splitlines() if "pip install" in ln]:
        assert not re.search(r"pip install[^#]*\bgeobench\b", text), text
    assert any(re.search(r"pip install -e '\.\[dask\]'", ln) for ln in lines)


def _fake_site(tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


def _check(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / "setup_checks.py"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_setup_fails_on_a_cuda_torch_when_cpu_was_asked(tmp_path):
    env = _fake_site(tmp_path, {"torch/__init__.py": "from torch import version\n__version__ = '2.13.0+cu130'\n",
                                "torch/version.py": "cuda = '13.0'\nhip = None\n"})
    r = _check(env, "torch", "cpu")
    assert r.returncode == 1 and "torch 2.13.0+cu130 (CUDA 13.0 build)" in r.stdout
    assert "CPU build was asked for" in r.stderr and "GEOBENCH_TORCH=cuda" in r.stderr
    assert _check(env, "torch", "cuda").returncode == 0


def test_setup_accepts_a_cpu_torch(tmp_path):
    env = _fake_site(tmp_path, {"torch/__init__.py": "from torch import version\n__version__ = '2.13.0+cpu'\n",
                                "torch/version.py": "cuda = None\nhip = None\n"})
    r = _check(env, "torch", "cpu")
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "torch 2.13.0+cpu (CPU build)", "")


def test_cuda_wheel_metadata_is_recognised_before_download():
    checks = _load("setup_checks")
    cuda = {"version": "2.13.0", "requires_dist": ["filelock", 'nvidia-nccl-cu13==2.29.7; platform_system == "Linux"']}
    cpu = {"version": "2.13.0+cpu", "requires_dist": ["filelock", "sympy>=1.13.3"]}
    assert checks.is_gpu_build(cuda) == (sys.platform == "linux")
    assert not checks.is_gpu_build(cpu)
    assert checks.is_gpu_build({"version": "2.13.0+cu130", "requires_dist": []})


@pytest.mark.parametrize("summary, rc, out", [
    ("A benchmark designed to advance foundation models for Earth monitoring", 1, ""),  # GEO-Bench
    ("A benchmark for location encoders on the SatCLIP downstream tasks", 0, "geobench"),  # this project, old name
])
def test_setup_refuses_geo_bench_and_replaces_the_old_name(tmp_path, summary, rc, out):
    env = _fake_site(tmp_path, {"geobench-1.1.0.dist-info/METADATA":
                                f"Metadata-Version: 2.1\nName: geobench\nVersion: 1.1.0\nSummary: {summary}\n"})
    r = _check(env, "olddist")
    assert (r.returncode, r.stdout.strip()) == (rc, out)
    if rc:
        assert "GEO-Bench" in r.stderr and "cannot share an environment" in r.stderr


def test_test_sh_offline_without_mirror_stops_with_one_message(tmp_path):
    repo = tmp_path / "checkout"  # nothing called `shared` beside it
    (repo / "scripts").mkdir(parents=True)
    for name in ("test.sh", "test_data.py"):
        shutil.copy(SCRIPTS / name, repo / "scripts" / name)
    (repo / ".venv" / "bin").mkdir(parents=True)
    py = repo / ".venv" / "bin" / "python"
    py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    py.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("geobench_data", "no_proxy", "pythonpath")}
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens, every https request fails at once
    env.update(GEOBENCH_CACHE=str(tmp_path / "cache"), https_proxy=closed, HTTPS_PROXY=closed)
    t = time.perf_counter()
    r = subprocess.run(["bash", str(repo / "scripts" / "test.sh")], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert time.perf_counter() - t < 120
    assert r.stderr.count("test.sh:") == 1 and "cannot get the test data" in r.stderr, r.stderr
    assert "raw.githubusercontent.com" in r.stderr and "set GEOBENCH_DATA to a mirror folder" in r.stderr
    assert "no tests were run" in r.stderr and "passed" not in r.stdout and "error" not in r.stdout.lower()
    assert not (tmp_path / "cache" / "raw" / "air_temperature").exists()  # nothing half-fetched


def test_every_image_the_readme_shows_is_committed_and_under_the_budget():
    """The README's figures are files of the repository (the results commits), each under the
    500 KB figure budget; the per-continent bars and an Africa error map are among them."""
    import re
    import subprocess

    from geobench.reporting.png import MAX_FIGURE_BYTES

    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert any("continent_bars__" in p for p in links) and any("africa_residuals__" in p for p in links)
    tracked = set(subprocess.run(["git", "ls-files", *links], cwd=ROOT, capture_output=True, text=True).stdout.split())
    for p in links:
        assert (ROOT / p).is_file() and 0 < (ROOT / p).stat().st_size <= MAX_FIGURE_BYTES, p
        assert p in tracked or not (ROOT / ".git").exists(), f"{p} is not committed"
