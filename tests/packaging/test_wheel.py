"""The built wheel, installed in a fresh virtual environment, has every file the code reads,
and knows the commit it was built from.

The wheel is built from a fresh copy of the package sources (never a stale ``build/`` folder;
no build isolation, so no network), committed to a new git repository there so that the build
stamps that commit, and installed with ``pip --python`` into a new venv that lies inside an
unrelated git repository (which must never be taken for geobench's). The venv reaches the
third-party dependencies through a ``.pth`` line pointing at this environment's site-packages
(not its ``.pth`` files, so the editable geobench of the checkout stays invisible): what runs is
the wheel's geobench.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
GIT = ["git", "-c", "user.name=geobench-test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]


def _commit_all(repo: Path) -> str:
    """``git init`` + commit everything in ``repo``; its HEAD."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "test"]):
        subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("wheel")
    (d / "README").write_text("an unrelated repository around the venv\n")
    unrelated = _commit_all(d)
    src = d / "src"
    for name in ("benchmark", "tasks", "encoders", "baselines"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    commit = _commit_all(src)
    env = {k: v for k, v in os.environ.items() if k != "GEOBENCH_BUILD_COMMIT"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(d / "dist"), str(src)], check=True, capture_output=True, env=env)
    wheel = next((d / "dist").glob("*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(d / "venv")], check=True)
    target = next((d / "venv").glob("lib/python*/site-packages"))
    (target / "_dev_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(d / "venv" / "bin" / "python"), "install",
                    "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    return SimpleNamespace(venv=d / "venv", wheel=wheel, commit=commit, unrelated=unrelated)


@pytest.fixture(scope="module")
def venv(built) -> Path:
    return built.venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_wheel_imports_from_the_venv_and_lists(venv, tmp_path):
    r = _run(venv, str(venv / "bin" / "python"), "-c", "import geobench, geobench.reporting.results_page as p; "
             "print(geobench.__file__); print(sorted(p.narrative_sections()))", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(str(venv)), r.stdout  # the wheel, not the checkout
    assert "How to read these results" in r.stdout
    r = _run(venv, str(venv / "bin" / "geobench"), "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("air_temperature", "ecoregions", "satclip", "csp", "linear", "lightgbm"):
        assert name in r.stdout


def test_wheel_reproduce_report_only_keeps_the_caveats(venv, tmp_path):
    """``geobench reproduce --report-only`` from the wheel writes the page with its hand-written
    caveats (narrative.md) and the published comparison (published.csv). Embedding maps are
    switched off here (they encode a global grid with seven encoders: minutes)."""
    res = tmp_path / "results"
    res.mkdir()
    shutil.copy(FIX / "runs_small.jsonl", res / "runs.jsonl")
    page = tmp_path / "page" / "results.md"
    code = ("import sys, geobench.reporting.figures as f; f.MAP_ENCODERS = (); from geobench.cli import main; "
            f"sys.exit(main(['reproduce', '--report-only', '--results', {str(res)!r}, '--page', {str(page)!r}]))")
    r = _run(venv, str(venv / "bin" / "python"), "-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout
    md = page.read_text()
    for heading in ("## How to read these results", "## Reading the hold-out numbers",
                    "## Why our numbers differ from the published ones", "## Leaderboard"):
        assert heading in md
    assert (res / "leaderboard.md").exists()


def test_wheel_provenance_is_the_commit_it_was_built_from(built, tmp_path):
    """From the stamp ``geobench/_build.py``: not from the git repository around the venv, nor
    from one around the working directory."""
    stamp = zipfile.ZipFile(built.wheel).read("geobench/_build.py").decode()
    assert f"COMMIT = {built.commit!r}" in stamp and "DIFF_SHA256 = None" in stamp
    cwd_repo = tmp_path / "elsewhere"
    cwd_repo.mkdir()
    (cwd_repo / "pyproject.toml").write_text("[project]\nname = 'geobench'\n")
    _commit_all(cwd_repo)
    code = ("import geobench.provenance as p; print(p.git_commit()); print(p.git_diff_sha256()); "
            "p.require_clean_tree()")
    for cwd in (cwd_repo, tmp_path):
        r = _run(built.venv, str(built.venv / "bin" / "python"), "-c", code, cwd=cwd)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [built.commit, "None"], (r.stdout, built.unrelated)


def test_sdist_carries_the_stamp_to_a_wheel_built_from_it(built, tmp_path):
    """``python -m build`` builds the wheel from the sdist, where there is no git: the sdist has
    the stamp as ``benchmark/_build.py`` and the wheel keeps it."""
    import tarfile

    src = built.wheel.parents[1] / "src"
    env = {k: v for k, v in os.environ.items() if k != "GEOBENCH_BUILD_COMMIT"}
    name = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                           "print(b.build_sdist(sys.argv[1]))", str(tmp_path / "sdist")], cwd=src, env=env,
                          check=True, capture_output=True, text=True).stdout.split()[-1]
    with tarfile.open(tmp_path / "sdist" / name) as tar:
        tar.extractall(tmp_path / "unpacked", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    assert f"COMMIT = {built.commit!r}" in (unpacked / "benchmark" / "_build.py").read_text()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(unpacked)], check=True, capture_output=True, env=env)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    assert f"COMMIT = {built.commit!r}" in zipfile.ZipFile(wheel).read("geobench/_build.py").decode()
