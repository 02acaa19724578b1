"""The result file and the table: reading an earlier ``perf.json`` for ``--merge``, carrying
its unmeasured sections over, JSON-safe values, and the plain-text table."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from geobench.perf.config import SECTIONS


def read_previous(out: str | Path) -> dict | None:
    """The earlier result at ``out`` for ``--merge`` (None if there is none); read before any
    measuring so that a corrupt file fails fast instead of losing a finished run."""
    p = Path(out)
    if not p.exists():
        return None
    try:
        old = json.loads(p.read_text())
        if not isinstance(old, dict) or not isinstance(old.get("rows"), list):
            raise ValueError("no 'rows' list")
    except ValueError as e:
        raise ValueError(f"--merge: cannot read the earlier result {p} ({e}); remove it or drop --merge") from None
    return old


def merge_previous(result: dict, old: dict) -> None:
    """Carry over the sections of an earlier run that this run did not measure (``--merge``);
    each carried row keeps a ``from_run`` timestamp so mixed runs stay visible."""
    keep = [s for s in old.get("sections", []) if s not in result["sections"]]
    for r in old.get("rows", []):
        if r["section"] in keep:
            result["rows"].append({**r, "from_run": r.get("from_run", old.get("generated_utc"))})
    for s in keep:
        result["sections_raw"][s] = old.get("sections_raw", {}).get(s, {})
    order = {s: i for i, s in enumerate(SECTIONS)}
    result["rows"].sort(key=lambda r: order.get(r["section"], len(order)))
    result["merged"] = {"sections": keep, "from_run": old.get("generated_utc"),
                        "machine_same": old.get("machine") == result["machine"],
                        "context": {k: old.get(k) for k in ("calibration", "config", "versions", "threads",
                                                            "load_average", "argv")}}
    if not result["merged"]["machine_same"]:
        print("[perf] WARNING: --merge combines runs from different machines", file=sys.stderr)
    result["sections"] = sorted(set(result["sections"]) | set(keep), key=lambda s: order.get(s, len(order)))


def jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "pts/s":
        return f"{v:,.0f} pts/s"
    if unit == "s":
        return f"{v * 1e3:.3g} ms" if v < 0.1 else (f"{v:.3f} s" if v < 100 else f"{v:,.1f} s")
    if unit == "bytes":
        return f"{v / 1e9:.2f} GB"
    return f"{v:g} {unit}"


def format_table(rows: list[dict]) -> str:
    """A plain-text table: measurement | value | reference | ratio | target | status."""
    lines = []
    for r in rows:
        ref = f"{r['ref_name']}: {fmt_value(r['ref_value'], r['ref_unit'])}" if r["ref_name"] else ""
        ratio = "" if r["ratio"] is None else (f"{r['ratio']:,.0f}x" if r["ratio"] >= 1000 else f"{r['ratio']:.3g}x")
        reps = r.get("timing", {}).get("repeats")
        val = fmt_value(r["value"], r["unit"]) + (f" (n={reps})" if reps else "")
        lines.append(f"{r['section']:<8} {r['name'][:74]:<74} {val:>24}  {ratio:>8}  {ref[:60]:<60} "
                     f"{r['target']:<22} {r['status']}")
        if r["note"]:
            lines.append(f"{'':<8}   note: {r['note'][:200]}")
    return "\n".join(lines)
