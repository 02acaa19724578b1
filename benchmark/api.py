"""``geobench.evaluate``: the notebook entry point, on the same runner, cache and records as the CLI."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd


def evaluate(encoder: "str | Any | Callable", tasks: Iterable[str] | str = ("air_temperature",),
             heads: Iterable[str] | str = ("linear",), split: Iterable[str] | str = "random",
             seeds: int | Iterable[int] = 3, *, name: str | None = None, version: str | int | None = None,
             results_dir: str | Path | None = None, force: bool = False, tracking_uri: str | None = "none",
             progress: bool = True, **kwargs: Any) -> pd.DataFrame:
    """Evaluate one encoder; returns one row per (task, head, split, seed) with its metrics.

    ``encoder`` is a registered spec (``"sh:L=40"``), an object with ``encode(lonlat)`` and
    ``dim``, or a plain callable ``f(lonlat) -> (N, D)``. ``lonlat`` is always (N, 2) float64
    (lon, lat) degrees. Give user encoders a ``name`` (how results show them). A result is
    reused only if its whole identity matches: for a user encoder that includes a fingerprint
    of its code; pass ``version=`` when something the code does not show changed (weights
    loaded from a file, a global array). ``results_dir`` defaults to ``$GEOBENCH_RESULTS`` or
    ``geobench-results``. Rows already there are reused unless ``force``.
    """
    from geobench.encoding import get_encoder
    from geobench.evaluation.records import default_results_dir, read_records
    from geobench.evaluation.runner import records_frame, run_grid

    as_list = lambda v: [v] if isinstance(v, str) else list(v)  # noqa: E731
    enc = encoder if isinstance(encoder, str) else get_encoder(encoder, name=name, version=version)
    results_dir = Path(results_dir) if results_dir is not None else default_results_dir()
    res = run_grid(as_list(tasks), [enc], as_list(heads), as_list(split), seeds, results_dir=results_dir,
                   force=force, tracking_uri=tracking_uri, progress=progress, **kwargs)
    wanted = set(res.keys)  # the requested cells, whether computed now or earlier
    rows = {r["key"]: r for r in read_records(results_dir / "runs.jsonl") if r["key"] in wanted}
    return records_frame(list(rows.values()))
