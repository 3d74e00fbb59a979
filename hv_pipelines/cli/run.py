"""`hv run JOB [--partition P]`: launch a job on a running Dagster webserver (`HV_DAGSTER_URL`).

For environments without Dagster's own scheduler (cron-less hosts) and for break-glass use: the
run goes through the same webserver, run queue and `hv/exclusive` limits as a run launched from
the UI, so it shows up there with its logs.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import click

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.settings import load_settings

LOCATION = "hv_pipelines"
REPOSITORY = "__repository__"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _client(url: str):
    from dagster_graphql import DagsterGraphQLClient

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HVError(f"HV_DAGSTER_URL {url!r} is not an http(s) URL such as http://127.0.0.1:3000")
    return DagsterGraphQLClient(parts.hostname, port_number=parts.port, use_https=parts.scheme == "https",
                                path_prefix=parts.path.rstrip("/"))


def _ensure_reachable(base: str) -> None:
    import httpx

    try:
        httpx.get(f"{base}/server_info", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise HVError(f"cannot reach Dagster at {base} ({type(exc).__name__}): start it (`make dev`) or set "
                      "HV_DAGSTER_URL") from None


@click.command(name="run")
@click.argument("job")
@click.option("--partition", help="Partition key, e.g. 2026-11-24 (daily) or 2026-10-01 (monthly).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the run until it finishes.")
@click.option("--timeout", default=6 * 3600, show_default=True, help="Seconds to wait for the run.")
def command(job: str, partition: str | None, wait: bool, timeout: int) -> None:
    """Launch JOB through the Dagster webserver at HV_DAGSTER_URL and (by default) wait for it."""
    from dagster_graphql import DagsterGraphQLClientError

    base = load_settings().dagster_url.rstrip("/")
    client = _client(base)
    _ensure_reachable(base)
    tags = {"dagster/partition": partition} if partition else {}
    try:
        run_id = client.submit_job_execution(job, repository_location_name=LOCATION,
                                             repository_name=REPOSITORY, tags=tags)
    except DagsterGraphQLClientError as exc:
        detail = f" ({exc.args[1]})" if len(exc.args) > 1 and exc.args[1] else ""
        raise HVError(f"Dagster refused to launch {job}: {exc.args[0]}{detail}") from None
    click.echo(f"launched {job}{f' [{partition}]' if partition else ''}: {base}/runs/{run_id}")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status != last:
            click.echo(f"  {status.lower()}")
            last = status
        if status in TERMINAL:
            break
        time.sleep(2)
    else:
        raise HVError(f"run {run_id} still {last} after {timeout} s; follow it at {base}/runs/{run_id}")
    if last != "SUCCESS":
        raise HVError(f"run {run_id} of {job} ended {last}: see its logs at {base}/runs/{run_id}")
