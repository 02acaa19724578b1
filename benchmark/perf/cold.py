"""Section ``cold``: the first ``geobench run --task elevation --encoder wrap`` with an empty
cache, vs the same command on the warm cache."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from geobench.perf.children import CHILD_CLI, child_env, child_failed, run_child, wall_times
from geobench.perf.config import TARGETS, Config
from geobench.perf.timing import log, pass_miss, row


def section_cold(cfg: Config, tmp: Path) -> tuple[list[dict], dict]:
    """The first ``geobench run --task elevation --encoder wrap`` with an empty GEOBENCH_CACHE."""
    args = ["run", "--task", "elevation", "--encoder", "wrap", *cfg.cold_args]
    raw: dict[str, Any] = {"command": "geobench " + " ".join(args), "cold": [], "warm": []}
    cache = None
    for i in range(max(1, cfg.cold_repeats)):
        cache = tmp / f"cold-cache-{i}"
        log(f"cold run {i + 1} ...")
        r = run_child(CHILD_CLI, [*args, "--results", str(tmp / f"cold-results-{i}")], child_env(cache))
        raw["cold"].append(r)
        if r["rc"] != 0:
            return [child_failed("cold", raw["command"], r)], raw
    # reference: the same command again on the now-warm cache (--force), same run
    for i in range(max(1, cfg.cold_repeats)):
        r = run_child(CHILD_CLI, [*args, "--force", "--results", str(tmp / f"cold-results-{i}")], child_env(cache))
        raw["warm"].append(r)
    cold = statistics.median(r["wall_s"] for r in raw["cold"])
    warm = statistics.median(r["wall_s"] for r in raw["warm"])
    note = [f"{len(raw['cold'])} cold run(s), each with a fresh empty cache; wall time incl. interpreter start"]
    if cfg.cold_args:
        note.append(f"extra args {' '.join(cfg.cold_args)}")
    return [row("cold", "first `geobench run --task elevation --encoder wrap` (empty cache)", cold, "s",
                times=wall_times(raw["cold"]),
                ref_name="same command, warm cache (--force)", ref_value=warm, ref_unit="s", ratio=cold / warm,
                ratio_meaning="cold / warm (same run)", target=f"<= {TARGETS['cold_run_s']:g} s",
                status=pass_miss(cold <= TARGETS["cold_run_s"]), note="; ".join(note))], raw
