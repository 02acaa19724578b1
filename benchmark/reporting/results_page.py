"""The results page (``docs/results.md``): the narrative's caveats, computed findings, coverage,
test-set sizes per seed, ours vs published, how our tasks differ from the paper's, split vs probe
variance (``results/variance/``), protocol checks, the figures and the leaderboard. Numbers come only
from the records (``runs.jsonl``, ``variance/`` and ``alpha_sensitivity/``), except the measured task
differences, computed by code from the tasks' points; the prose comes from ``narrative.md``
next to this module (no numbers in it)."""
from __future__ import annotations

import os
from pathlib import Path

from geobench.errors import DataError

NARRATIVE = Path(__file__).with_name("narrative.md")
SENSITIVITY = "alpha_sensitivity"  # results/<this>/runs.jsonl: the linear head with a wider alpha grid


def narrative_sections(path: Path | None = None) -> dict[str, str]:
    """The hand-written prose of ``narrative.md`` (no numbers), by ``## `` heading, in file order.

    Raises DataError when the file is missing: a page without its caveats must not be written."""
    path = NARRATIVE if path is None else Path(path)
    if not path.is_file():
        raise DataError(f"the results page's narrative {path} is missing (an install without the package data "
                        "'geobench.reporting/narrative.md'?); reinstall geobench or restore the file")
    out: dict[str, str] = {}
    for block in ("\n" + path.read_text()).split("\n## ")[1:]:
        title, _, body = block.partition("\n")
        out[title.strip()] = f"## {title.strip()}\n{body.rstrip()}\n"
    return out


# The headline figures (``results/figures/``), in page order: file-name pattern, heading, caption.
HEADLINE_FIGURES = (
    ("continent_bars__*.png", "Per-continent scores",
     "Bars: mean test score over seeds per continent (Global first), one colour per key encoder; error bars: "
     "std over seeds; the hatched grey bar is the label-only `constant`. Continents with fewer than 50 test "
     "points are left out; an R² below the axis floor is marked ▼ and its value printed above the panel."),
    ("gap_lines__*.png", "From random to spatial block to Africa",
     "Each key encoder's mean test score under the random split, the spatial-block split and the Africa "
     "hold-out (zero-shot, or 1 % few-shot for countries and ecoregions): how much of the random-split score "
     "survives away from the training data."),
    ("cd__*.png", "Mean ranks and critical differences",
     "Demšar's diagram: mean rank over tasks (1 = best), the Nemenyi critical difference (CD) and bars "
     "joining encoders it cannot tell apart; Friedman's test in the title."),
    ("extrapolation_*.png", "Extrapolation",
     "Score against the distance from each test point to its nearest training point (spatial-block split), "
     "and against the spatial-block size."),
    ("learning_curve__*.png", "Learning curve",
     "Test score against the number of points the head was fit on (nested training sets, one test set)."),
    ("africa_*.png", "Africa hold-out errors",
     "The zero-shot Africa hold-out, one seed: residuals in the target's unit (regression), and correct / "
     "wrong with an African class / wrong with a class that does not occur in Africa (classification)."),
    ("embedding_globes*.png", "Embedding globes",
     "The learned encoders' embeddings and SatCLIP's untrained twin (`sh_siren_random`): the first three "
     "principal components as RGB, fitted on area-uniform land points; Equal Earth projection, land only."),
)


def figure_lines(results: Path, page_dir: Path) -> list[str]:
    """Markdown for the committed figures: the headline figures (``HEADLINE_FIGURES``), then the
    appendix (per-continent heat maps by task, the Africa ecoregions figures); links are
    relative to ``page_dir``."""
    def imgs(folder: str, pattern: str) -> list[Path]:
        d = results / folder
        return sorted(d.glob(pattern)) if d.exists() else []

    def link(p: Path) -> str:
        return f"![{p.stem}]({Path(os.path.relpath(p.resolve(), Path(page_dir).resolve())).as_posix()})"

    lines = []
    for pattern, heading, caption in HEADLINE_FIGURES:
        found = imgs("figures", pattern)
        if found:
            lines += [f"### {heading}", "", caption, ""] + [link(p) for p in found] + [""]
    lines += ["### Appendix: per-continent heat maps", "",
              "Rows are encoders (best global score first), columns continents with the median test n; "
              "the first column is the global score. One figure per task, head and split.", ""]
    for p in imgs("continents", "*.png"):
        task, head, split = (p.stem.split("__") + ["", ""])[:3]
        what = ("random split" if split.startswith("random") else "Africa zero-shot hold-out"
                if "fewshot0.0_" in split else "Africa few-shot (1 %) hold-out" if "fewshot" in split else split)
        lines += [f"**{task}**, {head} head, {what}", "", link(p), ""]
    lines += ["### Appendix: Africa ecoregions, few-shot hold-out", ""]
    lines += [link(p) for p in imgs("maps", "africa_ecoregions_*.png")] + [""]
    return lines


def retired_rows_lines(records: list[dict]) -> list[str]:
    """A warning when ``records`` still hold rows of a retired head identity (the prose says they
    were archived; the tables would show two protocols under one head name), else nothing."""
    from geobench.evaluation.archive import retired_head_keys

    n = len(retired_head_keys(records))
    if not n:
        return []
    return [f"**Warning: {n} record(s) of a retired head identity (an older version or older defaults) are still "
            "in `runs.jsonl`.** Move them with `geobench leaderboard --archive-superseded "
            "results/archive/superseded.jsonl` and regenerate this page.", ""]


def write_results_md(results: Path, out: Path) -> Path:
    """docs/results.md: caveats, computed findings, hold-out errors in physical units, coverage,
    spatial-block test sizes per seed, ours vs published (and why they differ), how our tasks
    differ from the paper's, split vs probe variance, protocol checks (alpha grid, MLP cap),
    figures, the leaderboard. Numbers come from the records and, for the task differences, the
    tasks' points."""
    from geobench.evaluation.records import read_records
    from geobench.reporting.comparison import comparison_markdown, comparison_table
    from geobench.reporting.coverage import coverage_lines
    from geobench.reporting.differences import differences_lines
    from geobench.reporting.findings import findings
    from geobench.reporting.leaderboard import markdown, summarize
    from geobench.reporting.geobias_report import geobias_lines
    from geobench.reporting.head_gap import head_gap_lines
    from geobench.reporting.learning_curve import learning_curve_lines
    from geobench.reporting.protocol_notes import alpha_edge_lines, holdout_error_lines, mlp_cap_lines
    from geobench.reporting.splits_report import sizes_by_seed_lines
    from geobench.reporting.variance import variance_section

    prose = narrative_sections()
    records = read_records(results / "runs.jsonl")
    table, _ = summarize(records)
    n_ok = sum(r.get("status") == "ok" for r in records)
    lines = ["# geobench results", "",
             "Generated by `geobench reproduce` from `results/runs.jsonl`; nothing here is typed by hand.",
             f"{len(records)} records ({n_ok} ok), {table.task.nunique()} tasks, {table.encoder.nunique()} encoders.",
             ""] + retired_rows_lines(records)
    lines += [prose.pop("How to read these results", "")]
    lines += ["## Findings computed from the runs", ""] + findings(records) + [""]
    lines += [prose.pop("Reading the hold-out numbers", "")]
    lines += holdout_error_lines(records)
    lines += geobias_lines(records)
    lines += head_gap_lines(records)
    lines += learning_curve_lines(records)
    lines += coverage_lines(records)
    lines += sizes_by_seed_lines(records)
    comp = comparison_table(records)
    if not comp.empty:
        lines += ["## Ours vs published", ""] + comparison_markdown(comp)
    lines += [prose.pop("Why our numbers differ from the published ones", "")]
    lines += differences_lines(records)
    lines += list(prose.values())  # any further prose sections, in file order
    lines += variance_section(results / "variance")
    sens = results / SENSITIVITY / "runs.jsonl"
    checks = alpha_edge_lines(records, read_records(sens) if sens.is_file() else []) + mlp_cap_lines(records)
    if checks:
        lines += ["## Protocol checks", ""] + checks
    lines += ["## Figures", ""] + figure_lines(results, out.parent)
    lines += ["", "## Leaderboard", "", markdown(table)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    return out
