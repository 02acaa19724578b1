"""What a result row needs to reproduce itself: versions, git commit, command, machine.

Where the commit comes from:

1. a git checkout *of geobench* (:data:`ROOT`, the folder above this file's package folder, is
   the top of a git work tree that tracks ``pyproject.toml`` and ``benchmark/provenance.py``):
   ``git rev-parse HEAD``, with ``-dirty`` if the tree is dirty (see :data:`SOURCE_PATHS`);
2. otherwise (an installed wheel) the stamp ``geobench/_build.py`` that ``setup.py`` writes
   into the wheel when it is built (:func:`build_info`, :func:`stamp_text`);
3. otherwise ``unknown``.

An unrelated git repository around an installed package, or around the working directory, is
never read.

**Dirty** means: a tracked file under :data:`SOURCE_PATHS` (the package sources and the build
files) differs from ``HEAD``, staged or not. Untracked files are ignored, and so is everything
outside those paths (``results/``, ``docs/``, ``tests/``, ``scripts/``): ``geobench reproduce``
itself appends to the tracked ``results/runs.jsonl`` and rewrites ``docs/results.md``, and
neither changes the code that produced a number. A dirty tree's records also carry
``git_diff_sha256``, the sha256 of ``git diff HEAD --binary`` of those paths, so two runs from
different uncommitted edits are told apart.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NamedTuple

from geobench import DISTRIBUTION

PACKAGES = (DISTRIBUTION, "numpy", "numba", "pandas", "scikit-learn", "lightgbm", "torch", "shapely", "geopandas")

# The source checkout this module would belong to (in a wheel: site-packages, which is not one).
ROOT = Path(__file__).resolve().parents[1]
# What "dirty" looks at: the folders that become the `geobench` package (pyproject's
# package-dir) and the files that build it.
SOURCE_PATHS = ("benchmark", "tasks", "encoders", "baselines", "pyproject.toml", "setup.py")
# Files a checkout of geobench tracks (relative to its top), and the stamp module written into wheels.
MARKERS = ("pyproject.toml", "benchmark/provenance.py")
STAMP_MODULE = "geobench._build"
BUILD_COMMIT_ENV = "GEOBENCH_BUILD_COMMIT"  # stamps a build from a source copy without git
# `git diff` options fixed, so that the diff hash does not depend on the user's git configuration
DIFF_OPTIONS = ("--binary", "--full-index", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
                "--no-relative", "--diff-algorithm=myers", "--indent-heuristic", "-U3", "--inter-hunk-context=0")
N_LISTED = 5  # modified files named in the dirty-tree error


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


class TreeState(NamedTuple):
    """A geobench git checkout: its ``HEAD``, the modified source files, the sha256 of their diff."""

    root: Path
    head: str
    dirty_files: tuple[str, ...]
    diff_sha256: str | None  # None when clean

    @property
    def commit(self) -> str:
        return self.head + ("-dirty" if self.dirty_files else "")


def _git(root: Path, *args: str, timeout: float = 10) -> bytes:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never take the index lock of a tree someone is working in
    return subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=root, env=env, capture_output=True,
                          timeout=timeout, check=True).stdout


def tree_state(root: Path | None = None) -> TreeState | None:
    """The state of the geobench checkout at ``root`` (default :data:`ROOT`), or None if ``root``
    is not the top of a git work tree tracking geobench's own files (or git is unavailable)."""
    root = Path(root if root is not None else ROOT).resolve()
    if not all((root / m).is_file() for m in MARKERS):
        return None
    try:
        top, head = _git(root, "rev-parse", "--show-toplevel", "HEAD").decode().splitlines()
        if Path(top).resolve() != root or set(_git(root, "ls-files", "-z", "--", *MARKERS).decode()
                                               .split("\0")) - {""} != set(MARKERS):
            return None
        paths = ("--", *SOURCE_PATHS)
        names = tuple(n for n in _git(root, "diff", "HEAD", "--name-only", "-z", "--no-renames", *paths)
                      .decode().split("\0") if n)
        digest = None
        if names:
            diff = _git(root, "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "-c",
                        "diff.suppressBlankEmpty=false", "diff", "HEAD", *DIFF_OPTIONS, *paths, timeout=60)
            digest = hashlib.sha256(diff).hexdigest()
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return TreeState(root, head, names, digest)


def build_stamp():
    """The stamp module written into a built wheel (``geobench._build``), or None."""
    try:
        return importlib.import_module(STAMP_MODULE)
    except ImportError:
        return None


@functools.lru_cache(maxsize=1)
def _source() -> tuple[str, str | None]:
    """(commit, diff sha256) of the running code, read once per process."""
    state = tree_state()
    if state is not None:
        return state.commit, state.diff_sha256
    stamp = build_stamp()
    if stamp is not None:
        return getattr(stamp, "COMMIT", "unknown"), getattr(stamp, "DIFF_SHA256", None)
    return "unknown", None


def git_commit() -> str:
    """The source tree's commit (with ``-dirty`` if modified), or ``unknown`` (see the module doc)."""
    return _source()[0]


def git_diff_sha256() -> str | None:
    """sha256 of the uncommitted source diff (``git diff HEAD``) when dirty, else None."""
    return _source()[1]


def dirty_message(files: tuple[str, ...], where: str, fix: str, *, flag: str = "--allow-dirty") -> str:
    """The dirty-tree error: where, the first :data:`N_LISTED` modified files, and the fixes."""
    listed = ", ".join(files[:N_LISTED]) + (f" and {len(files) - N_LISTED} more" if len(files) > N_LISTED else "")
    return (f"{where} has uncommitted changes to tracked source files ({listed or 'files not recorded'}), so "
            f"its results could not be traced to a commit: {fix}, or pass {flag} to run anyway (each record "
            "then carries provenance.git_diff_sha256, the sha256 of the uncommitted diff)")


def require_clean_tree(root: Path | None = None, *, flag: str = "--allow-dirty") -> None:
    """Raise :class:`~geobench.errors.GeobenchError` naming the modified files if the running
    code (the checkout at ``root``, default :data:`ROOT`, or the installed build) is dirty.
    Unknown sources pass: there is nothing to check."""
    from geobench.errors import GeobenchError

    state = tree_state(root)
    if state is not None:
        if state.dirty_files:
            raise GeobenchError(dirty_message(state.dirty_files, f"the source tree {state.root}",
                                              "commit (or stash) the changes", flag=flag))
        return
    stamp = build_stamp()
    if stamp is not None and str(getattr(stamp, "COMMIT", "")).endswith("-dirty"):
        raise GeobenchError(dirty_message(tuple(getattr(stamp, "DIRTY_FILES", ())), "the installed geobench",
                                          "rebuild it from a clean commit", flag=flag))


# -- build time (setup.py loads this file by path: standard library only above this line) --

def build_info(root: Path, env: dict | None = None) -> dict | None:
    """What a build from ``root`` stamps: ``$GEOBENCH_BUILD_COMMIT`` if set, else the checkout's
    state; None when neither is known (e.g. a source copy without git)."""
    env = os.environ if env is None else env
    if env.get(BUILD_COMMIT_ENV):
        return {"commit": env[BUILD_COMMIT_ENV], "diff_sha256": None, "dirty_files": ()}
    state = tree_state(root)
    if state is None:
        return None
    return {"commit": state.commit, "diff_sha256": state.diff_sha256, "dirty_files": state.dirty_files}


def stamp_text(version_: str, info: dict | None) -> str:
    """The source of ``geobench/_build.py`` for a build of ``version_`` described by ``info``."""
    info = info or {"commit": "unknown", "diff_sha256": None, "dirty_files": ()}
    return ("# Written by setup.py when this package was built (see geobench.provenance); do not edit.\n"
            f"VERSION = {version_!r}\nCOMMIT = {info['commit']!r}\nDIFF_SHA256 = {info['diff_sha256']!r}\n"
            f"DIRTY_FILES = {tuple(info['dirty_files'])!r}\n")


def command_line() -> str:
    if not sys.argv or not sys.argv[0]:
        return ""
    prog = Path(sys.argv[0]).name
    if prog in ("__main__.py", "-m"):  # `python -m geobench ...` re-runs as `geobench ...`
        prog = "geobench"
    return " ".join([prog] + sys.argv[1:])
