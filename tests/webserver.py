"""A Dagster webserver on 127.0.0.1 serving workspace.yaml, for the tests that drive it: the UI (Chromium)
and `hv run` (plain HTTP, no browser).

It runs as its own process with a fresh database on the suite's PostgreSQL and a temporary
DAGSTER_HOME whose instance launches runs directly (no daemon, so no sensor or schedule can start a
run the test did not). Stopping it is a signal to its process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hv_pipelines.core import db
from hv_pipelines.core.keyring import generate_hex_key

ROOT = Path(__file__).resolve().parents[1]

LOCATION = "hv_pipelines"
INSTANCE = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""
WORKSPACE_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
RUN_QUERY = """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status jobName
  tags { key value } } } }"""

@dataclass
class Webserver:
    url: str
    database_url: str
    log: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                              timeout=30)
        response.raise_for_status()
        return response.json()["data"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_loaded(server: Webserver, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            entries = server.graphql(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
        except httpx.HTTPError:
            entries = []
        for entry in entries:
            loaded = entry["locationOrLoadError"]
            if loaded and loaded["__typename"] == "PythonError":
                pytest.fail(f"code location {entry['name']} failed to load: {loaded['message']}")
            if entry["name"] == LOCATION and entry["loadStatus"] == "LOADED" and loaded:
                return
        time.sleep(0.5)
    pytest.fail(f"the code location did not load in {timeout:.0f} s:\n{server.log.read_text()[-3000:]}")


@contextmanager
def running_webserver(pg_server_url: str, tmp_path: Path) -> Iterator[Webserver]:
    """The webserver, loaded, on a database of its own; stopped and the database dropped after."""
    name = f"hv_ui_{uuid.uuid4().hex[:12]}"
    database_url = db.create_database(pg_server_url, name)
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE)
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8",
        "DATABASE_URL": database_url, "DAGSTER_HOME": str(home), "HV_HOME": str(tmp_path / "hv"),
        "HV_OBJECT_STORE_URL": (tmp_path / "objects").as_uri(), "ENCRYPTION_KEY": generate_hex_key(),
        "HV_DOTENV": os.devnull,
    }
    port = free_port()
    server = Webserver(url=f"http://127.0.0.1:{port}", database_url=database_url, log=tmp_path / "webserver.log")
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_loaded(server, process)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        db.drop_database(pg_server_url, name)


def wait_for_run(server: Webserver, run_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = server.graphql(RUN_QUERY, {"id": run_id})["runOrError"]
        if run.get("status") in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(1)
    pytest.fail(f"run {run_id} did not finish in {timeout:.0f} s:\n{server.log.read_text()[-3000:]}")
