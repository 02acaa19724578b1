"""Running the child processes of the ``cold``, ``memory`` and ``grid`` sections
(``python -m geobench.perf.child_cli`` / ``child_grid``) and reading what they report.

Peak memory is the child's own ``VmHWM`` (see :mod:`geobench.perf.vmhwm`); its
``ru_maxrss`` is only a fallback and an upper bound.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from geobench.perf.timing import row

CHILD_CLI = "geobench.perf.child_cli"    # one `geobench ...` command
CHILD_GRID = "geobench.perf.child_grid"  # one linear-probe grid (run_grid)


def child_env(cache: Path) -> dict:
    env = dict(os.environ)
    env["GEOBENCH_CACHE"] = str(cache)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_child(module: str, args: list[str], env: dict, timeout: float = 7200) -> dict:
    """Run ``python -m module <json-out> args...``; wall seconds, its JSON report, rc, stderr tail."""
    fd, out = tempfile.mkstemp(suffix=".json", prefix="geobench-perf-")
    os.close(fd)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", module, out, *args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    wall = time.perf_counter() - t
    try:
        rep = json.loads(Path(out).read_text() or "{}")
    except (OSError, ValueError):
        rep = {}
    finally:
        Path(out).unlink(missing_ok=True)
    res = {"wall_s": wall, "rc": p.returncode, "report": rep}
    if p.returncode != 0:
        res["stderr_tail"] = p.stderr[-2000:]
    return res


def peak_rss_bytes(rep: dict) -> tuple[int, str]:
    """(bytes, how): the child's VmHWM, else its ru_maxrss (an upper bound, see :mod:`.vmhwm`)."""
    if rep.get("vmhwm_kb"):
        return 1024 * int(rep["vmhwm_kb"]), "VmHWM of the child (/proc/self/status)"
    return (1024 * max(int(rep.get("self_maxrss_kb", 0)), int(rep.get("children_maxrss_kb", 0))),
            "ru_maxrss of the child (upper bound: includes the parent's RSS at fork)")


def child_failed(section: str, name: str, run: dict, unit: str = "s") -> dict:
    """The ERROR row of a child process that exited non-zero (the tail of its stderr as note)."""
    return row(section, name, None, unit, status="ERROR", note=run.get("stderr_tail", "")[-300:])


def wall_times(runs: list[dict]) -> dict:
    """Median and raw wall times of child runs, in the ``times`` layout of a row."""
    return {"median_s": statistics.median(r["wall_s"] for r in runs),
            "times_s": [round(r["wall_s"], 3) for r in runs], "repeats": len(runs)}
