"""core/process_tree.py: a supervisor finds and stops every process started below it, orphans included,
and one that ignores SIGTERM is killed (as `hv dev` stops what Dagster leaves behind)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Run in a child interpreter: becoming a subreaper changes the process for good, so not pytest's.
SUPERVISOR = """
import os, subprocess, sys, time
from hv_pipelines.core.process_tree import adopt_orphans, descendants, stop_descendants
assert adopt_orphans()
# A child that starts a grandchild ignoring SIGTERM and exits at once: the grandchild is orphaned.
subprocess.run(["sh", "-c", "trap '' TERM; sleep 300 & echo $! > " + sys.argv[1]], check=True)
orphan = int(open(sys.argv[1]).read())
deadline = time.monotonic() + 10
while orphan not in descendants(os.getpid()):
    assert time.monotonic() < deadline, "the orphan was not adopted"
    time.sleep(0.05)
started = time.monotonic()
print(orphan, stop_descendants(os.getpid(), 0.5), round(time.monotonic() - started, 2), descendants(os.getpid()))
"""


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_an_orphan_ignoring_sigterm_is_adopted_found_and_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "orphan.pid"
    try:
        out = subprocess.run([sys.executable, "-c", SUPERVISOR, str(pid_file)], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 0, out.stderr
        orphan, signalled, seconds, left = out.stdout.split(maxsplit=3)
        assert signalled == "1" and left.strip() == "[]"
        assert 0.5 <= float(seconds) < 5, "SIGTERM ignored: SIGKILL follows the grace period"
        deadline = time.monotonic() + 5
        while _running(int(orphan)):
            assert time.monotonic() < deadline, f"orphan {orphan} still running"
            time.sleep(0.05)
    finally:  # a failed run leaves the orphan to init: stop it here (if that pid is still our sleep)
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text())
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\x00300"):
                os.kill(pid, signal.SIGKILL)
