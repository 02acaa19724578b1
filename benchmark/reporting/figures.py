"""Every figure of a results folder: per-continent heat maps, embedding maps and the Africa
ecoregions figure, regenerated from ``runs.jsonl`` (and the stored predictions)."""
from __future__ import annotations

from pathlib import Path

from geobench.errors import GeobenchError
from geobench.evaluation.grid import holdout_split
from geobench.evaluation.records import read_records
from geobench.reporting.africa import plot_africa_ecoregions
from geobench.reporting.continents import plot_continents_from_runs
from geobench.reporting.maps import plot_embedding_maps

# encoders drawn as embedding maps by `geobench reproduce` and `geobench plot maps`
MAP_ENCODERS = ("satclip-bm", "satclip-bm:L=40", "sh_siren_random", "geoclip", "csp-bm", "mosaiks", "sh:L=10")


def write_figures(results: Path, *, encoders: tuple[str, ...] | None = None) -> list[Path]:
    """Continent plots (per task with per-continent metrics, head, and the random and hold-out
    splits), embedding maps of ``encoders`` (default ``MAP_ENCODERS``) and the Africa ecoregions
    figure (per head with few-shot ecoregion runs). A figure that fails (e.g. over the size
    budget) is reported and skipped."""
    encoders = MAP_ENCODERS if encoders is None else encoders
    records = read_records(results / "runs.jsonl")
    jobs = []
    for task, head in sorted({(r["task"], r["head"]) for r in records
                              if r.get("status") == "ok" and r.get("per_continent")}):
        for split in ("random", holdout_split(task)):
            if split:
                jobs.append(lambda t=task, h=head, s=split: [plot_continents_from_runs(results, t, records,
                                                                                        split=s, head=h)])
    jobs.append(lambda: plot_embedding_maps(results / "maps", encoders))
    for head in sorted({r["head"] for r in records}):
        jobs.append(lambda h=head: [plot_africa_ecoregions(results, records, head=h)])
    out = []
    for job in jobs:
        try:
            out += [p for p in job() if p]
        except GeobenchError as e:
            print(f"figure skipped: {e}", flush=True)
    return out
