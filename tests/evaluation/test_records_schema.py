"""docs/records.md lists exactly the fields of RunRecord, and old rows are upgraded when read."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from geobench.evaluation.records import SCHEMA_VERSION, RunRecord, read_records, upgrade

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"


def _documented_fields() -> set[str]:
    text = (ROOT / "docs" / "records.md").read_text()
    table = text.split("## Fields", 1)[1].split("### ", 1)[0]
    names = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    return names


def test_the_schema_page_lists_every_field():
    fields = {f.name for f in dataclasses.fields(RunRecord)}
    assert _documented_fields() == fields | {"legacy_key", "upgraded_from"}
    assert f"schema version {SCHEMA_VERSION}" in (ROOT / "docs" / "records.md").read_text()


def test_version_1_rows_are_upgraded_and_never_match_a_current_cell():
    old = read_records(FIX / "grid_before_layout.jsonl")
    assert len(old) == 39
    r = old[0]
    assert r["schema_version"] == SCHEMA_VERSION and r["upgraded_from"] == 1
    assert r["legacy_key"] == "air_temperature|direct|linear|random:train=0.6:val=0.2|0|"
    assert r["key"].startswith("air_temperature|direct|linear|random:train=0.6:val=0.2|0#")
    assert r["identity"]["head"] == {"name": "linear", "params": None, "tune": None, "version": None}
    assert r["identity"]["task"]["points_sha256"] == r["provenance"]["points_sha256"]
    assert upgrade(r) is r  # current rows pass through
    assert len({x["key"] for x in old}) == len({x["setting"] for x in old}) == 39  # one seed per setting


def test_rows_before_schema_3_carry_the_iid_ci_method_and_keep_their_key():
    """Layouts 1 and 2 made ci95 with the i.i.d. bootstrap; their key and identity stay as written
    (no ``ci`` part), so they never stand in for a block-bootstrap cell."""
    old = read_records(FIX / "grid_before_layout.jsonl")
    with_ci = [r for r in old if any(v is not None for v in (r.get("ci95") or {}).values())]
    assert with_ci and all(r["ci_method"] == "iid" for r in with_ci)
    assert all("ci_method" not in r for r in old if not r.get("ci95"))
    assert all("ci" not in r["identity"] for r in old)
    v2 = {"key": "t|e|linear|random|0#abc", "task": "t", "encoder": "e", "head": "linear", "split": "random",
          "seed": 0, "schema_version": 2, "identity": {"seed": 0}, "setting": "s", "ci95": {"r2": [0.1, 0.2]}}
    up = upgrade(v2)
    assert (up["schema_version"], up["upgraded_from"], up["ci_method"], up["key"], up["identity"]) == \
        (SCHEMA_VERSION, 2, "iid", v2["key"], {"seed": 0})
    assert "ci_method" not in upgrade({**v2, "ci95": {"r2": None}})
