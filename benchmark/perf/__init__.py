"""Performance measurements: ``python -m geobench.perf [--quick] [--sections sh,encoders,...]``.

Prints a table and writes ``results/perf.json`` (``--out``). The machine is assumed to be
noisy, so every timing is the median of ``--repeats`` (>= 3) runs and is reported next to a
*reference measured in the same run* (a numpy write bound, sklearn, a warm re-run, ...) as
a ratio. A small calibration workload (memory write, matmul, Python loop) runs at the start
and the end; the drift between the two says how stable the machine was. The load average
is recorded per section.

Sections (``--sections``; default ``sh,encoders,heads,linear,bootstrap,cold,memory``; ``grid``, ``probes``
and ``projection`` only on request):

``sh``        spherical-harmonics throughput at N = 1e5, L = 10 / 40, float64 / float32,
              vs the naive per-(l, m) reference, the numpy memory-write bound and the
              official SatCLIP throughput recorded in the fixture README (not measured here).
``encoders``  encode time of every registered encoder at N = 1e5 (area-uniform points).
``heads``     fit time of the linear / mlp / lightgbm heads at N = 1e4, 1e5 and d = 256, 1600
              (SH features, smooth synthetic target), each against the linear head.
``linear``    the linear head against RANGE's scikit-learn estimators (RidgeCV(cv=3) on a
              regression target, RidgeClassifierCV(cv=10) on a 150-region label), same data and
              run: time ratio, chosen alpha and prediction agreement.
``bootstrap`` the block bootstrap interval of 100k test points (1000 resamples; R^2, accuracy,
              macro-F1) against the i.i.d. bootstrap of the same points.
``cold``      the first ``geobench run --task elevation --encoder wrap`` with an empty cache.
``memory``    peak RSS of one 100k-point x 1,600-feature cell (elevation, sh:L=40, linear).
``grid``      wall time of the linear-probe grid (offline tasks x encoders x 5 seeds), cold
              and warm.
``probes``    the version-2 MLP and LightGBM heads against their version-1 spellings on the
              published MLP comparison cells (3 seeds) and one LightGBM cell per task, same run:
              cell times before / after, the MLP search against one fit of the chosen
              configuration, the paired test-metric difference, runs stopped at a cap.
``projection`` the declared grid's measured wall time (from the records' timestamps), and the
              every-encoder three-head grid projected from the per-cell times in runs.jsonl.

Slow measurements are capped (time budgets, a single repeat, a smaller N scaled per point;
the MLP default search at the largest N and LightGBM at the largest N x d run once, reduced);
each such row says so in its note. Every timing also records the process CPU time
(``cpu_s``), which a busy machine inflates less than wall time. Peak memory is the child's
``VmHWM`` (not ``ru_maxrss``, which on Linux inherits the parent's RSS at fork).
``--quick`` shrinks every size for tests; its numbers are meaningless.
"""
from __future__ import annotations

# Layout: config (targets, recorded official numbers, Config), timing (timeit, rows,
# calibration), machine (machine / versions / thread info), one module per section (sh,
# encoders, heads, linear, bootstrap, cold, memory, grid, probes, projection), children (running the child processes
# child_cli / child_grid and reading their peak RSS), report (merge, table) and cli (run,
# the argument parser, main).
#
# The names below are re-exported lazily: importing ``geobench.perf`` (which every
# ``python -m geobench.perf.child_*`` does first) loads nothing, so a child's start-up time
# and peak RSS are those of the code it measures, and ``main`` can set OMP_WAIT_POLICY
# before torch or numba load their OpenMP runtime.
_EXPORTS = {
    "main": "cli", "run": "cli", "build_parser": "cli", "SECTION_FUNCS": "cli",
    "read_previous": "report", "format_table": "report",
    "Config": "config", "SECTIONS": "config", "DEFAULT_SECTIONS": "config", "TARGETS": "config",
    "OFFICIAL": "config", "OFFICIAL_SOURCE": "config",
    "timeit": "timing", "write_bound": "timing", "calibrate": "timing",
    "machine_info": "machine", "versions_info": "machine", "thread_info": "machine",
    "section_sh": "sh", "section_encoders": "encoders", "section_heads": "heads", "section_linear": "linear", "section_bootstrap": "bootstrap",
    "section_cold": "cold",
    "section_memory": "memory", "section_grid": "grid", "section_probes": "probes", "section_projection": "projection",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
