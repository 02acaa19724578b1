"""Moving superseded settings out of ``runs.jsonl``: when a grid is re-run under a new setting
(a new head version, new encoder weights, another CI method), the rows of the older settings
stay valid records of what they measured but are no longer what any table shows. So are rows
whose encoder's weights have since changed under the same name (re-shipped checkpoints), even
before their cells are re-run: shown, they would present the old weights' numbers as the
current encoder's. Both are moved, line for line and byte for byte, to an archive file beside
it, so that ``runs.jsonl`` holds what the current code and weights measure and the old numbers
remain recomputable.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from geobench.evaluation.records import _as_record, latest_by_key, runs_lock


def superseded_keys(records: list[dict], heads: set[str] | None = None) -> set[str]:
    """Keys of the records whose display name (head, split, task, encoder) has a newer setting
    (newest = the setting with the latest timestamp, as the leaderboard shows), for ``heads``
    (None: every head)."""
    from geobench.reporting.leaderboard import newest_settings

    latest, _ = latest_by_key(records)
    chosen, _ = newest_settings(latest)
    shown = {r["key"] for rs in chosen.values() for r in rs}
    return {r["key"] for r in records if r["key"] not in shown and (heads is None or r["head"] in heads)}


def stale_weight_keys(records: list[dict], heads: set[str] | None = None) -> tuple[set[str], list[str]]:
    """Keys of the records whose encoder identity names weights (``weights_sha256``) other than
    those the encoder of the same spec loads now, for ``heads`` (None: every head); and the specs
    whose current weights could not be read (their rows are kept: unknown is not stale)."""
    from geobench.encoding import get_encoder
    from geobench.errors import GeobenchError

    current: dict[str, str | None] = {}
    unknown = []
    for spec in sorted({r["identity"]["encoder"]["spec"] for r in records
                        if (r.get("identity") or {}).get("encoder", {}).get("weights_sha256")}):
        try:
            current[spec] = get_encoder(spec).meta.get("weights_sha256")
        except (GeobenchError, OSError) as e:
            unknown.append(f"{spec} ({type(e).__name__})")
    keys = {r["key"] for r in records if (heads is None or r["head"] in heads)
            and r["identity"]["encoder"].get("weights_sha256")
            and r["identity"]["encoder"]["spec"] in current
            and r["identity"]["encoder"]["weights_sha256"] != current[r["identity"]["encoder"]["spec"]]}
    return keys, unknown


def archive_superseded(runs: Path, archive: Path, heads: set[str] | None = None, *,
                       stale_weights: bool = True) -> tuple[int, int]:
    """Move the lines of superseded settings (see :func:`superseded_keys`) and, with
    ``stale_weights``, of rows measured with weights an encoder no longer loads (see
    :func:`stale_weight_keys`) from ``runs`` to the end of ``archive``, under the runs lock; ``runs`` is rewritten atomically (temp file + rename)
    after the archive is fsynced, so a crash loses no line. Lines that are not records stay.
    Returns (lines moved, lines kept)."""
    runs, archive = Path(runs), Path(archive)
    with runs_lock(runs):
        lines = runs.read_bytes().splitlines(keepends=True)
        parsed = []
        for line in lines:
            try:
                parsed.append(_as_record(json.loads(line)) if line.endswith(b"\n") else None)
            except (json.JSONDecodeError, UnicodeDecodeError):
                parsed.append(None)
        recs = [r for r in parsed if r is not None]
        old = superseded_keys(recs, heads)
        if stale_weights:
            old |= stale_weight_keys(recs, heads)[0]
        move = [ln for ln, r in zip(lines, parsed) if r is not None and r["key"] in old]
        keep = [ln for ln, r in zip(lines, parsed) if not (r is not None and r["key"] in old)]
        if not move:
            return 0, len(keep)
        archive.parent.mkdir(parents=True, exist_ok=True)
        with open(archive, "ab") as f:
            f.write(b"".join(move))
            f.flush()
            os.fsync(f.fileno())
        tmp = runs.with_name(runs.name + ".archiving")
        with open(tmp, "wb") as f:
            f.write(b"".join(keep))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, runs)
    return len(move), len(keep)


__all__ = ["archive_superseded", "stale_weight_keys", "superseded_keys"]
