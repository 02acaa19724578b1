"""Geographic train/val/test splits: pure functions of (points, spec, seed) -> index arrays.

Spec strings (``--split``):

- ``random[:train=0.6:val=0.2][:duplicates=grouped]``: a seeded permutation; the rest is test.
  By default (``duplicates=independent``) every row is drawn on its own, so rows that share
  their (lon, lat) (e.g. California block groups at one census point) can fall in train and
  test; a record counts them (``provenance.n_test_coords_in_train``). ``duplicates=grouped``
  keeps every set of identical coordinates in one part: the rows are permuted as by default,
  each coordinate group is placed where its first row falls, and the train/val/test cuts move
  to the nearest group boundary, so the sizes are as close to the fractions as the groups
  allow. Without duplicate coordinates it is exactly the default split.
  ``ntrain=N`` keeps only the first N rows of the (permuted) training part; validation and test
  stay as they are, so for one seed the training sets of growing N are nested and every N is
  scored on the same test points (a learning curve).
- ``spatial_block[:deg=10:train=0.6:val=0.2][:buffer=KM]``: points are grouped into ``deg`` x
  ``deg`` lon/lat blocks; whole blocks go to train, val or test. Without a buffer (the
  default) neighbours still leak across block edges: a training point just outside a test
  block can be metres from a test point. ``buffer=KM`` drops every training and validation
  point within KM km (great-circle) of a test point. Identical coordinates always share a block.
- ``continent[:NAME][:fewshot=F][:val=0.2]``: the named continent (default Africa) is the
  test set. Zero-shot (default, F=0): none of its points is in train or val. Few-shot: a
  fraction F of its points (the paper uses 0.01) moves into train and out of test.
  The other continents are split randomly into train and val (row by row; the few-shot move
  too, so duplicate coordinates can straddle the parts).

Every kind takes ``seed=N`` (an integer): the split is drawn with that seed instead of the
cell's seed, which then drives only the head (initialisation, validation carve, bootstrap),
so split variance and probe variance can be told apart. Unset (the default) the cell's seed
drives both; the canonical string leaves unset ``seed``, ``buffer=0`` and
``duplicates=independent`` out, so the split names (and cell identities) of existing rows stay.

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
DUPLICATES = ("independent", "grouped")  # random:duplicates=...; the first is the default
CONTINENTS = ("Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America")


@dataclass(frozen=True)
class SplitSpec:
    """A split kind and its parameters (all JSON-able)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return ":".join([self.kind] + [f"{k}={v}" for k, v in sorted(self.params.items())])

    def split_seed(self, seed: int) -> int:
        """The seed the split is drawn with: its own ``seed=`` option, else the cell's ``seed``."""
        return int(self.params.get("seed", seed))

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
    optional = {"spatial_block": ("seed", "buffer"), "random": ("seed", "duplicates", "ntrain")}.get(kind, ("seed",))
    # optional options are left out of params when unset (or set to their default)
    for k, v in opts.items():
        if k not in params and k not in optional:
            raise InputError(f"split {kind!r} has no option {k!r}; accepted: {', '.join([*params, *optional])}")
        if k in ("seed", "ntrain"):
            try:
                params[k] = int(v)
            except ValueError:
                raise InputError(f"split option {k}={v!r} must be an integer") from None
            if params[k] < (1 if k == "ntrain" else 0):
                raise InputError(f"split option {k}={v!r} must be >= {1 if k == 'ntrain' else 0}")
            continue
        if k == "name":  # the canonical form writes the continent as name=...
            v = v.replace("_", " ")
            if v not in CONTINENTS:
                raise UnknownNameError(unknown_name_message("continent", v, CONTINENTS))
            params[k] = v
            continue
        if k == "duplicates":
            if v not in DUPLICATES:
                raise UnknownNameError(unknown_name_message("duplicates mode", v, DUPLICATES))
            params[k] = v
            continue
        try:
            params[k] = float(v)
        except ValueError:
            raise InputError(f"split option {k}={v!r} must be a number") from None
    if params.get("buffer") == 0:
        del params["buffer"]  # the default: committed split names stay unchanged
    if params.get("duplicates") == DUPLICATES[0]:
        del params["duplicates"]  # likewise
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
    if "buffer" in p and not (np.isfinite(p["buffer"]) and p["buffer"] >= 0):
        raise InputError(f"split spatial_block: buffer={p['buffer']} must be a distance in km >= 0")


def apply_split(df: pd.DataFrame, spec: SplitSpec, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return sorted int64 (train, val, test) row indices of ``df`` (needs lon, lat, continent).

    ``seed`` is the cell's seed; the spec's own ``seed=`` option, when set, replaces it."""
    n = len(df)
    if n < 3:
        raise InputError(f"cannot split {n} point(s) into train/val/test; a task needs at least 3 points")
    rng = np.random.default_rng(spec.split_seed(seed))
    p = spec.params
    if spec.kind == "random":
        perm = rng.permutation(n)
        a, b = int(round(p["train"] * n)), int(round((p["train"] + p["val"]) * n))
        if p.get("duplicates") == "grouped":
            perm, a, b = _grouped(perm, coord_groups(df), a, b)
        if p.get("ntrain", 0) > a:
            raise InputError(f"split {spec}: ntrain={p['ntrain']} is more than the {a} rows of the training "
                             f"part ({n} points x train={p['train']}); lower ntrain or raise train")
        parts = perm[:a][: p.get("ntrain", a)], perm[a:b], perm[b:]
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


def block_codes(lon: Any, lat: Any, deg: float) -> np.ndarray:
    """The ``deg`` x ``deg`` lon/lat block of each point as one int64 code: the blocks of the
    ``spatial_block`` split, and of the block bootstrap (:mod:`geobench.evaluation.intervals`)."""
    bx = np.floor((np.asarray(lon, dtype=np.float64) + 180.0) / deg).astype(np.int64)
    by = np.floor((np.asarray(lat, dtype=np.float64) + 90.0) / deg).astype(np.int64)
    # row-major in (bx, by) with a stride above every latitude block index: distinct blocks get
    # distinct codes at any size, and codes sort like (bx, by) (the split's block order)
    return bx * (int(np.floor(180.0 / deg)) + 1) + by


def coord_groups(df: pd.DataFrame) -> np.ndarray:
    """An int64 group id per row of ``df``: rows with identical (lon, lat) share it
    (-0.0 and 0.0 are the same coordinate)."""
    from geobench.coords import coordinate_keys

    _, inv = np.unique(coordinate_keys(df[["lon", "lat"]].to_numpy()), return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def n_shared_coords(df: pd.DataFrame, part: np.ndarray, other: np.ndarray) -> int:
    """How many rows of ``part`` have a (lon, lat) that also occurs among the rows ``other``."""
    from geobench.coords import coinciding

    ll = df[["lon", "lat"]].to_numpy()
    return int(coinciding(ll[part], ll[other]).sum())


def _grouped(perm: np.ndarray, group: np.ndarray, a: int, b: int) -> tuple[np.ndarray, int, int]:
    """``perm`` reordered so that each coordinate group is contiguous (groups in the order of
    their first row in ``perm``, rows within a group in ``perm`` order), and the cuts ``a`` and
    ``b`` moved to the nearest group boundary (a tie goes to the smaller part before it)."""
    n = perm.size
    g = group[perm]
    first = np.full(int(group.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, g, np.arange(n))
    order = np.lexsort((np.arange(n), first[g]))  # by the group's first position, then by position
    perm, g = perm[order], g[order]
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(g)) + 1, [n]])
    a2 = int(bounds[np.argmin(np.abs(bounds - a))])
    rest = bounds[bounds >= a2]
    b2 = int(rest[np.argmin(np.abs(rest - b))])
    return perm, a2, b2


def _block_split(df: pd.DataFrame, p: dict, rng: np.random.Generator):
    block = block_codes(df["lon"].to_numpy(), df["lat"].to_numpy(), p["deg"])
    ub, inv, counts = np.unique(block, return_inverse=True, return_counts=True)
    order = rng.permutation(ub.size)
    cum = np.cumsum(counts[order]) / len(df)
    assign = np.full(ub.size, 2, dtype=np.int64)
    # a block goes to train while the cumulative share (before it) is below `train`, etc.
    before = cum - counts[order] / len(df)
    assign[order[before < p["train"]]] = 0
    assign[order[(before >= p["train"]) & (before < p["train"] + p["val"])]] = 1
    point_assign = assign[inv]
    train, val, test = (np.flatnonzero(point_assign == k) for k in range(3))
    if p.get("buffer", 0) > 0 and test.size:
        train, val = (_outside_buffer(df, idx, test, p["buffer"]) for idx in (train, val))
    return train, val, test


def _outside_buffer(df: pd.DataFrame, idx: np.ndarray, test: np.ndarray, km: float) -> np.ndarray:
    """The rows of ``idx`` farther than ``km`` (great-circle) from every test point."""
    from scipy.spatial import cKDTree

    from geobench.coords import km_to_chord, lonlat_to_xyz

    if idx.size == 0:
        return idx
    ll = df[["lon", "lat"]].to_numpy(dtype=np.float64)
    chord = km_to_chord(km)
    d, _ = cKDTree(lonlat_to_xyz(ll[test])).query(lonlat_to_xyz(ll[idx]), k=1)
    return idx[d > chord]


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
