"""`hv dev` (what `make dev` runs): the UI comes up with no DATABASE_URL, Ctrl-C leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_mentioning(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


@pytest.mark.slow
def test_dev_serves_the_code_location_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    home = tmp_path / "hv-home"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"HV_HOME": str(home)}
    # As a terminal starts a foreground command: SIGINT at its default. A test run started in the
    # background by a non-interactive shell (`.ci/run &`) inherits SIGINT ignored, and so would `hv dev`.
    proc = subprocess.Popen([sys.executable, "-m", "hv_pipelines.cli", "dev", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as resp:
                    assert json.load(resp)["dagster_version"] == "1.13.27"
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the UI did not come up within 120 s"
                time.sleep(1)
        entries = _graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
        assert entries["data"]["workspaceOrError"]["locationEntries"] == [
            {"name": "hv_pipelines", "loadStatus": "LOADED"}]
        assert (home / "keys").is_dir() and (home / "pg").is_dir()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to the foreground group
        output, _ = proc.communicate(timeout=90)
    assert "DEVELOPMENT encryption key" in output
    assert "embedded PostgreSQL stopped" in output
    assert _processes_mentioning(str(home)) == []
