"""Child program of the ``cold`` and ``memory`` sections: one ``geobench`` CLI command in a
fresh process, then its resource usage as JSON.

``python -m geobench.perf.child_cli REPORT.json ARGS...`` runs ``geobench ARGS...``, writes
``{"vmhwm_kb", "self_maxrss_kb", "cpu_s", "children_maxrss_kb", "rc", "seconds_in_python"}``
to REPORT.json and exits with the command's return code.
"""
from __future__ import annotations

import json
import resource
import sys
import time

from geobench.perf.vmhwm import vmhwm_kb


def main() -> int:
    t0 = time.perf_counter()
    from geobench.cli import main as cli_main

    rc = cli_main(sys.argv[2:])
    ru = resource.getrusage(resource.RUSAGE_SELF)
    usage = {"vmhwm_kb": vmhwm_kb(), "self_maxrss_kb": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime,
             "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
             "rc": rc, "seconds_in_python": time.perf_counter() - t0}
    with open(sys.argv[1], "w") as f:
        f.write(json.dumps(usage))
    return rc


if __name__ == "__main__":
    sys.exit(main())
