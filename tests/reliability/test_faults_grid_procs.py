"""Issue 14, processes: an unreachable Dask scheduler is found before the embedding phase
(item 11), Ctrl-C while joblib's pool shuts down exits 130 without a traceback (item 15), and
joblib workers exit when the driver is SIGKILLed (item 17)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from geobench.errors import InputError
from geobench.evaluation.runner import run_grid

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_dask_scheduler_fails_before_embedding(results_dir, monkeypatch):
    import geobench.evaluation.runner as runner

    monkeypatch.setattr(runner, "_embed_phase", lambda *a: pytest.fail("embedding ran before the scheduler check"))
    addr = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=rf"cannot reach the Dask scheduler {addr}.*dask scheduler"):
        run_grid(["air_temperature"], ["wrap"], ["linear"], ["random"], [0], results_dir=results_dir,
                 executor="dask", scheduler=addr, tracking_uri="none", progress=False, n_boot=0)
    assert time.perf_counter() - t0 < 15


INTERRUPT = textwrap.dedent("""
    import sys
    from joblib.externals.loky import get_reusable_executor
    from geobench.cli import main

    def busy(marker):
        import pathlib, time
        pathlib.Path(marker).write_text("started")
        time.sleep(60)

    get_reusable_executor(max_workers=1).submit(busy, sys.argv[1])  # a pool still busy when the command ends
    rc = main(sys.argv[2:])
    sys.exit(rc)
""")


def _terminal_sigint() -> None:
    """In the child: SIGINT as in a terminal. A test runner started in the background of a
    non-interactive shell (as CI may do) has SIGINT ignored, and children inherit that; this is
    what made this test fail in some CI runs."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig,rc,word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_during_pool_shutdown_exits_130_without_traceback(tmp_path, sig, rc, word):
    """Ctrl-C (and ``kill``, SIGTERM) while the pool's worker runs: a clean message and exit code."""
    marker = tmp_path / "worker-started"
    p = subprocess.Popen([sys.executable, "-c", INTERRUPT, str(marker), "leaderboard", "--results", str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=_terminal_sigint)
    try:
        # the Ctrl-C must come while the pool's worker runs its task (not while it is still being
        # started, a race of this test's set-up on a loaded machine); the command itself (an error:
        # no runs.jsonl) takes well under a second, so the pool is then shutting down
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "the pool's worker never started its task"
        time.sleep(2)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == rc, (p.returncode, err[-2000:])
    assert "Traceback" not in err and "Exception ignored" not in err, err[-2000:]
    assert f"geobench: {word}" in err


SLEEPY = textwrap.dedent("""
    import os, time
    from pathlib import Path
    import numpy as np
    from geobench.heads.base import Head, register_head

    @register_head("fc_sleepy", override=True)
    class Sleepy(Head):
        def _fit(self, X, y, X_val, y_val):
            Path(os.environ["FC_MARKS"], str(os.getpid())).touch()
            time.sleep(120)

        def _predict(self, X):
            return np.zeros(len(X))
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_joblib_workers_exit_when_the_driver_is_killed(tmp_path):
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "fc_sleepy_head.py").write_text(SLEEPY)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "FC_MARKS": str(marks), "GEOBENCH_QUIET": "1",
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "plug"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "geobench", "run", "--plugin", "fc_sleepy_head", "--head", "fc_sleepy",
           "--task", "air_temperature", "--encoder", "wrap", "--seeds", "2", "--executor", "joblib", "--jobs", "2",
           "--bootstrap", "0", "--tracking-uri", "none", "--results", str(tmp_path / "r")]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.time() + 90
        while len(workers) < 2 and time.time() < deadline and p.poll() is None:
            time.sleep(0.3)
            workers = [int(f.name) for f in marks.iterdir()]
        assert len(workers) == 2, p.stderr.read() if p.poll() is not None else "workers did not start"
        p.send_signal(signal.SIGKILL)
        p.wait()
        deadline = time.time() + 15
        while any(_alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.5)
        assert not [w for w in workers if _alive(w)], "joblib workers outlived the killed driver"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for w in workers:  # only the workers this test started
            if _alive(w):
                os.kill(w, signal.SIGKILL)
