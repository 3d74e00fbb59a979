"""`hv dev`: the whole development stack in one command (what `make dev` runs).

Without `DATABASE_URL` it starts the embedded PostgreSQL under `.hv/pg`, a local object store under
`.hv/objects` and a generated development key, then `dagster dev` with `DAGSTER_HOME=.hv/dagster`.
Ctrl-C (or SIGTERM, SIGHUP) stops Dagster first, then the embedded PostgreSQL, so nothing is left
running. Dagster runs in a process group of its own: a terminal's Ctrl-C reaches `hv dev` alone,
which then stops Dagster in one order whichever process the signal would have reached first.
`dagster dev` gets SIGINT and `DAGSTER_GRACE_SECONDS` to stop its webserver, daemon and code
servers; whatever is still running below `hv dev` after that (a code server and its gRPC child, a
run worker, orphans included: `hv dev` adopts them as child subreaper) gets SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from hv_pipelines.core.embedded import start_stack
from hv_pipelines.core.process_tree import adopt_orphans, stop_descendants
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
# dagster dev's own shutdown (webserver, daemon, code servers) takes 1-3 s on a quiet machine, longer
# under load; what it has not stopped by then is stopped for it (SIGTERM, SIGKILL SWEEP_GRACE_SECONDS later).
DAGSTER_GRACE_SECONDS = 5.0
SWEEP_GRACE_SECONDS = 1.5
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
    # SIGINT too, even when inherited ignored (what a script's `make dev &` does): ignored, it would
    # reach every Dagster process ignored as well, and Ctrl-C would stop nothing at all.
    for sig in STOP_SIGNALS:
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
            _say("embedded PostgreSQL stopped")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _say(message: str) -> None:
    """Progress while stopping: after SIGHUP the terminal may be gone, and a failed write must not cut
    the shutdown short."""
    with contextlib.suppress(OSError):
        click.echo(message)


def _hold_stop_signals() -> None:
    """While stopping, a second Ctrl-C (or a SIGTERM after it) must not cut the shutdown short and
    leave PostgreSQL running: the shutdown is bounded, so further stop signals are ignored."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _run_dagster(env: dict[str, str], host: str, port: int, workspace: str) -> None:
    dagster_home = Path(env["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_file = dagster_home / "dagster.yaml"
    if not instance_file.exists():
        instance_file.write_text(DEV_INSTANCE)
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", workspace, "-h", host, "-p", str(port)]
    click.echo(f"Dagster UI: http://{host}:{port}  (Ctrl-C stops Dagster and the embedded database)")
    adopt_orphans()
    process = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, process_group=0)
    try:
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        _hold_stop_signals()
        _stop_dagster(process)


def _stop_dagster(process: subprocess.Popen) -> None:
    _say("stopping Dagster ...")
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=DAGSTER_GRACE_SECONDS)
    leftover = stop_descendants(os.getpid(), SWEEP_GRACE_SECONDS)
    if leftover:
        _say(f"stopped {leftover} Dagster process(es) still running after dagster dev's own shutdown")
    _say("Dagster stopped")
