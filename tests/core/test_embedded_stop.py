"""The embedded PostgreSQL stops when the last `hv` process holding it lets go, even after an earlier
holder was killed without letting go (`kill -9 hv dev`): its pid no longer keeps the server running."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from hv_pipelines.core.embedded_server import start_postgres


def _exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_killed_holder_does_not_keep_the_server_running() -> None:
    # Not under pytest's basetemp: as root the server runs as its own OS user (see tests/conftest.py).
    root = Path(tempfile.mkdtemp(prefix="hv-test-pg-handles-")) / "pg"
    first = start_postgres(root)
    first_port = first.port
    first.cleanup()  # initialised and stopped, as a first `hv dev` leaves it
    (root / "holders.json").write_text(json.dumps([_exited_pid()]))  # a holder killed since
    server = start_postgres(root)
    postmaster = server.get_pid()
    try:
        assert json.loads((root / "holders.json").read_text()) == [os.getpid()]
        assert server.port == first_port  # the URLs of the last start still hold
        server.cleanup()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{postmaster}").exists():
            assert time.monotonic() < deadline, "the server is still running after its last holder let go"
            time.sleep(0.1)
    finally:
        if Path(f"/proc/{postmaster}").exists():
            os.kill(postmaster, signal.SIGINT)  # PostgreSQL's fast shutdown
        shutil.rmtree(root.parent, ignore_errors=True)


def test_a_live_holder_keeps_the_server_running() -> None:
    root = Path(tempfile.mkdtemp(prefix="hv-test-pg-handles-")) / "pg"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        server = start_postgres(root)
        (root / "holders.json").write_text(json.dumps([holder.pid, os.getpid()]))
        postmaster = server.get_pid()
        server.cleanup()
        assert Path(f"/proc/{postmaster}").exists() and json.loads((root / "holders.json").read_text()) == [holder.pid]
    finally:
        holder.kill()
        holder.wait()
        start_postgres(root).cleanup()  # the last holder now: stops it
        shutil.rmtree(root.parent, ignore_errors=True)
