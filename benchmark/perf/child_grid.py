"""Child program of the ``grid`` section: one linear-probe grid in a fresh process, then its
wall time, record counts and resource usage as JSON.

``python -m geobench.perf.child_grid REPORT.json JOB`` where JOB is the JSON of
``{"tasks", "encoders", "seeds", "results", "force", "executor", "jobs", "n_boot"}``.
"""
from __future__ import annotations

import json
import resource
import sys

from geobench.perf.vmhwm import vmhwm_kb


def main() -> int:
    a = json.loads(sys.argv[2])
    from geobench.evaluation.runner import run_grid

    res = run_grid(a["tasks"], a["encoders"], ["linear"], ["random"], a["seeds"], results_dir=a["results"],
                   force=a["force"], executor=a["executor"], n_jobs=a["jobs"], tracking_uri="none",
                   progress=False, n_boot=a["n_boot"])
    st = {}
    for r in res.records:
        st[r["status"]] = st.get(r["status"], 0) + 1
    tim = [r.get("timings", {}) for r in res.records]
    out = {"wall_seconds": res.wall_seconds, "n_records": len(res.records), "skipped": res.skipped, "status": st,
           "sum_fit_s": sum(t.get("fit_s", 0) for t in tim), "sum_cell_s": sum(t.get("cell_s", 0) for t in tim),
           "sum_embed_s_unique": sum({(r["task"], r["encoder"]): r.get("timings", {}).get("embed_s", 0)
                                      for r in res.records}.values()),
           "vmhwm_kb": vmhwm_kb(), "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           "cpu_s": sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                        for f in ("ru_utime", "ru_stime")),
           "slowest_cells": sorted(([r["task"], r["encoder"], r.get("timings", {}).get("cell_s", 0)]
                                    for r in res.records), key=lambda c: -c[2])[:5]}
    with open(sys.argv[1], "w") as f:
        f.write(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
