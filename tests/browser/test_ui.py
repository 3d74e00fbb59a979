"""What an operator does in the Dagster UI, done by Chromium: every asset group renders, and
`migrate_and_seed` launched from the job's Materialize button migrates a real database to head.

The webserver runs as its own process on 127.0.0.1 with the workspace.yaml code location, a fresh
database on the suite's PostgreSQL and a temporary DAGSTER_HOME whose instance launches runs
directly (no daemon, so no sensor or schedule can start a run the test did not). Screenshots land
in tests/artifacts/.
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
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hv_pipelines.core import db, migrations
from hv_pipelines.core.keyring import generate_hex_key

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
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

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


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


def _free_port() -> int:
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


@pytest.fixture(scope="module")
def webserver(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's chromium (needs root)")
    tmp_path = tmp_path_factory.mktemp("webserver")
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
    port = _free_port()
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


def _groups() -> dict[str, list[str]]:
    """Group name -> asset keys, from the code location the webserver serves."""
    from hv_pipelines.definitions import defs

    groups: dict[str, list[str]] = {}
    for node in defs.resolve_asset_graph().asset_nodes:
        if node.is_materializable:
            groups.setdefault(node.group_name, []).append(node.key.to_user_string())
    return groups


def _wait_for_run(server: Webserver, run_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = server.graphql(RUN_QUERY, {"id": run_id})["runOrError"]
        if run.get("status") in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(1)
    pytest.fail(f"run {run_id} did not finish in {timeout:.0f} s:\n{server.log.read_text()[-3000:]}")


def _dismiss_welcome(page) -> None:
    """The UI greets a new browser with a newsletter dialog; skip it if it shows."""
    from playwright.sync_api import TimeoutError as NoDialog

    with suppress(NoDialog):
        page.get_by_role("button", name="Skip").click(timeout=5000)


def test_operator_launches_migrate_and_seed_from_the_ui(webserver: Webserver) -> None:
    from playwright.sync_api import expect, sync_playwright

    groups = _groups()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)

        page.goto(f"{webserver.url}/asset-groups")
        _dismiss_welcome(page)
        group_nodes = page.locator("svg foreignObject.group")
        expect(group_nodes).to_have_count(len(groups))
        rendered = {node.locator("[data-tooltip]").first.get_attribute("data-tooltip") for node in group_nodes.all()}
        assert rendered == set(groups)
        page.screenshot(path=ARTIFACTS / "asset_groups.png")

        for group, keys in groups.items():
            page.goto(f"{webserver.url}/locations/{LOCATION}/asset-groups/{group}")
            for key in keys:
                expect(page.get_by_text(key, exact=True).first).to_be_visible()

        page.goto(f"{webserver.url}/locations/{LOCATION}/jobs/migrate_and_seed")
        materialize = page.get_by_role("button", name="Materialize all")
        expect(materialize).to_be_enabled()
        materialize.click()
        expect(page.get_by_text("Launched run")).to_be_visible()
        run_id = page.get_by_role("link", name="View").first.get_attribute("href").rsplit("/", 1)[-1]

        run = _wait_for_run(webserver, run_id)
        page.goto(f"{webserver.url}/runs/{run_id}")
        expect(page.get_by_text("Success", exact=True).first).to_be_visible()
        expect(page.get_by_text("Loading run logs")).to_have_count(0)
        page.screenshot(path=ARTIFACTS / "migrate_and_seed_run.png")
        browser.close()

    assert run["status"] == "SUCCESS", webserver.log.read_text()[-3000:]
    assert run["jobName"] == "migrate_and_seed"
    assert {"key": "dagster/from_ui", "value": "true"} in run["tags"]
    status = migrations.status(webserver.database_url)
    assert status.current == migrations.heads()[0] and status.up_to_date


def test_hv_run_launches_a_job_through_the_webserver(webserver: Webserver) -> None:
    """`hv run` (cron-less hosts, break-glass): the same webserver and run queue as the UI."""
    env = {**os.environ, "HV_DAGSTER_URL": webserver.url}
    hv = [sys.executable, "-m", "hv_pipelines.cli", "run"]
    out = subprocess.run([*hv, "migrate_and_seed"], env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{webserver.url}/runs/" in out.stdout and "success" in out.stdout

    out = subprocess.run([*hv, "no_such_job"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "no_such_job" in out.stderr

    env["HV_DAGSTER_URL"] = f"http://127.0.0.1:{_free_port()}"
    out = subprocess.run([*hv, "migrate_and_seed"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot reach Dagster" in out.stderr
