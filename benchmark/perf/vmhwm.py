"""Peak RSS of the calling process, for the child programs (``child_cli``, ``child_grid``).

Peak RSS is read from /proc/self/status VmHWM (the high-water mark of this process's own
address space). ru_maxrss is NOT used when VmHWM exists: on Linux a child's ru_maxrss starts
at the parent's RSS at fork/exec time, so a big parent would inflate it. Standard library
only, so that importing it does not change what a child measures.
"""
from __future__ import annotations


def vmhwm_kb() -> int | None:
    """``VmHWM`` of this process in kB (None where /proc is unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
