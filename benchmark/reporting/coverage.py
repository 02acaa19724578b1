"""The results page's coverage table: the declared grid (a :mod:`profile <geobench.evaluation.profiles>`)
against the records. A declared (head, task, encoder, split kind) is complete when the records hold
its declared number of seeds, each a row of the current setting: the head's current identity
(version and options), the default CI method, and the grid's split. Rows outside the declared
grid (exploratory runs, other encoders) are counted, not shown.
"""
from __future__ import annotations

from collections import defaultdict

from geobench.evaluation.profiles import Profile, explicit_splits, is_current, split_label


def coverage(records: list[dict], profile: Profile, tasks: list[str]) -> dict[tuple[str, str, str, str], dict]:
    """``{(head, task, encoder, split label): {"declared": n, "ok": seeds, "na": seeds, "reason": str}}``
    for every declared combination (the label: the split kind of a grid split, else the explicit
    split, see :func:`~geobench.evaluation.profiles.declared_cells`); seeds counted from the
    newest record per key."""
    from geobench.evaluation.identity import head_identity
    from geobench.evaluation.profiles import declared_cells
    from geobench.evaluation.records import latest_by_key

    declared = declared_cells(profile, tasks)
    head_ids = {h: head_identity(h, False) for h in {d[0] for d in declared}}
    out = {(h, t, e, k): {"declared": n, "ok": set(), "na": set(), "reason": ""} for h, t, e, k, n in declared}
    explicit = explicit_splits(profile)
    latest, _ = latest_by_key(records)
    for r in latest:
        key = (r["head"], r["task"], r["encoder"], split_label(r["task"], r["split"], explicit))
        if key not in out or not is_current(r, head_ids, explicit) or not 0 <= r["seed"] < out[key]["declared"]:
            continue  # another setting, or a seed beyond the declared ones
        slot = out[key]
        if r.get("status") == "ok":
            slot["ok"].add(r["seed"])
        elif r.get("status") == "not_applicable":
            slot["na"].add(r["seed"])
            slot["reason"] = r.get("reason") or ""
    return out


def coverage_lines(records: list[dict], profile: Profile | str = "paper", tasks: list[str] | None = None) -> list[str]:
    """Markdown: the declared profile, then per head and task, for each split kind, how many of the
    declared encoders have all their declared seeds (and which do not), or "not applicable" with
    the reason. ``tasks``: the grid's (default :func:`~geobench.evaluation.grid.reproduce_tasks`).
    No records: no section."""
    from geobench.evaluation.grid import SPLIT_KINDS, reproduce_tasks
    from geobench.evaluation.profiles import describe, get_profile

    if not records:
        return []
    profile = get_profile(profile) if isinstance(profile, str) else profile
    cov = coverage(records, profile, reproduce_tasks() if tasks is None else tasks)
    if not cov:
        return []
    grid: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for (h, t, e, k), slot in cov.items():
        grid[(h, t)][k].append((e, slot))
    complete = sum(len(s["ok"] | s["na"]) >= s["declared"] for s in cov.values())
    n_cells = sum(s["declared"] for s in cov.values())
    n_have = sum(min(len(s["ok"] | s["na"]), s["declared"]) for s in cov.values())
    lines = ["## Coverage", "",
             f"The declared grid, `geobench reproduce --profile {profile.name}`: {describe(profile)}; on every "
             "task of the grid, each with its split kinds (the US-only tasks have no Africa hold-out). A cell "
             "counts when the records hold its declared seeds at the current setting (head version and "
             "options, the default block CI).", "",
             f"**{complete} of {len(cov)}** declared (head, task, encoder, split kind) combinations are complete; "
             f"{n_have:,} of {n_cells:,} declared cells (seeds) are in the records.", "",
             "| head | task | " + " | ".join(SPLIT_KINDS) + " |", "|---|---|" + "---|" * len(SPLIT_KINDS)]
    order = sorted(grid, key=lambda ht: (ht[0] != "linear", ht))
    for (h, t) in order:
        if not any(k in grid[(h, t)] for k in SPLIT_KINDS):
            continue
        cells = []
        for k in SPLIT_KINDS:
            slots = grid[(h, t)].get(k)
            cells.append("–" if not slots else _cell_text(slots))
        lines.append(f"| {h} | {t} | " + " | ".join(cells) + " |")
    beside = [(h, t, k) for (h, t) in order for k in grid[(h, t)] if k not in SPLIT_KINDS]
    if beside:  # explicit splits (block sizes, learning curve): outside the headline tables
        lines += ["", "Beside the headline grid (block sizes, learning curve):", "",
                  "| head | task | split | encoders |", "|---|---|---|---|"]
        lines += [f"| {h} | {t} | `{k}` | {_cell_text(grid[(h, t)][k])} |" for h, t, k in beside]
    reasons = sorted({s["reason"] for s in cov.values() if s["na"] and s["reason"]})
    lines += [""] + [f"Not applicable: {r}." for r in reasons] + [""] if reasons else [""]
    return lines


def _cell_text(slots: list[tuple[str, dict]]) -> str:
    """``8/10 encoders x 3 seeds; partial: `sh` (2); missing: `wrap`, `rff```; ``not applicable``
    when every declared seed is; long lists of missing encoders are counted, not named."""
    n = slots[0][1]["declared"]
    if all(len(s["na"]) >= n and not s["ok"] for _, s in slots):
        return f"not applicable ({len(slots)} encoders)"
    have = {e: len(s["ok"] | s["na"]) for e, s in slots}
    full = [e for e, k in have.items() if k >= n]
    text = f"{len(full)}/{len(slots)} encoders x {n} seeds"
    partial = [f"`{e}` ({k})" for e, k in have.items() if 0 < k < n]
    missing = [f"`{e}`" for e, k in have.items() if k == 0]
    if partial:
        text += f"; partial: {', '.join(partial)}"
    if missing:
        text += f"; missing: {', '.join(missing)}" if len(missing) <= 4 else f"; {len(missing)} missing"
    return text
