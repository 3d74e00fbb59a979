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

from hv_pipelines.core.embedded import start_postgres


def _exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_killed_holder_does_not_keep_the_server_running() -> None:
    # Not under pytest's basetemp: the server runs as pgserver's own system user (see tests/conftest.py).
    root = Path(tempfile.mkdtemp(prefix="hv-test-pg-handles-"))
    pgdata = root / "pg"
    start_postgres(pgdata).cleanup()  # initialised and stopped, as a first `hv dev` leaves it
    (pgdata / ".handle_pids.json").write_text(json.dumps([_exited_pid()]))  # a holder killed since
    server = start_postgres(pgdata)
    postmaster = server.get_pid()
    try:
        assert json.loads((pgdata / ".handle_pids.json").read_text()) == [os.getpid()]
        server.cleanup()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{postmaster}").exists():
            assert time.monotonic() < deadline, "the server is still running after its last holder let go"
            time.sleep(0.1)
    finally:
        if Path(f"/proc/{postmaster}").exists():
            os.kill(postmaster, signal.SIGINT)  # PostgreSQL's fast shutdown
        shutil.rmtree(root, ignore_errors=True)
