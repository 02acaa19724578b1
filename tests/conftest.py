"""Test configuration: real data from the shared mirror, a per-session cache."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import geobench  # noqa: F401  (sets MKL_CBWR before any test runs torch code)

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
os.environ.setdefault("GEOBENCH_DATA", str(SHARED / "data"))
# A persistent cache shared by test runs (derived point sets take seconds to build);
# tests that need an empty cache use the `empty_cache` fixture.
os.environ.setdefault("GEOBENCH_CACHE", str(Path(os.environ.get("GEOBENCH_TEST_CACHE", ROOT / ".test-cache")).resolve()))
os.environ.setdefault("GEOBENCH_THREADS", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

FIXTURES = SHARED / "fixtures"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """A fresh, empty GEOBENCH_CACHE for this test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("GEOBENCH_CACHE", str(d))
    return d


@pytest.fixture
def results_dir(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    return d


@pytest.fixture
def fetch_log(monkeypatch):
    """A list that records every name passed to ``geobench.data.fetch`` during the test."""
    from geobench import data

    names: list[str] = []
    real = data.fetch

    def recording_fetch(name, **kw):
        names.append(name)
        return real(name, **kw)

    monkeypatch.setattr(data, "fetch", recording_fetch)
    return names
