"""Provenance of the code that made a record: which commit, whether the tree was dirty (and the
hash of its diff), read from a git checkout of geobench or from the stamp of an installed build.

The git cases run in small temporary repositories laid out like geobench (the checkout root is
injectable: ``tree_state(root)``, ``require_clean_tree(root)``, or ``provenance.ROOT``).
The installed-wheel case is in ``tests/packaging/test_wheel.py``.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from geobench import provenance
from geobench.cli import main
from geobench.errors import GeobenchError

REPO = Path(__file__).resolve().parents[1]
GIT = ["git", "-c", "user.name=geobench-test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]


def git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, files: dict[str, str] | None = None) -> str:
    """A committed git repository at ``root`` with ``files``; returns its HEAD."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return git(root, "rev-parse", "HEAD")


GEOBENCH_FILES = {"pyproject.toml": "[project]\nname = 'geobench'\n", "benchmark/provenance.py": "# marker\n",
                  "benchmark/mod.py": "X = 1\n", "tasks/t.py": "Y = 1\n", "results/runs.jsonl": "{}\n",
                  "docs/results.md": "# results\n", "tests/test_x.py": "", "scripts/s.sh": ""}


@pytest.fixture
def checkout(tmp_path) -> tuple[Path, str]:
    """A committed repository laid out like a geobench checkout, and its HEAD."""
    root = tmp_path / "geobench"
    return root, make_repo(root, GEOBENCH_FILES)


@pytest.fixture
def fresh_source(monkeypatch):
    """Clear the per-process cache of the running code's commit, before and after the test."""
    provenance._source.cache_clear()
    yield
    provenance._source.cache_clear()


def expected_diff_sha256(root: Path) -> str:
    out = subprocess.run(["git", "diff", "HEAD", *provenance.DIFF_OPTIONS, "--", *provenance.SOURCE_PATHS],
                         cwd=root, check=True, capture_output=True).stdout
    return hashlib.sha256(out).hexdigest()


def test_a_clean_checkout_is_its_head(checkout):
    root, head = checkout
    state = provenance.tree_state(root)
    assert state == provenance.TreeState(root.resolve(), head, (), None) and state.commit == head
    provenance.require_clean_tree(root)  # no error


def test_a_modified_source_file_makes_it_dirty_and_reproduce_refuses(checkout):
    root, head = checkout
    (root / "benchmark" / "mod.py").write_text("X = 2\n")
    state = provenance.tree_state(root)
    assert state.dirty_files == ("benchmark/mod.py",) and state.commit == head + "-dirty"
    assert state.diff_sha256 == expected_diff_sha256(root)
    with pytest.raises(GeobenchError) as e:
        provenance.require_clean_tree(root)
    msg = str(e.value)
    assert "benchmark/mod.py" in msg and "commit" in msg and "--allow-dirty" in msg and str(root.resolve()) in msg


def test_what_counts_as_dirty(checkout):
    """Tracked package sources and build files, staged or not; not untracked files, and not
    results/, docs/, tests/ or scripts/ (reproduce writes runs.jsonl and the results page itself)."""
    root, _ = checkout
    (root / "benchmark" / "new.py").write_text("untracked\n")
    for name in ("results/runs.jsonl", "docs/results.md", "tests/test_x.py", "scripts/s.sh"):
        (root / name).write_text("changed\n")
    assert provenance.tree_state(root).dirty_files == ()
    provenance.require_clean_tree(root)
    (root / "tasks" / "t.py").write_text("Y = 2\n")
    git(root, "add", "tasks/t.py")  # staged but not committed: still dirty
    (root / "pyproject.toml").write_text("[project]\nname = 'geobench'\nversion = '9'\n")
    assert provenance.tree_state(root).dirty_files == ("pyproject.toml", "tasks/t.py")
    git(root, "commit", "-q", "-am", "commit it")
    assert provenance.tree_state(root).dirty_files == ()


def test_the_diff_hash_tells_different_edits_apart(checkout):
    root, _ = checkout
    mod = root / "benchmark" / "mod.py"
    mod.write_text("X = 2\n")
    a = provenance.tree_state(root).diff_sha256
    mod.write_text("X = 3\n")
    b = provenance.tree_state(root).diff_sha256
    mod.write_text("X = 2\n")
    assert a != b and provenance.tree_state(root).diff_sha256 == a  # same edit, same hash
    (root / "results" / "runs.jsonl").write_text("more\n")
    assert provenance.tree_state(root).diff_sha256 == a  # results are not part of it


def test_the_error_names_the_first_few_files(checkout):
    root, _ = checkout
    names = [f"benchmark/m{i}.py" for i in range(8)]
    for n in names:
        (root / n).write_text("a\n")
    git(root, "add", *names)
    git(root, "commit", "-q", "-m", "more")
    for n in names:
        (root / n).write_text("b\n")
    with pytest.raises(GeobenchError, match=r"benchmark/m4\.py and 3 more\)"):
        provenance.require_clean_tree(root)


def test_unrelated_or_enclosing_repositories_are_never_read(tmp_path):
    other = tmp_path / "other"
    make_repo(other, {"README": "not geobench\n", "sub/pyproject.toml": "", "sub/benchmark/provenance.py": ""})
    assert provenance.tree_state(other) is None  # no geobench files
    assert provenance.tree_state(other / "sub") is None  # geobench's files, but not the top of the repository
    for name in provenance.MARKERS:  # geobench's files at the top, but not tracked there
        (other / name).parent.mkdir(parents=True, exist_ok=True)
        (other / name).write_text("x\n")
    assert provenance.tree_state(other) is None
    git(other, "add", *provenance.MARKERS)
    git(other, "commit", "-q", "-m", "now it is one")
    assert provenance.tree_state(other).head == git(other, "rev-parse", "HEAD")
    assert provenance.tree_state(tmp_path / "nowhere") is None


def test_outside_a_checkout_the_build_stamp_is_read(tmp_path, monkeypatch, fresh_source):
    make_repo(tmp_path / "site-packages", {"README": "an enclosing repository\n"})
    monkeypatch.setattr(provenance, "ROOT", tmp_path / "site-packages")
    monkeypatch.setitem(sys.modules, provenance.STAMP_MODULE, None)  # no stamp: unknown
    assert (provenance.git_commit(), provenance.git_diff_sha256()) == ("unknown", None)
    provenance.require_clean_tree()  # nothing known, nothing to refuse
    provenance._source.cache_clear()
    info = {"commit": "a" * 40 + "-dirty", "diff_sha256": "d" * 64, "dirty_files": ("benchmark/x.py",)}
    stamp = types.ModuleType(provenance.STAMP_MODULE)
    exec(provenance.stamp_text("1.2.3", info), stamp.__dict__)
    assert stamp.VERSION == "1.2.3" and stamp.DIRTY_FILES == ("benchmark/x.py",)
    monkeypatch.setitem(sys.modules, provenance.STAMP_MODULE, stamp)
    assert (provenance.git_commit(), provenance.git_diff_sha256()) == ("a" * 40 + "-dirty", "d" * 64)
    with pytest.raises(GeobenchError, match=r"installed geobench .*benchmark/x\.py.*rebuild it"):
        provenance.require_clean_tree()


def test_build_info_from_git_or_the_environment(checkout, tmp_path):
    root, head = checkout
    assert provenance.build_info(root, env={}) == {"commit": head, "diff_sha256": None, "dirty_files": ()}
    (root / "benchmark" / "mod.py").write_text("X = 2\n")
    info = provenance.build_info(root, env={})
    assert info["commit"] == head + "-dirty" and info["diff_sha256"] == expected_diff_sha256(root)
    assert provenance.build_info(tmp_path / "copy", env={}) is None  # a source copy without git
    explicit = provenance.build_info(tmp_path / "copy", env={provenance.BUILD_COMMIT_ENV: "abc"})
    assert explicit["commit"] == "abc"
    ns: dict = {}
    exec(provenance.stamp_text("0.1.0", None), ns)
    assert ns["COMMIT"] == "unknown" and ns["DIFF_SHA256"] is None


def test_this_checkout_is_recognised(fresh_source):
    if not (REPO / ".git").exists():
        pytest.skip("not run from a git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert provenance.ROOT == REPO and provenance.git_commit().removesuffix("-dirty") == head


def test_source_paths_cover_the_package_folders():
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    folders = {d.split("/")[0] for d in pyproject["tool"]["setuptools"]["package-dir"].values()}
    assert folders <= set(provenance.SOURCE_PATHS)


# -- the CLI: `reproduce` refuses a dirty tree unless --allow-dirty; `run` runs and records the hash --

REPRODUCE = ["reproduce", "--task", "air_temperature", "--split", "random", "--encoder", "wrap", "--head", "linear",
             "--seeds", "1", "--bootstrap", "0", "--tracking-uri", "none", "--executor", "serial", "--no-report"]


def test_reproduce_refuses_a_dirty_tree_unless_allowed(checkout, tmp_path, monkeypatch, capsys, fresh_source):
    root, _ = checkout
    calls = []
    monkeypatch.setattr("geobench.evaluation.runner.run_planned", lambda *a, **kw: calls.append(a) or
                        types.SimpleNamespace(records=[], skipped=0, wall_seconds=0.0))
    monkeypatch.setattr("geobench.cli.run._write_report", lambda results, page: None)
    monkeypatch.setattr(provenance, "ROOT", root)
    (root / "benchmark" / "mod.py").write_text("X = 2\n")
    assert main([*REPRODUCE, "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "uncommitted changes" in err and "benchmark/mod.py" in err and "--allow-dirty" in err and not calls
    assert main(["reproduce", "--report-only", "--results", str(tmp_path / "r")]) == 0  # runs no cell
    assert main([*REPRODUCE, "--results", str(tmp_path / "r"), "--allow-dirty"]) == 0 and len(calls) == 1
    git(root, "commit", "-q", "-am", "commit it")
    assert main([*REPRODUCE, "--results", str(tmp_path / "r")]) == 0 and len(calls) == 2


def test_records_from_a_dirty_tree_carry_the_diff_hash(checkout, tmp_path, monkeypatch, capsys, fresh_source):
    """A real cell, through `reproduce --allow-dirty` and through `run` (serial, so in this
    process, where ROOT points at the temporary checkout)."""
    root, head = checkout
    monkeypatch.setattr(provenance, "ROOT", root)
    (root / "benchmark" / "mod.py").write_text("X = 2\n")
    digest = expected_diff_sha256(root)
    res = tmp_path / "results"
    assert main([*REPRODUCE, "--results", str(res), "--allow-dirty"]) == 0
    assert main(["run", *REPRODUCE[1:-1], "--results", str(res), "--force"]) == 0
    recs = [json.loads(line) for line in (res / "runs.jsonl").read_text().splitlines()]
    assert len(recs) == 2
    for r in recs:
        assert r["status"] == "ok"
        assert r["provenance"]["git_commit"] == head + "-dirty"
        assert r["provenance"]["git_diff_sha256"] == digest
    git(root, "commit", "-q", "-am", "commit it")
    provenance._source.cache_clear()
    assert main(["run", *REPRODUCE[1:-1], "--results", str(res), "--force"]) == 0
    clean = json.loads((res / "runs.jsonl").read_text().splitlines()[-1])["provenance"]
    assert clean["git_commit"] == git(root, "rev-parse", "HEAD") and "git_diff_sha256" not in clean
