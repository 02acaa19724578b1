"""Bad-input catalogue: every way a user can feed geobench something wrong (shared pieces).

Table-driven: each :class:`Case` runs one bad input and asserts the error type and that the
message names the problem (``needles``: fragments that must all appear, case-insensitive,
typically the offending value plus the fix). A few cases are *allowed* inputs whose handling
is checked instead (duplicates, an unseen test class, a tampered cache that must be rebuilt).
After every case no ``*.tmp`` file may remain in the cache or results folder and every line
of ``runs.jsonl`` must be complete JSON (:func:`run_case`).

Not collected (no ``test_`` prefix). The case tables are in the sibling ``test_*.py`` modules
(coordinates and names, data faults, checkpoints, heads and encoders), each a short
parametrized test calling :func:`run_case`; ``test_catalogue.py`` counts them all; the
security-hygiene checks (weights_only loading, path escapes, https-only sources) are in
``test_security.py``. A test module uses the synthetic tasks and the per-module cache by
importing the fixtures ``synthetic_tasks`` (autouse) and ``module_cache`` by name.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from geobench import data
from geobench.encoding import ArrayEncoder
from geobench.errors import GeobenchError
from geobench.evaluation.runner import run_grid
from geobench.evaluation.splits import apply_split, parse_split
from geobench.tasks.base import TASKS, TaskSpec, load_task, register_task

ROOT = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ["GEOBENCH_DATA"])
AIR = "air_temperature/stationDataAll.csv"
RUN = dict(tracking_uri="none", progress=False, n_boot=0)


# ---------------------------------------------------------------------------------------
# Synthetic tasks (registered per test module) built from the real station table
# ---------------------------------------------------------------------------------------

def _stations() -> pd.DataFrame:
    raw = pd.read_csv(data.fetch(AIR))
    return pd.DataFrame({"lon": raw["Lon"].to_numpy(np.float64), "lat": raw["Lat"].to_numpy(np.float64),
                         "y": raw["meanT"].to_numpy(np.float64)})


def _build_swapped() -> pd.DataFrame:
    df = _stations()
    return df.assign(lon=df["lat"], lat=df["lon"])  # a whole table in (lat, lon) order


def _build_empty() -> pd.DataFrame:
    return _stations().iloc[:0]


def _build_single() -> pd.DataFrame:
    return _stations().iloc[:1]


def _build_nan() -> pd.DataFrame:
    df = _stations()
    df.loc[17, "lat"] = np.nan
    return df


N_EXTRA_DUPES = 7


def _build_dupes() -> pd.DataFrame:
    df = _stations()
    _, first = np.unique(df[["lon", "lat"]].to_numpy(), axis=0, return_index=True)
    rows = np.sort(first)[:N_EXTRA_DUPES]  # rows whose location occurs once so far
    return pd.concat([df, df.iloc[rows]], ignore_index=True)


def _build_const() -> pd.DataFrame:
    return _stations().assign(y=15.0)


UNSEEN_SPLIT = "random"


def _build_unseen() -> pd.DataFrame:
    """west / east by longitude, plus a class 'south' held by the single southernmost station."""
    df = _stations()
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    y = np.where(lon < 0, 0, 1)
    y[np.argmin(lat)] = 2
    classes = ["west", "east", "south"]
    df = df.assign(y=y.astype(np.int64), class_name=np.array(classes, dtype=object)[y])
    df.attrs["meta"] = {"classes": classes}
    return df


def _unseen_seed() -> int:
    """The first seed whose random split puts the one 'south' station in the test set."""
    pts = load_task("_bad_unseen")
    (row,) = np.flatnonzero(pts.y == 2)
    return next(s for s in range(100) if row in apply_split(pts.df, parse_split(UNSEEN_SPLIT), s)[2])


def _spec(name: str, kind: str = "regression") -> TaskSpec:
    return TaskSpec(name=name, kind=kind, target="t", unit="u", description="synthetic bad-input task",
                    citation="", fidelity="same data", files=(AIR,), defaults={})


SYNTHETIC = {
    "_bad_swapped": (_build_swapped, "regression"),
    "_bad_empty": (_build_empty, "regression"),
    "_bad_single": (_build_single, "regression"),
    "_bad_nan": (_build_nan, "regression"),
    "_bad_dupes": (_build_dupes, "regression"),
    "_bad_const": (_build_const, "regression"),
    "_bad_unseen": (_build_unseen, "classification"),
}


_synthetic_users = 0  # test modules currently holding the synthetic tasks


@pytest.fixture(scope="module", autouse=True)
def synthetic_tasks():
    """Register the synthetic tasks for the importing test module, remove them after it.

    Registration overwrites (idempotent), and the tasks are removed only when the last module
    using them is done, so modules may share them."""
    global _synthetic_users
    TASKS.names()  # load the built-ins first
    for name, (build, kind) in SYNTHETIC.items():
        register_task(_spec(name, kind))(build)
    _synthetic_users += 1
    yield
    _synthetic_users -= 1
    if _synthetic_users == 0:
        for name in SYNTHETIC:
            TASKS._items.pop(name, None)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One cache for this module's cases (so leftovers can be checked), warmed from the mirror."""
    d = tmp_path_factory.mktemp("cache")
    old = os.environ.get("GEOBENCH_CACHE")
    os.environ["GEOBENCH_CACHE"] = str(d)
    yield d
    if old is None:
        os.environ.pop("GEOBENCH_CACHE", None)
    else:
        os.environ["GEOBENCH_CACHE"] = old


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

@dataclass
class Ctx:
    tmp: Path
    results: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: Any

    def fresh_cache(self) -> Path:
        d = self.tmp / "own-cache"
        self.monkeypatch.setenv("GEOBENCH_CACHE", str(d))
        return d


@dataclass
class Case:
    id: str
    run: Callable[[Ctx], Any]
    raises: type | None = None  # None: the input is allowed; ``check`` asserts its handling
    needles: tuple[str, ...] = ()
    check: Callable[[Ctx, Any], None] | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


def _enc(name: str, fn: Callable, dim: int) -> ArrayEncoder:
    return ArrayEncoder(name, dim, fn, {})


def _run_task(task: str, enc: Any = "direct", head: str = "linear", split: str = "random", seeds: int = 1):
    def go(c: Ctx):
        return run_grid([task], [enc], [head], [split], seeds, results_dir=c.results, **RUN)
    return go


# --- checkpoints: shared with the security checks ----------------------------------

L_CK, CAP, EMB, LAYERS = 4, 8, 6, 2


def _torch_save(c: Ctx, obj: Any, name: str = "bad.ckpt") -> Path:
    import torch

    p = c.tmp / name
    torch.save(obj, p)
    return p


class _Evil:
    """Unpickling this would create a marker file: weights_only loading must refuse it."""

    marker: Path | None = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _pickle_bomb(c: Ctx) -> Path:
    from geobench.encoders.satclip.checkpoint import official_hparams

    _Evil.marker = c.tmp / "pwned"
    return _torch_save(c, {"state_dict": {}, "hyper_parameters": official_hparams(L_CK), "x": _Evil()})


# ---------------------------------------------------------------------------------------
# Running one case
# ---------------------------------------------------------------------------------------

def _leftovers(*roots: Path) -> list[Path]:
    out = []
    for r in roots:
        if r.exists():
            out += [p for p in r.rglob("*") if p.name.endswith(".tmp")]
    return out


def _check_runs_jsonl(results: Path) -> None:
    p = results / "runs.jsonl"
    if p.exists():
        raw = p.read_bytes()
        assert raw == b"" or raw.endswith(b"\n")
        for line in raw.splitlines():
            json.loads(line)


def run_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, module_cache: Path) -> None:
    """Run one catalogue case (the body of every module's parametrized ``test_bad_input``)."""
    results = tmp_path / "results"
    results.mkdir()
    ctx = Ctx(tmp_path, results, monkeypatch, capsys)
    if case.raises is None:
        out = case.run(ctx)
        if case.check:
            case.check(ctx, out)
    else:
        with pytest.raises(case.raises) as ei:
            case.run(ctx)
        assert isinstance(ei.value, GeobenchError), f"{type(ei.value).__name__} is not a geobench error"
        msg = str(ei.value).lower()
        for n in case.needles:
            assert n.lower() in msg, f"{n!r} not in message: {ei.value}"
    if "no-marker" in case.tags:
        assert not (tmp_path / "pwned").exists()  # the pickled payload never ran
    cache = Path(os.environ["GEOBENCH_CACHE"])
    assert _leftovers(results, module_cache, cache, tmp_path) == []
    _check_runs_jsonl(results)
