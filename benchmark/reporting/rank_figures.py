"""The critical-difference diagram (Demšar 2006, JMLR 7:1-30, fig. 1): encoders' mean ranks over
tasks (1 = best) on one axis, with the Nemenyi critical difference and thick bars joining the
encoders it cannot tell apart. The ranking is :func:`geobench.reporting.claims.ranking`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from geobench.reporting.stats import Ranking


@dataclass(frozen=True)
class CDDiagram:
    """One diagram's data: the ``ranking`` of ``head`` under split ``kind``, the encoders best
    first (``order``; ties by name), the maximal groups the critical difference cannot tell
    apart (``groups``, each best first), and the halves labelled on the left (best) and right."""

    head: str
    kind: str
    ranking: Ranking
    order: tuple[str, ...]
    groups: list[tuple[str, ...]]

    @property
    def left(self) -> tuple[str, ...]:
        """The better half (labelled on the left, next to rank 1)."""
        return self.order[: math.ceil(len(self.order) / 2)]

    @property
    def right(self) -> tuple[str, ...]:
        """The worse half (labelled on the right)."""
        return self.order[math.ceil(len(self.order) / 2):]


def cd_groups(mean_rank: dict[str, float], cd: float) -> list[tuple[str, ...]]:
    """The maximal groups of 2+ encoders whose mean ranks differ pairwise by less than ``cd``
    (Demšar: a difference of at least ``cd`` is significant), best first. On a line such a group
    is a run of consecutive encoders; each is listed once and none lies inside another. Encoders
    are ordered by (mean rank, name); a single encoder gives no group."""
    from geobench.errors import InputError

    if not (isinstance(cd, (int, float)) and math.isfinite(cd) and cd > 0):
        raise InputError(f"critical difference must be a positive finite number, got {cd!r}; "
                         "take it from the ranking (Ranking.cd), which needs 2+ encoders and 1+ task")
    order = sorted(mean_rank, key=lambda e: (mean_rank[e], e))
    groups: list[tuple[str, ...]] = []
    last_j = 0
    for i, e in enumerate(order):
        j = i
        while j + 1 < len(order) and mean_rank[order[j + 1]] - mean_rank[e] < cd:
            j += 1
        if j > i and j > last_j:  # j never decreases with i: a run ending at last_j lies inside the previous one
            groups.append(tuple(order[i: j + 1]))
            last_j = j
    return groups


def cd_diagram(records: list[dict], head: str = "linear", kind: str = "spatial_block") -> CDDiagram | None:
    """The diagram's data for ``head`` and split ``kind`` from the grid cells of ``records`` (mean
    over seeds per task, scores below the ``constant`` encoder's raised to it; see
    :func:`geobench.reporting.claims.ranking`). None when fewer than 2 encoders share a task."""
    from geobench.reporting.claims import ranking, seed_values

    sv = seed_values(records)
    r = ranking(sv, head, kind)
    if not r.mean_rank or r.cd is None:
        return None
    order = tuple(sorted(r.mean_rank, key=lambda e: (r.mean_rank[e], e)))
    return CDDiagram(head, kind, r, order, cd_groups(r.mean_rank, r.cd))


def title(d: CDDiagram) -> str:
    """The diagram's title: head, split kind, encoders and tasks, Friedman's test."""
    r = d.ranking
    test = "Friedman's test undefined" if r.p is None else f"Friedman χ² = {r.chi2:.1f}, p = {r.p:.2g}"
    return (f"Mean rank over tasks ({d.head} head, {d.kind} split): {r.k} encoders over {r.n} tasks, 1 = best\n"
            f"{test}; Nemenyi CD = {r.cd:.2f} at α = {r.alpha:g}; bars join encoders not told apart")


def footnote(d: CDDiagram) -> str:
    """How the ranks were made, and the encoders left out for missing tasks."""
    note = ("Ranks of the mean over seeds per task; a score below the constant encoder's counts as a tie with it.")
    if d.ranking.dropped:
        note += f" Left out for missing tasks: {', '.join(d.ranking.dropped)}."
    return note


def _levels(groups: list[tuple[str, ...]], rank: dict[str, float], gap: float) -> list[int]:
    """A row per group bar: the first row where it does not overlap a bar already placed."""
    rows: list[list[tuple[float, float]]] = []
    out = []
    for g in groups:
        lo, hi = rank[g[0]], rank[g[-1]]
        for i, row in enumerate(rows):
            if all(hi + gap < a or lo - gap > b for a, b in row):
                row.append((lo, hi))
                out.append(i)
                break
        else:
            rows.append([(lo, hi)])
            out.append(len(rows) - 1)
    return out


def draw_cd_diagram(d: CDDiagram, out: str | Path, dpi: int = 130) -> Path:
    """Draw ``d`` to the PNG ``out``: the rank axis (1 on the left), the CD bar above it, the group
    bars under it, and each encoder's name and mean rank, the better half to the left."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geobench.reporting.png import save_png

    rank = d.ranking.mean_rank
    k, cd = len(d.order), float(d.ranking.cd)
    lo = min(1, math.floor(min(rank.values())))
    hi = max(k, math.ceil(max(rank.values())), math.ceil(lo + cd))
    span = hi - lo
    step = 0.28  # vertical units between label rows
    levels = _levels(d.groups, rank, gap=0.03 * span)
    n_lev = max(levels) + 1 if levels else 0
    bar0 = 0.35  # first group bar below the axis
    first = bar0 + 0.2 * n_lev + 0.15  # first label row below the axis
    n_rows = max(len(d.left), len(d.right))
    bottom = first + step * (n_rows - 1) + 0.3
    top = 0.9  # room above the axis for the tick labels and the CD bar
    head_in, foot_in = 0.6, 0.3  # inches for the title and the footnote
    height_in = head_in + foot_in + 0.4 * (top + bottom)
    axis_in = 5.6  # inches of the rank axis; the labels get what they need on either side
    side_in = 0.35 + 0.07 * max(len(e) + 6 for e in d.order)
    fig = plt.figure(figsize=(axis_in + 2 * side_in, height_in))
    ax = fig.add_axes((0.0, foot_in / height_in, 1.0, 1 - (head_in + foot_in) / height_in))
    pad = side_in / axis_in * span
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(bottom, -top)
    ax.set_axis_off()

    ax.plot([lo, hi], [0, 0], color="black", lw=1)
    for t in range(lo, hi + 1):
        ax.plot([t, t], [0, -0.1], color="black", lw=1)
        ax.text(t, -0.16, str(t), ha="center", va="bottom", fontsize=8)
    for t in range(lo, hi):
        ax.plot([t + 0.5, t + 0.5], [0, -0.05], color="black", lw=0.6)
    ax.plot([lo, lo + cd], [-0.62, -0.62], color="black", lw=1.2)
    for x in (lo, lo + cd):
        ax.plot([x, x], [-0.68, -0.56], color="black", lw=1.2)
    ax.text(lo + cd / 2, -0.7, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)

    for g, lev in zip(d.groups, levels):
        y = bar0 + 0.2 * lev
        ax.plot([rank[g[0]] - 0.04 * span / k * 2, rank[g[-1]] + 0.04 * span / k * 2], [y, y],
                color="black", lw=3.5, solid_capstyle="round")
    colors = {"left": "#1f4e79", "right": "#7f2a1d"}
    for i, e in enumerate(d.left):
        y = first + step * i
        ax.plot([rank[e], rank[e], lo - 0.05 * span], [0, y, y], color=colors["left"], lw=0.8)
        ax.text(lo - 0.06 * span, y, f"{e}  {rank[e]:.2f}", ha="right", va="center", fontsize=8.5)
    for i, e in enumerate(reversed(d.right)):
        y = first + step * i
        ax.plot([rank[e], rank[e], hi + 0.05 * span], [0, y, y], color=colors["right"], lw=0.8)
        ax.text(hi + 0.06 * span, y, f"{rank[e]:.2f}  {e}", ha="left", va="center", fontsize=8.5)
    fig.suptitle(title(d), fontsize=9.5, y=1 - 0.08 / height_in, va="top")
    fig.text(0.01, 0.08 / height_in, footnote(d), fontsize=7.5, color="#444444", va="bottom")
    return save_png(fig, out, dpi=dpi)


def plot_cd_diagram(records: list[dict], out_dir: str | Path, head: str = "linear",
                    kind: str = "spatial_block") -> Path | None:
    """Write ``out_dir/cd__<head>__<kind>.png`` (None, nothing drawn, without a ranking)."""
    from geobench.reporting.png import figure_stem

    d = cd_diagram(records, head, kind)
    if d is None:
        return None
    return draw_cd_diagram(d, Path(out_dir) / f"cd__{figure_stem(head)}__{figure_stem(kind)}.png")
