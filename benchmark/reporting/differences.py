"""The results page's "How our tasks differ from the paper's" table.

It prints every registered task's ``TaskSpec.differences`` (:mod:`geobench.tasks.differences`):
what the paper's data has, what ours has and the option that changes it. A difference with a
``measure`` gets two computed columns: its value on the task's points (default options, built
or read from the points cache), and, for a continent share, what the runs show there: the share
of that continent among the test points and the primary metric on them, per encoder, from
``runs.jsonl`` (random split, linear head, default task options, mean over seeds). Nothing in
the table's numbers is typed by hand; the only typed quantities are the paper's, in ``paper``.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any, Callable

import pandas as pd

COLUMNS = ["task", "fidelity", "aspect", "paper", "ours", "option", "measure", "value", "n_points", "note"]


def difference_rows(tasks: list[str] | None = None, load: Callable[[str], Any] | None = None) -> pd.DataFrame:
    """One row per (task, difference), with ``value`` the measure on the task's points (None
    when it has no measure, or, with the reason in ``note``, when the points cannot be loaded)
    and ``n_points`` the number of points it was measured on.
    A task on the paper's own data has one row with an empty ``aspect``. ``load(name)``
    returns the points (default :func:`~geobench.tasks.base.load_task`)."""
    from geobench.errors import GeobenchError
    from geobench.tasks.base import TASKS
    from geobench.tasks.differences import measured

    if load is None:
        from geobench.tasks.base import load_task as load
    rows = []
    for name in tasks if tasks is not None else list(TASKS.names()):
        spec = TASKS.get(name).spec
        if not spec.differences:
            rows.append({"task": name, "fidelity": spec.fidelity, "aspect": "", "paper": "", "ours": "",
                         "option": "", "measure": "", "value": None, "n_points": None, "note": ""})
            continue
        values: list = [None] * len(spec.differences)
        note, n_points = "", None
        if any(d.measure for d in spec.differences):
            try:
                df = load(name).df
                values, n_points = measured(spec.differences, df), len(df)
            except (GeobenchError, OSError) as e:  # e.g. external data not configured
                note = f"not computed: {str(e).splitlines()[0]}"
        for d, v in zip(spec.differences, values):
            rows.append({"task": name, "fidelity": spec.fidelity, **d.to_dict(), "value": v,
                         "n_points": n_points if d.measure else None, "note": note if d.measure else ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def continent_in_runs(records: list[dict], task: str, continent: str, head: str = "linear",
                      split_kind: str = "random") -> dict[str, Any] | None:
    """What the runs show on ``continent`` for ``task`` (default options, ok rows of the newest
    setting as the leaderboard shows them, the given head and split kind): ``test_share``, the median over rows of its share of
    the test points; ``metric``, the primary metric's name; ``by_encoder``, encoder -> the mean
    over seeds of the primary metric on that continent's test points. None without such rows."""
    from geobench.evaluation.records import OK
    from geobench.reporting.leaderboard import newest_records

    latest = newest_records(records)
    shares, per_enc, metric = [], defaultdict(list), None
    for r in latest:
        if (r.get("task") != task or r.get("status") != OK or r.get("head") != head or r.get("task_options")
                or str(r.get("split", "")).split(":")[0] != split_kind or not r.get("n_test")):
            continue
        metric = r.get("primary_metric")
        on = (r.get("per_continent") or {}).get(continent) or {}
        shares.append(on.get("n", 0) / r["n_test"])
        if on.get(metric) is not None:
            per_enc[r["encoder"]].append(on[metric])
    if not shares:
        return None
    return {"test_share": statistics.median(shares), "metric": metric,
            "by_encoder": {e: statistics.fmean(v) for e, v in sorted(per_enc.items())}}


def _runs_text(records: list[dict], task: str, measure: str) -> str:
    from geobench.tasks.differences import parse_measure

    kind, arg = parse_measure(measure)
    if kind != "continent_share":
        return ""
    got = continent_in_runs(records, task, arg)
    if got is None:
        return "no linear random-split rows"
    text = f"{100 * got['test_share']:.1f} % of test points"
    by = got["by_encoder"]
    if by:
        low = sorted(by.items(), key=lambda kv: kv[1])[:2]
        text += (f"; {got['metric']} there: median {statistics.median(by.values()):.3f} over {len(by)} encoders, "
                 "lowest " + ", ".join(f"`{e}` {v:.3f}" for e, v in low))
    return text


def differences_lines(records: list[dict], rows: pd.DataFrame | None = None) -> list[str]:
    """Markdown: the section with one line per task difference (:func:`difference_rows`)."""
    from geobench.tasks.differences import describe_measure

    rows = difference_rows() if rows is None else rows
    lines = ["## How our tasks differ from the paper's", "",
             "From each task's `differences` (machine-readable, `geobench.tasks.differences`; `geobench list` "
             "prints them). *Measured* is computed from the task's points with default options; *in the runs* "
             "from `runs.jsonl` (random split, linear head, mean over seeds per encoder).", "",
             "| task | fidelity | aspect | paper | ours | option | measured | in the runs |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows.itertuples():
        if not r.aspect:
            lines.append(f"| {r.task} | {r.fidelity} | – | the same data | the same data | | | |")
            continue
        measured_text = ""
        if r.measure:
            measured_text = (r.note if r.value is None or pd.isna(r.value)
                             else f"{describe_measure(r.measure)}: {_percent(r.value, r.n_points)}")
        option = f"`{r.option}`" if r.option else ""
        runs = _runs_text(records, r.task, r.measure) if r.measure else ""
        lines.append(f"| {r.task} | {r.fidelity} | {r.aspect} | {_cell(r.paper)} | {_cell(r.ours)} | {option} | "
                     f"{measured_text} | {runs} |")
    return lines + [""]


def _percent(value: float, n: Any) -> str:
    """``8.34 % (8,337 of 100,000)``; small shares keep two significant digits."""
    pct = 100 * value
    text = "0 %" if pct == 0 else f"{pct:.2g} %" if pct < 0.1 else f"{pct:.2f} %"
    if n is not None and not pd.isna(n):
        text += f" ({round(value * n):,} of {int(n):,})"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
