"""Geographic train/val/test splits: pure functions of (points, spec, seed) -> index arrays.

Spec strings (``--split``):

- ``random[:train=0.6:val=0.2]``: a seeded permutation; the rest is test.
- ``spatial_block[:deg=10:train=0.6:val=0.2]``: points are grouped into ``deg`` x ``deg``
  lon/lat blocks; whole blocks go to train, val or test, so neighbours do not leak.
- ``continent[:NAME][:fewshot=F][:val=0.2]``: the named continent (default Africa) is the
  test set. Zero-shot (default, F=0): none of its points is in train or val. Few-shot: a
  fraction F of its points (the paper uses 0.01) moves into train and out of test.
  The other continents are split randomly into train and val.

A continent split of a task with no points on that continent, or with all of them there
(e.g. ``continent:Africa`` of a US-only task), raises :class:`NotApplicableError`: the grid
records the cell as not applicable and runs the rest. Bad specs raise when parsed, before any work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geobench.errors import InputError, NotApplicableError, UnknownNameError
from geobench.registry import parse_spec, unknown_name_message

SPLIT_KINDS = ("random", "spatial_block", "continent")
CONTINENTS = ("Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America")


@dataclass(frozen=True)
class SplitSpec:
    """A split kind and its parameters (all JSON-able)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return ":".join([self.kind] + [f"{k}={v}" for k, v in sorted(self.params.items())])

    def __hash__(self) -> int:
        return hash(str(self))


def parse_split(text: str) -> SplitSpec:
    """Parse a ``--split`` string. Unknown kinds or options raise with the valid choices."""
    parts = text.strip().split(":")
    kind = parts[0]
    if kind not in SPLIT_KINDS:
        raise UnknownNameError(unknown_name_message("split", kind, SPLIT_KINDS))
    if kind == "continent":
        name = "Africa"
        if len(parts) > 1 and "=" not in parts[1]:
            name = parts[1].replace("_", " ")
            parts = [parts[0]] + parts[2:]
        if name not in CONTINENTS:
            raise UnknownNameError(unknown_name_message("continent", name, CONTINENTS))
        _, opts = parse_spec(":".join(parts))
        params: dict[str, Any] = {"name": name, "fewshot": 0.0, "val": 0.2}
    elif kind == "random":
        _, opts = parse_spec(text)
        params = {"train": 0.6, "val": 0.2}
    else:
        _, opts = parse_spec(text)
        params = {"deg": 10.0, "train": 0.6, "val": 0.2}
    for k, v in opts.items():
        if k not in params:
            raise InputError(f"split {kind!r} has no option {k!r}; accepted: {', '.join(params)}")
        if k == "name":  # the canonical form writes the continent as name=...
            v = v.replace("_", " ")
            if v not in CONTINENTS:
                raise UnknownNameError(unknown_name_message("continent", v, CONTINENTS))
            params[k] = v
            continue
        try:
            params[k] = float(v)
        except ValueError:
            raise InputError(f"split option {k}={v!r} must be a number") from None
    _check_fracs(kind, params)
    return SplitSpec(kind, params)


def _check_fracs(kind: str, p: dict[str, Any]) -> None:
    for k in ("train", "val", "fewshot"):
        if k in p and not 0 <= p[k] < 1:
            raise InputError(f"split {kind}: {k}={p[k]} must be in [0, 1)")
    if kind != "continent" and p["train"] + p["val"] >= 1:
        raise InputError(f"split {kind}: train+val={p['train'] + p['val']} leaves no test set; use train+val < 1")
    if kind == "spatial_block" and not 0 < p["deg"] <= 90:
        raise InputError(f"split spatial_block: deg={p['deg']} must be in (0, 90]")


def apply_split(df: pd.DataFrame, spec: SplitSpec, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return sorted int64 (train, val, test) row indices of ``df`` (needs lon, lat, continent)."""
    n = len(df)
    if n < 3:
        raise InputError(f"cannot split {n} point(s) into train/val/test; a task needs at least 3 points")
    rng = np.random.default_rng(seed)
    p = spec.params
    if spec.kind == "random":
        perm = rng.permutation(n)
        a, b = int(round(p["train"] * n)), int(round((p["train"] + p["val"]) * n))
        parts = perm[:a], perm[a:b], perm[b:]
    elif spec.kind == "spatial_block":
        parts = _block_split(df, p, rng)
    else:
        parts = _continent_split(df, p, rng)
    out = tuple(np.sort(x).astype(np.int64) for x in parts)
    for name, idx in zip(("train", "test"), (out[0], out[2])):
        if idx.size == 0:
            err = NotApplicableError if spec.kind == "continent" else InputError
            raise err(f"split {spec} leaves the {name} set empty for this task ({n} points); "
                             "choose other fractions or another split")
    return out  # type: ignore[return-value]


def _block_split(df: pd.DataFrame, p: dict, rng: np.random.Generator):
    deg = p["deg"]
    bx = np.floor((df["lon"].to_numpy() + 180.0) / deg).astype(np.int64)
    by = np.floor((df["lat"].to_numpy() + 90.0) / deg).astype(np.int64)
    block = bx * 100_000 + by
    ub, inv, counts = np.unique(block, return_inverse=True, return_counts=True)
    order = rng.permutation(ub.size)
    cum = np.cumsum(counts[order]) / len(df)
    assign = np.full(ub.size, 2, dtype=np.int64)
    # a block goes to train while the cumulative share (before it) is below `train`, etc.
    before = cum - counts[order] / len(df)
    assign[order[before < p["train"]]] = 0
    assign[order[(before >= p["train"]) & (before < p["train"] + p["val"])]] = 1
    point_assign = assign[inv]
    return tuple(np.flatnonzero(point_assign == k) for k in range(3))


def _continent_split(df: pd.DataFrame, p: dict, rng: np.random.Generator):
    cont = df["continent"].to_numpy()
    is_test = cont == p["name"]
    if not is_test.any():
        present = sorted(set(cont))
        raise NotApplicableError(f"continent {p['name']!r} has no points in this task; continents present: {', '.join(present)}")
    test = np.flatnonzero(is_test)
    rest = rng.permutation(np.flatnonzero(~is_test))
    n_val = int(round(p["val"] * rest.size))
    val, train = rest[:n_val], rest[n_val:]
    if p["fewshot"] > 0:
        k = max(1, int(round(p["fewshot"] * test.size)))
        moved = rng.choice(test, size=k, replace=False)
        train = np.concatenate([train, moved])
        test = np.setdiff1d(test, moved)
    return train, val, test
