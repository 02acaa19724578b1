"""A task whose build uses a file only where it can be fetched (elevation and population sample
land with countries/land-10m.json, else with the coarse elevation grid) keys its cached points
and its provenance on whether that file was there: a fallback build is never served where the
file is available, nor the other way round."""
from __future__ import annotations

import pytest

import geobench.data as data
from geobench.errors import DataError
from geobench.tasks.base import _optional_inputs, cache_key, get_spec, load_task


def test_the_land_mask_is_an_input_of_the_land_sampled_tasks():
    from geobench.data import checksums

    land = "countries/land-10m.json"
    for task in ("elevation", "population"):
        assert get_spec(task).optional_files == (land,)
    p = load_task("elevation", n_points=300)
    assert p.inputs[land] == checksums([land])[land] and p.meta["land_mask"] == "land10m"


def test_an_unfetchable_optional_file_gives_another_cache_key(monkeypatch):
    spec = get_spec("elevation")
    here = _optional_inputs(spec.optional_files)

    def offline(name, *a, **k):
        raise DataError(f"{name}: no network here")

    monkeypatch.setattr(data, "fetch", offline)
    gone = _optional_inputs(spec.optional_files)
    assert gone == {"countries/land-10m.json": "unavailable"} and here != gone
    opts = {"n_points": 300, "seed": 0}
    assert cache_key(spec, opts, here) != cache_key(spec, opts, gone)
    from geobench.tasks.sampling import resolve_mask  # it imports fetch at call time: offline too

    with pytest.warns(UserWarning, match="land mask: countries/land-10m.json unavailable"):
        assert resolve_mask("auto") == "elevation"
