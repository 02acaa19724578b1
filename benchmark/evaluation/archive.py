"""Moving superseded settings out of ``runs.jsonl``: when a grid is re-run under a new setting
(a new head version, new encoder weights, another CI method), the rows of the older settings
stay valid records of what they measured but are no longer what any table shows. So are rows
whose encoder's weights have since changed under the same name (re-shipped checkpoints), even
before their cells are re-run: shown, they would present the old weights' numbers as the
current encoder's. Both are moved, line for line and byte for byte, to an archive file beside
it, so that ``runs.jsonl`` holds what the current code and weights measure and the old numbers
remain recomputable.

Only *complete* replacements count as superseding: the newer setting must be on the same task
points (same task identity) and cover every seed the older one has. A partial or interrupted
re-run, or a smaller exploratory run under the same name, archives nothing. Rows of a retired
head version (the head's algorithm has changed since; its class ``version`` is newer) are moved
too, replaced or not, and so are rows whose head defaults changed within a version: shown,
they would put two protocols under one head name. So are rows whose task, with the same name,
version and options, now builds to other points (a change in how points are drawn, such as
points schema 2's machine-independent arithmetic): their cells are other cells now.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from geobench.errors import InputError
from geobench.evaluation.records import latest_by_key, parse_line, runs_lock


def _name(r: dict) -> tuple:
    return r["head"], r["split"], r["task"], r["encoder"]


def _task_points(identity: dict) -> tuple:
    """What decides a row's task points: name, version and the points' sha256 (rows written
    before the options were spelled out in full have the same points under ``options: {}``);
    the whole task identity where no checksum was recorded."""
    t = identity.get("task") or {}
    if t.get("points_sha256"):
        return t.get("name"), t.get("version"), t["points_sha256"]
    return (repr(sorted(t.items())),)


def superseded_keys(records: list[dict], heads: set[str] | None = None) -> set[str]:
    """Keys of the records of an older setting whose display name (head, split, task, encoder)
    has a newer setting (the one with the latest timestamp, as the leaderboard shows) on the same
    task points that covers all of the older setting's seeds; for ``heads`` (None: every head)."""
    from geobench.reporting.leaderboard import drop_unscored, newest_settings

    latest, _ = latest_by_key(drop_unscored(records))
    chosen, _ = newest_settings(latest)
    new_task = {name: _task_points(rs[0]["identity"]) for name, rs in chosen.items()}
    new_seeds = {name: {r["seed"] for r in rs} for name, rs in chosen.items()}
    shown = {r["key"] for rs in chosen.values() for r in rs}
    old_seeds: dict[tuple, set] = {}
    for r in latest:
        if r["key"] not in shown:
            old_seeds.setdefault((_name(r), r["setting"]), set()).add(r["seed"])
    return {r["key"] for r in latest
            if r["key"] not in shown and (heads is None or r["head"] in heads)
            and _task_points(r["identity"]) == new_task[_name(r)]
            and old_seeds[_name(r), r["setting"]] <= new_seeds[_name(r)]}


def _weights_spec(r: dict) -> tuple[str, str] | None:
    """(encoder spec, weights sha256) of a record whose encoder names weights, else None."""
    enc = (r.get("identity") or {}).get("encoder") or {}
    return (enc["spec"], enc["weights_sha256"]) if enc.get("spec") and enc.get("weights_sha256") else None


def current_weights(records: list[dict]) -> tuple[dict[str, str | None], list[str]]:
    """The weights sha256 that each weighted encoder spec of ``records`` loads now, and the specs
    whose weights could not be read (their rows are kept: unknown is not stale). Builds the
    encoders (may read checkpoints or fetch declared files): call it outside the runs lock."""
    from geobench.encoding import get_encoder
    from geobench.errors import GeobenchError

    current, unknown = {}, []
    for spec in sorted({ws[0] for r in records if (ws := _weights_spec(r))}):
        try:
            current[spec] = get_encoder(spec).meta.get("weights_sha256")
        except (GeobenchError, OSError) as e:
            unknown.append(f"{spec} ({type(e).__name__}: {e})")
    return current, unknown


def stale_weight_keys(records: list[dict], current: dict[str, str | None],
                      heads: set[str] | None = None) -> set[str]:
    """Keys of the records measured with weights other than ``current[spec]`` (see
    :func:`current_weights`) under the same encoder spec, for ``heads`` (None: every head)."""
    return {r["key"] for r in records if (heads is None or r["head"] in heads) and (ws := _weights_spec(r))
            and ws[0] in current and ws[1] != current[ws[0]]}


def _task_build(r: dict) -> tuple[str, int | None, str] | None:
    """(task name, version, options as JSON) of a record's task identity, if it has a points sha256."""
    t = (r.get("identity") or {}).get("task") or {}
    if not (t.get("name") and t.get("points_sha256")):
        return None
    return t["name"], t.get("version"), json.dumps(t.get("options") or {}, sort_keys=True, default=str)


def current_points(records: list[dict]) -> tuple[dict[tuple, tuple[int, str]], list[str]]:
    """What each recorded task build (name, version, options) gives now: ``{build: (task version,
    points sha256)}``, and the builds that are unknown here, whose rows are kept (unknown is not
    stale): a build that fails (data not here, a plugin not loaded), a task on external data (the
    folder it reads may be another copy), and a build that warned or went without one of its
    task's optional files (``TaskSpec.optional_files``, e.g. the land mask: it used its fallback).
    Each unknown build is warned about.
    Builds the tasks (cached): call it outside the runs lock."""
    import warnings

    from geobench.tasks.base import TASKS, UNAVAILABLE, load_task

    current, unknown = {}, []
    for build in sorted({b for r in records if (b := _task_build(r))}, key=repr):
        why = None
        try:
            if TASKS.get(build[0]).spec.needs_external:
                why = "its points come from an external data folder"
            else:
                with warnings.catch_warnings(record=True) as said:
                    warnings.simplefilter("always")
                    p = load_task(build[0], **json.loads(build[2]))
                if said:
                    why = f"the build warned: {said[0].message}"
                elif missing := [f for f, sha in p.inputs.items() if sha == UNAVAILABLE]:
                    why = f"built without {', '.join(missing)} (not fetched here: its fallback)"
                else:
                    current[build] = (p.spec.version, p.sha256)
        except Exception as e:  # noqa: BLE001 - any failure to build: unknown, never stale
            why = f"{type(e).__name__}: {e}"
        if why:
            unknown.append(f"{build[0]} {build[2]}: {why}")
            warnings.warn(f"archive: task {build[0]} ({build[2]}) not checked for stale points, its rows are "
                          f"kept: {why}", stacklevel=2)
    return current, unknown


def stale_points_keys(records: list[dict], current: dict[tuple, tuple[int, str]],
                      heads: set[str] | None = None) -> set[str]:
    """Keys of the records whose task build now gives another task version or other points than
    recorded (see :func:`current_points`), for ``heads`` (None: every head)."""
    out = set()
    for r in records:
        b = _task_build(r)
        if b in current and (heads is None or r["head"] in heads) \
                and current[b] != (b[1], r["identity"]["task"]["points_sha256"]):
            out.add(r["key"])
    return out


def retired_head_keys(records: list[dict], heads: set[str] | None = None) -> set[str]:
    """Keys of the records whose recorded head identity is not the one their head spec gives now
    (:func:`~geobench.evaluation.identity.head_identity`: a newer class ``version``, or changed
    defaults within a version, such as LightGBM's stopping rounds), for ``heads`` (None: every
    head). Rows written before versions were recorded (version None) are version 1. A head not
    registered here (a plugin) is unknown, not retired."""
    from geobench.evaluation.identity import current_head_identity

    cache: dict[tuple[str, bool], dict | None] = {}
    out = set()
    for r in records:
        if heads is not None and r["head"] not in heads and r["head"].split(":")[0] not in heads:
            continue
        recorded = dict((r.get("identity") or {}).get("head") or {})
        recorded["version"] = recorded.get("version") or 1
        now = current_head_identity(r["head"], bool(recorded.get("tune")), cache)
        if now is not None and recorded != now:
            out.add(r["key"])
    return out


def archive_superseded(runs: Path, archive: Path, heads: set[str] | None = None, *, stale_weights: bool = True,
                       retired_heads: bool = True, stale_points: bool = True,
                       dry_run: bool = False) -> tuple[list[dict], int]:
    """Move the lines of superseded settings (:func:`superseded_keys`), with ``stale_weights`` of
    rows measured with weights an encoder no longer loads (:func:`stale_weight_keys`), with
    ``retired_heads`` of rows of a retired head version (:func:`retired_head_keys`), and with
    ``stale_points`` of rows whose task now builds to other points (:func:`stale_points_keys`)
    from ``runs`` to the end of ``archive``. The encoders' current weights and the tasks'
    current points are read before the runs lock is taken; under it the file is re-read, the archive appended and fsynced, and ``runs``
    rewritten atomically (temp file + rename), so a crash loses no line. Lines that are not
    records stay. ``dry_run`` only reports. Returns (the moved records, the number of lines kept)."""
    runs, archive = Path(runs), Path(archive)
    if archive.resolve() == runs.resolve():
        raise InputError(f"the archive file must not be the runs file itself ({runs}); name another file, "
                         "e.g. results/archive/superseded.jsonl")
    before = [r for r in map(parse_line, runs.read_bytes().splitlines(keepends=True)) if r]
    before = [r for r in before if heads is None or r["head"] in heads]
    current = current_weights(before)[0] if stale_weights else {}
    points = current_points(before)[0] if stale_points else {}
    with runs_lock(runs):
        lines = runs.read_bytes().splitlines(keepends=True)
        parsed = [parse_line(ln) for ln in lines]
        recs = [r for r in parsed if r is not None]
        old = superseded_keys(recs, heads) | (stale_weight_keys(recs, current, heads) if stale_weights else set())
        if retired_heads:
            old |= retired_head_keys(recs, heads)
        old |= stale_points_keys(recs, points, heads)
        gone = [r is not None and r["key"] in old for r in parsed]
        moved = [r for r, g in zip(parsed, gone) if g]
        keep = [ln for ln, g in zip(lines, gone) if not g]
        if dry_run or not moved:
            return moved, len(keep)
        archive.parent.mkdir(parents=True, exist_ok=True)
        with open(archive, "ab") as f:
            f.write(b"".join(ln for ln, g in zip(lines, gone) if g))
            f.flush()
            os.fsync(f.fileno())
        tmp = runs.with_name(runs.name + ".archiving")
        with open(tmp, "wb") as f:
            f.write(b"".join(keep))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, runs)
    return moved, len(keep)


def summary_lines(moved: list[dict]) -> list[str]:
    """One line per (head, task, encoder): how many rows move and why (setting or weights)."""
    counts: dict[tuple, int] = {}
    for r in moved:
        k = (r["head"], r["task"], r["encoder"])
        counts[k] = counts.get(k, 0) + 1
    return [f"  {h} / {t} / {e}: {n} row(s)" for (h, t, e), n in sorted(counts.items())]


__all__ = ["archive_superseded", "current_points", "current_weights", "retired_head_keys", "stale_points_keys",
           "stale_weight_keys", "summary_lines", "superseded_keys"]
