"""Bad-input catalogue: data files, caches and results folders (see ``catalogue.py``)."""
from __future__ import annotations

import json
import urllib.error
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from catalogue import AIR, MIRROR, RUN, Case, Ctx, run_case
from catalogue import module_cache, synthetic_tasks  # noqa: F401  (fixtures, found by name)
from geobench import data
from geobench.cache import cache_root
from geobench.data import fetching
from geobench.encoding import get_encoder
from geobench.errors import ChecksumError, DataError, InputError
from geobench.evaluation.runner import run_grid
from geobench.tasks.base import load_task, points_sha256


# --- data ----------------------------------------------------------------------------

def _mirror_with(c: Ctx, name: str, transform: Callable[[bytes], bytes] | None) -> Path:
    """A mirror holding ``name`` transformed (None: the file is missing) and a fresh cache."""
    m = c.tmp / "mirror"
    dst = m / name
    dst.parent.mkdir(parents=True, exist_ok=True)
    if transform is not None:
        dst.write_bytes(transform((MIRROR / name).read_bytes()))
    c.monkeypatch.setenv("GEOBENCH_DATA", str(m))
    c.fresh_cache()
    return m


def _fetch_bad(transform):
    def go(c: Ctx):
        _mirror_with(c, AIR, transform)
        try:
            return data.fetch(AIR)
        finally:
            assert not data.cache_path(AIR).exists()  # a bad file is never installed
    return go


def _flip(b: bytes) -> bytes:
    a = bytearray(b)
    a[len(a) // 2] ^= 0x20
    return bytes(a)


def _missing_no_network(c: Ctx):
    _mirror_with(c, AIR, None)

    def offline(u):
        raise urllib.error.URLError("network unreachable (test)")

    c.monkeypatch.setattr(fetching, "_http_get", offline)
    return data.fetch(AIR)


def _cache_under_file(c: Ctx):
    f = c.tmp / "a-file"
    f.write_text("not a directory")
    c.monkeypatch.setenv("GEOBENCH_CACHE", str(f / "cache"))
    return load_task("air_temperature")


def _cache_under_proc(c: Ctx):
    c.monkeypatch.setenv("GEOBENCH_CACHE", "/proc/geobench-cache")
    return data.fetch(AIR)


def _points_file(task: str = "air_temperature") -> Path:
    (p,) = sorted((cache_root() / "points").glob(f"{task}-*.parquet"))
    return p


def _tamper_points(how: str):
    """Build air_temperature in a fresh cache, tamper with the cached GeoParquet, load again."""
    def go(c: Ctx):
        import pyarrow as pa
        import pyarrow.parquet as pq

        c.fresh_cache()
        good = load_task("air_temperature")
        p = _points_file()
        if how == "truncated":
            p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
        else:
            t = pq.read_table(p)
            md = dict(t.schema.metadata)
            gb = json.loads(md[b"geobench"])
            if how == "y":  # data edited behind geobench's back, metadata left alone
                y = t.column("y").to_numpy().copy()
                y[:10] += 1.0
                t = t.set_column(t.schema.get_field_index("y"), "y", pa.array(y))
            elif how == "key":  # metadata says it was built from other inputs
                gb["key"] = "0" * 64
            elif how == "inputs":  # inputs edited, key kept: sha of the points no longer matches meta
                gb["meta"]["points_sha256"] = "f" * 64
            md[b"geobench"] = json.dumps(gb).encode()
            pq.write_table(t.replace_schema_metadata(md), p)
        tampered = p.read_bytes()
        again = load_task("air_temperature")
        return good, again, p, tampered
    return go


def _check_rebuilt(c: Ctx, out) -> None:
    import pyarrow.parquet as pq

    good, again, p, tampered = out
    assert again.sha256 == good.sha256 == points_sha256(again.df)
    np.testing.assert_array_equal(again.y, good.y)
    assert p.read_bytes() != tampered  # rebuilt and rewritten, not reused
    t = pq.read_table(p)
    gb = json.loads(t.schema.metadata[b"geobench"])
    df = t.drop(["geometry"]).to_pandas()
    assert points_sha256(df) == gb["meta"]["points_sha256"] == good.sha256


def _tamper_embedding(c: Ctx):
    from geobench.encoding.embed import embed

    c.fresh_cache()
    pts = load_task("air_temperature")
    enc = get_encoder("wrap")
    p, _ = embed(enc, pts.lonlat, pts.sha256)
    good = np.load(p)
    p.write_bytes(p.read_bytes()[:1000])  # truncated .npy
    p2, side = embed(enc, pts.lonlat, pts.sha256)
    return good, p2, side


def _check_embedding_recomputed(c: Ctx, out) -> None:
    good, p, side = out
    again = np.load(p)
    np.testing.assert_array_equal(again, good)
    assert side["shape"] == [3076, 4]


def _results_under_file(c: Ctx):
    f = c.tmp / "a-file"
    f.write_text("not a directory")
    return run_grid(["air_temperature"], ["direct"], ["linear"], ["random"], 1, results_dir=f / "results", **RUN)


def _append_under_file(c: Ctx):
    from geobench.evaluation.records import append_records

    f = c.tmp / "a-file"
    f.write_text("not a directory")
    return append_records(f / "results" / "runs.jsonl", [{"key": "k"}])


def _foreign_lines_in_runs(c: Ctx):
    runs = c.results / "runs.jsonl"
    runs.write_bytes(b'[1, 2]\n{"no": "key"}\n\xff\xfe garbage\n"text"\n')
    return run_grid(["air_temperature"], ["direct"], ["linear"], ["random"], 1, results_dir=c.results, **RUN)


def _check_foreign_lines(c: Ctx, res) -> None:
    from geobench.evaluation.records import read_records

    assert len(res.records) == 1
    with pytest.warns(UserWarning, match="skipped 4 incomplete or invalid line"):
        assert [r["key"] for r in read_records(c.results / "runs.jsonl")] == [res.records[0]["key"]]
    again = run_grid(["air_temperature"], ["direct"], ["linear"], ["random"], 1, results_dir=c.results, **RUN)
    assert again.skipped == 1 and again.records == []
    (c.results / "runs.jsonl").write_bytes(b"")  # the foreign lines are not ours to check below


DATA = [
    Case("runs-jsonl-with-foreign-lines", _foreign_lines_in_runs, None, check=_check_foreign_lines),
    Case("results-dir-not-writable-run", _results_under_file, DataError,
         ("a-file/results", "not a directory", "writable folder")),
    Case("results-dir-not-writable-records", _append_under_file, DataError,
         ("a-file/results/runs.jsonl", "not a directory", "--results a writable folder")),
    Case("truncated-mirror-file", _fetch_bad(lambda b: b[:1000]), ChecksumError,
         (AIR, "1000 bytes, expected 383938", "truncated", "GEOBENCH_DATA mirror", "geobench data fetch")),
    Case("wrong-checksum", _fetch_bad(_flip), ChecksumError,
         (AIR, "fails its checksum", "expected sha256 92d8456d", "GEOBENCH_DATA mirror")),
    Case("missing-mirror-file-offline", lambda c: (_mirror_with(c, AIR, None), data.fetch(AIR, offline=True)),
         DataError, (AIR, "not in the cache", "not in GEOBENCH_DATA", "geobench data fetch")),
    Case("missing-mirror-file-no-network", _missing_no_network, DataError,
         ("cannot fetch " + AIR, "does not hold it either", "set GEOBENCH_DATA")),
    Case("unknown-data-file", lambda c: data.fetch("air_temperature/stations.csv"), InputError,
         ("unknown data file 'air_temperature/stations.csv'", AIR)),
    Case("cache-dir-under-a-file", _cache_under_file, DataError,
         ("cannot be created", "Not a directory", "set GEOBENCH_CACHE to a writable folder")),
    Case("cache-dir-under-proc", _cache_under_proc, DataError,
         ("/proc/geobench-cache", "set GEOBENCH_CACHE to a writable folder")),
    Case("points-cache-y-tampered-is-rebuilt", _tamper_points("y"), None, check=_check_rebuilt),
    Case("points-cache-key-tampered-is-rebuilt", _tamper_points("key"), None, check=_check_rebuilt),
    Case("points-cache-sha-tampered-is-rebuilt", _tamper_points("inputs"), None, check=_check_rebuilt),
    Case("points-cache-truncated-is-rebuilt", _tamper_points("truncated"), None, check=_check_rebuilt),
    Case("embedding-cache-truncated-is-recomputed", _tamper_embedding, None, check=_check_embedding_recomputed),
]


CASES = DATA


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch, capsys, module_cache):
    run_case(case, tmp_path, monkeypatch, capsys, module_cache)
