"""`hv run JOB` (cron-less hosts, break-glass) against a real Dagster webserver: the same webserver and
run queue as the UI, over plain HTTP, so it needs no browser and runs wherever the suite does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hv_pipelines.core import migrations
from tests.webserver import Webserver, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_hv_run_launches_a_job_through_the_webserver(webserver: Webserver) -> None:
    env = {**os.environ, "HV_DAGSTER_URL": webserver.url}
    hv = [sys.executable, "-m", "hv_pipelines.cli", "run"]
    out = subprocess.run([*hv, "migrate_and_seed"], env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{webserver.url}/runs/" in out.stdout and "success" in out.stdout
    assert migrations.status(webserver.database_url).up_to_date, "the run migrated the webserver's database"

    out = subprocess.run([*hv, "no_such_job"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "no_such_job" in out.stderr

    env["HV_DAGSTER_URL"] = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run([*hv, "migrate_and_seed"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot reach Dagster" in out.stderr
