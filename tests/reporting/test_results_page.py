"""The results page: its narrative must exist, and figure links follow the page's location."""
from __future__ import annotations

from pathlib import Path

import pytest

from geobench.errors import DataError
from geobench.reporting import results_page

FIX = Path(__file__).parents[1] / "fixtures"


def test_the_narrative_ships_with_its_caveat_sections():
    sections = results_page.narrative_sections()
    assert list(sections)[:3] == ["How to read these results", "Reading the hold-out numbers",
                                  "Why our numbers differ from the published ones"]
    assert all(body.startswith(f"## {title}\n") for title, body in sections.items())


def test_a_missing_narrative_fails_loudly_and_writes_no_page(tmp_path, monkeypatch):
    monkeypatch.setattr(results_page, "NARRATIVE", tmp_path / "narrative.md")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "runs.jsonl").write_bytes((FIX / "runs_small.jsonl").read_bytes())
    page = tmp_path / "docs" / "results.md"
    with pytest.raises(DataError, match="narrative.md is missing"):
        results_page.write_results_md(tmp_path / "results", page)
    assert not page.exists()


def test_figure_links_are_relative_to_the_page(tmp_path):
    res = tmp_path / "results"
    for rel in ("continents/air_temperature__linear__random_train0.6_val0.2.png", "maps/embedding_sh_L10.png",
                "maps/africa_ecoregions_linear.png", "figures/continent_bars__linear__random.png",
                "figures/cd__mlp__continent.png"):
        (res / rel).parent.mkdir(parents=True, exist_ok=True)
        (res / rel).write_bytes(b"")
    lines = results_page.figure_lines(res, tmp_path / "docs")
    assert "![air_temperature__linear__random_train0.6_val0.2](../results/continents/" \
           "air_temperature__linear__random_train0.6_val0.2.png)" in lines
    assert not [line for line in lines if "embedding_sh_L10" in line]  # flat maps: on request, not on the page
    assert "**air_temperature**, linear head, random split" in lines
    # the headline figures come first, under their headings; a heading without files is left out
    i = lines.index("### Per-continent scores")
    assert lines[i + 4] == "![continent_bars__linear__random](../results/figures/continent_bars__linear__random.png)"
    assert i < lines.index("### Mean ranks and critical differences") < lines.index(
        "### Appendix: per-continent heat maps")
    assert "### Embedding globes" not in lines and "### Extrapolation" not in lines
    deeper = results_page.figure_lines(res, tmp_path / "site" / "pages")
    assert "![africa_ecoregions_linear](../../results/maps/africa_ecoregions_linear.png)" in deeper


def test_africa_figure_without_stored_predictions_is_skipped_with_the_reason(tmp_path, capsys):
    """The committed results carry no predictions/ folder: the figure that needs them is skipped
    with a message naming the missing file and the fix, and the other figures still get written."""
    from geobench.errors import DataError
    from geobench.evaluation.grid import AFRICA_FEWSHOT
    from geobench.evaluation.records import append_records
    from geobench.evaluation.splits import parse_split
    from geobench.reporting.africa import plot_africa_ecoregions
    from geobench.reporting.figures import write_figures

    rec = {"key": "k", "task": "ecoregions", "split": str(parse_split(AFRICA_FEWSHOT)), "head": "linear", "seed": 0,
           "encoder": "wrap", "status": "ok", "metrics": {"accuracy": 0.4}, "primary_metric": "accuracy",
           "predictions": "predictions/ecoregions/wrap/linear__x__seed0.parquet"}
    with pytest.raises(DataError, match=r"1 file\(s\) are missing .*linear__x__seed0.parquet.*--force"):
        plot_africa_ecoregions(tmp_path, [rec])
    append_records(tmp_path / "runs.jsonl", [rec])
    written = write_figures(tmp_path, encoders=())
    assert not [p for p in written if p.name.startswith("africa_ecoregions")]
    assert "figure skipped: the Africa ecoregions figure (linear) needs the per-point predictions" in capsys.readouterr().out


def test_rows_of_a_retired_head_identity_are_flagged_on_the_page():
    """The prose says retired heads' rows were archived; while some remain, the page says so."""
    from geobench.evaluation.archive import retired_head_keys
    from geobench.evaluation.identity import head_identity
    from geobench.evaluation.records import read_records

    recs = read_records(FIX / "runs_small.jsonl", warn=False)
    n = len(retired_head_keys(recs))
    assert n > 0  # the fixture was written by version-1 heads
    (line, blank) = results_page.retired_rows_lines(recs)
    assert line.startswith(f"**Warning: {n} record(s) of a retired head identity") and "--archive-superseded" in line
    current = [{**r, "identity": {**r["identity"], "head": head_identity(r["head"], False)}} for r in recs]
    assert results_page.retired_rows_lines(current) == []  # the same rows at today's head identities


def test_write_figures_leaves_no_stale_figure_and_survives_a_corrupt_predictions_file(tmp_path, capsys):
    """A figure the run does not draw again must not stay on the page from an earlier run, and an
    unreadable predictions file skips its figure with the reason instead of losing the report."""
    from geobench.evaluation.grid import AFRICA_FEWSHOT
    from geobench.evaluation.records import append_records
    from geobench.evaluation.splits import parse_split
    from geobench.reporting.figures import write_figures

    stale = [tmp_path / "figures" / "cd__linear__random.png", tmp_path / "maps" / "embedding_mosaiks.png",
             tmp_path / "continents" / "old__linear__random.png", tmp_path / "maps" / "africa_ecoregions_mlp.png"]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"old")
    keep = tmp_path / "maps" / "notes.txt"
    keep.write_text("not a figure")
    pred = tmp_path / "predictions" / "ecoregions" / "wrap" / "linear__x__seed0.parquet"
    pred.parent.mkdir(parents=True)
    pred.write_bytes(b"not parquet")
    rec = {"key": "k", "task": "ecoregions", "split": str(parse_split(AFRICA_FEWSHOT)), "head": "linear", "seed": 0,
           "encoder": "wrap", "status": "ok", "metrics": {"accuracy": 0.4}, "primary_metric": "accuracy",
           "predictions": str(pred.relative_to(tmp_path))}
    append_records(tmp_path / "runs.jsonl", [rec])
    written = write_figures(tmp_path, encoders=())
    assert not any(p.exists() for p in stale) and keep.exists()
    assert all(p.exists() for p in written)
    out = capsys.readouterr().out
    assert "figure skipped:" in out and "africa_ecoregions" not in " ".join(p.name for p in written)
