"""Section ``memory``: peak RSS of one cell (elevation, the memory encoder, linear head) in a
child process with an empty cache."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from geobench.perf.children import CHILD_CLI, child_env, child_failed, peak_rss_bytes, run_child
from geobench.perf.config import TARGETS, Config
from geobench.perf.timing import pass_miss, row


def section_memory(cfg: Config, tmp: Path) -> tuple[list[dict], dict]:
    """Peak RSS of one cell at memory_n points x the memory encoder's features, empty cache."""
    from geobench.encoding import get_encoder

    dim = get_encoder(cfg.memory_encoder).dim
    args = ["run", "--task", "elevation", "--encoder", cfg.memory_encoder, "--head", "linear", "--seeds", "1",
            "--tracking-uri", "none", "--n-points", str(cfg.memory_n)]
    raw: dict[str, Any] = {"command": "geobench " + " ".join(args), "runs": []}
    for i in range(max(1, cfg.memory_repeats)):
        r = run_child(CHILD_CLI, [*args, "--results", str(tmp / f"mem-results-{i}")], child_env(tmp / f"mem-cache-{i}"))
        raw["runs"].append(r)
        if r["rc"] != 0:
            return [child_failed("memory", raw["command"], r, "bytes")], raw
    peak, how = max(peak_rss_bytes(r["report"]) for r in raw["runs"])
    emb = cfg.memory_n * dim * 4
    wall = statistics.median(r["wall_s"] for r in raw["runs"])
    raw.update(peak_bytes=peak, embedding_float32_bytes=emb, n=cfg.memory_n, dim=dim)
    return [row("memory", f"peak RSS, one cell: elevation N={cfg.memory_n:,} x {cfg.memory_encoder} (d={dim}), linear",
                peak, "bytes", ref_name="float32 embedding N x d", ref_value=emb, ref_unit="bytes",
                ratio=peak / emb, ratio_meaning="peak RSS / embedding bytes",
                target=f"<= {TARGETS['memory_bytes'] / 1e9:g} GB", status=pass_miss(peak <= TARGETS["memory_bytes"]),
                note=(f"{how}; empty cache: data prep + embedding + fit + bootstrap; "
                      f"wall {wall:.1f}s, {len(raw['runs'])} run(s)"))], raw
