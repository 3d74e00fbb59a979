"""`hv dev`: the whole development stack in one command (what `make dev` runs).

Without `DATABASE_URL` it starts the embedded PostgreSQL under `.hv/pg`, a local object store under
`.hv/objects` and a generated development key, then `dagster dev` with `DAGSTER_HOME=.hv/dagster`.
Ctrl-C stops Dagster first, then the embedded PostgreSQL, so nothing is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from hv_pipelines.core.embedded import start_stack
from hv_pipelines.core.settings import load_settings, mask_url

DEV_INSTANCE = """\
# Written by `hv dev`: the development instance (SQLite storage under this directory).
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: "hv/exclusive"
        value: "database"
        limit: 1
      - key: "hv/ehr-provider"
        value:
          applyLimitPerUniqueValue: true
        limit: 2
telemetry:
  enabled: false
"""


@click.command(name="dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option("--workspace", default="workspace.yaml", show_default=True, type=click.Path(dir_okay=False))
def command(host: str, port: int, workspace: str) -> None:
    """Start the Dagster UI with the hv_pipelines code location (embedded PostgreSQL unless DATABASE_URL is set)."""
    settings = load_settings()
    env = dict(os.environ)
    stack = None
    # A closed terminal (SIGHUP) or a service manager (SIGTERM) must stop the stack like Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        if settings.database_url is None:
            stack = start_stack(settings.home)
            env.update(stack.env())
            click.echo(f"embedded PostgreSQL: {stack.database_url}")
            click.echo(f"object store:        {stack.object_store_url}")
        else:
            click.echo(f"database: {mask_url(settings.database_url.get_secret_value())}")
            env.setdefault("DAGSTER_HOME", str((settings.home / "dagster").resolve()))
            env.setdefault("HV_OBJECT_STORE_URL", (settings.home / "objects").resolve().as_uri())
        _run_dagster(env, host, port, workspace)
    finally:
        if stack is not None:
            stack.stop()
            click.echo("embedded PostgreSQL stopped")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _run_dagster(env: dict[str, str], host: str, port: int, workspace: str) -> None:
    dagster_home = Path(env["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_file = dagster_home / "dagster.yaml"
    if not instance_file.exists():
        instance_file.write_text(DEV_INSTANCE)
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", workspace, "-h", host, "-p", str(port)]
    click.echo(f"Dagster UI: http://{host}:{port}  (Ctrl-C stops Dagster and the embedded database)")
    process = subprocess.Popen(cmd, env=env)
    try:
        process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
