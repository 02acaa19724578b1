"""Every figure of a results folder, regenerated from ``runs.jsonl`` (and the stored predictions).

Headline figures under ``figures/``: per-continent bars, the random -> block -> Africa gap lines,
critical-difference diagrams, the extrapolation and learning curves, Africa hold-out error maps and the
embedding globes. Appendix under ``continents/`` and ``maps/``: the per-continent heat maps and
the Africa ecoregions figure."""
from __future__ import annotations

from pathlib import Path

from geobench.errors import GeobenchError
from geobench.evaluation.grid import SPLIT_KINDS, holdout_split
from geobench.evaluation.records import read_records

# encoders drawn side by side as embedding globes by `geobench reproduce` (`geobench plot maps`
# draws one flat map per encoder of this list on request; the report does not link those)
MAP_ENCODERS = ("satclip-bm", "satclip-bm:L=40", "csp-bm", "geoclip", "sh_siren_random")
HEADS = ("linear", "mlp", "lightgbm")
FIGURES = "figures"  # the headline figures' folder under a results folder


def _headline_jobs(results: Path, records: list[dict], encoders: tuple[str, ...]) -> list:
    from geobench.reporting.continent_bars import plot_continent_bars
    from geobench.reporting.error_maps import plot_africa_class_errors, plot_africa_residuals
    from geobench.reporting.extrapolation_figures import plot_block_size_curves, plot_distance_curves
    from geobench.reporting.gap_lines import plot_gap_lines
    from geobench.reporting.globes import plot_globes
    from geobench.reporting.learning_curve import plot_learning_curves
    from geobench.reporting.rank_figures import plot_cd_diagram

    out = results / FIGURES
    heads = [h for h in HEADS if any(r.get("head") == h for r in records)]
    jobs = [lambda h=h: plot_continent_bars(records, out, head=h, kind="random") for h in heads]
    jobs += [lambda h=h: plot_gap_lines(records, out, head=h) for h in heads]
    jobs += [lambda h=h, k=k: plot_cd_diagram(records, out, head=h, kind=k) for h in heads for k in SPLIT_KINDS]
    jobs += [lambda: plot_distance_curves(records, out), lambda: plot_block_size_curves(records, out),
             lambda: plot_learning_curves(records, out)]
    jobs += [lambda: plot_africa_residuals(results, records, out, task="elevation"),
             lambda: plot_africa_class_errors(results, records, out, task="biome")]
    if encoders:
        jobs.append(lambda: plot_globes(out / "embedding_globes.png", encoders=encoders))
    return jobs


def _appendix_jobs(results: Path, records: list[dict]) -> list:
    from geobench.reporting.africa import plot_africa_ecoregions
    from geobench.reporting.continents import plot_continents_from_runs

    jobs = []
    for task, head in sorted({(r["task"], r["head"]) for r in records
                              if r.get("status") == "ok" and r.get("per_continent")}):
        for split in ("random", holdout_split(task)):
            if split:
                jobs.append(lambda t=task, h=head, s=split: plot_continents_from_runs(results, t, records,
                                                                                       split=s, head=h))
    for head in sorted({r["head"] for r in records}):
        jobs.append(lambda h=head: plot_africa_ecoregions(results, records, head=h))
    return jobs


# Files write_figures owns: removed before it draws, so a figure it no longer draws (no data,
# over the size budget, a dropped encoder) never stays on the page from an earlier run.
OWNED = (f"{FIGURES}/*.png", "continents/*.png", "maps/africa_ecoregions_*.png", "maps/embedding_*.png")


def write_figures(results: Path, *, encoders: tuple[str, ...] | None = None) -> list[Path]:
    """The headline figures (under ``results/figures/``; the embedding globes of ``encoders``,
    default ``MAP_ENCODERS``, none for ``()``) and the appendix (continent heat maps per task,
    head and split; the Africa ecoregions figure per head). Every earlier file of ``OWNED`` is
    removed first. A figure that fails (missing predictions, over the size budget, an unreadable
    predictions file) is reported with the reason and skipped, so a report after hours of runs
    is never lost to one figure; one without data is not written."""
    encoders = MAP_ENCODERS if encoders is None else encoders
    records = read_records(results / "runs.jsonl")
    for pattern in OWNED:
        for old in results.glob(pattern):
            old.unlink()
    out = []
    for job in _headline_jobs(results, records, encoders) + _appendix_jobs(results, records):
        try:
            p = job()
        except GeobenchError as e:
            print(f"figure skipped: {e}", flush=True)
            continue
        except Exception as e:  # noqa: BLE001  (e.g. a corrupt predictions file: name it, keep the report)
            print(f"figure skipped: {type(e).__name__}: {e}", flush=True)
            continue
        out += [q for q in (p if isinstance(p, list) else [p]) if q]
    return out
