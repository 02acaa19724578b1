"""``geobench.evaluate``: the notebook entry point, on the same runner, cache and records as the CLI."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd


def evaluate(encoder: "str | Any | Callable", tasks: Iterable[str] | str = ("air_temperature",),
             heads: Iterable[str] | str = ("linear",), split: Iterable[str] | str = "random",
             seeds: int | Iterable[int] = 3, *, name: str | None = None, results_dir: str | Path = "results",
             force: bool = False, tracking_uri: str | None = "none", progress: bool = True,
             **kwargs: Any) -> pd.DataFrame:
    """Evaluate one encoder; returns one row per (task, head, split, seed) with its metrics.

    ``encoder`` is a registered spec (``"sh:L=40"``), an object with ``encode(lonlat)`` and
    ``dim``, or a plain callable ``f(lonlat) -> (N, D)``. ``lonlat`` is always (N, 2) float64
    (lon, lat) degrees. Give user encoders a ``name`` so that results and caches are keyed
    by it. Rows already in ``results_dir/runs.jsonl`` are reused unless ``force``.
    """
    from geobench.encoding import get_encoder
    from geobench.evaluation.plan import plan
    from geobench.evaluation.records import read_records
    from geobench.evaluation.runner import records_frame, run_grid

    as_list = lambda v: [v] if isinstance(v, str) else list(v)  # noqa: E731
    enc = encoder if isinstance(encoder, str) else get_encoder(encoder, name=name)
    run_grid(as_list(tasks), [enc], as_list(heads), as_list(split), seeds, results_dir=results_dir,
                   force=force, tracking_uri=tracking_uri, progress=progress, **kwargs)
    # Return the requested cells, whether computed now or earlier.
    seeds_l = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    wanted = {c.key for c in plan(as_list(tasks), [enc], as_list(heads), as_list(split), seeds_l,
                                  task_options=kwargs.get("task_options"))}
    rows = {r["key"]: r for r in read_records(Path(results_dir) / "runs.jsonl") if r["key"] in wanted}
    return records_frame(list(rows.values()))
