"""The built wheel, installed in a fresh virtual environment, has every file the code reads.

The wheel is built from a fresh copy of the package sources (never a stale ``build/`` folder;
no build isolation, so no network) and installed with
``pip --python`` into a new venv. The venv reaches the third-party dependencies through a
``.pth`` line pointing at this environment's site-packages (not its ``.pth`` files, so the
editable geobench of the checkout stays invisible): what runs is the wheel's geobench.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("wheel")
    src = d / "src"
    for name in ("benchmark", "tasks", "encoders", "baselines"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(d / "dist"), str(src)], check=True, capture_output=True)
    wheel = next((d / "dist").glob("*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(d / "venv")], check=True)
    target = next((d / "venv").glob("lib/python*/site-packages"))
    (target / "_dev_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(d / "venv" / "bin" / "python"), "install",
                    "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    return d / "venv"


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
