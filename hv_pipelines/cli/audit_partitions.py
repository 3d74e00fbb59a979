"""`hv db audit-partitions`: the opt-in monthly partitioning of `audit_logs` (enable, status, add, disable).

Partitioned, an archived month is detached and dropped instead of deleted and vacuumed
(docs/archival.md has the trade-off and the figures). Runs against `HV_DATABASE_URL_MIGRATIONS`
(else `DATABASE_URL`): the rebuild is DDL, the owner's.
"""

from __future__ import annotations

import click

from hv_pipelines.core import db
from hv_pipelines.core.archival import partitions
from hv_pipelines.core.settings import load_settings, mask_url

_lock_timeout = click.option("--lock-timeout", default="30s", show_default=True,
                             help="Give up when audit_logs stays in use this long (PostgreSQL duration).")


@click.group(name="audit-partitions")
def command() -> None:
    """Opt-in monthly partitioning of audit_logs: archives detach and drop a month instead of deleting it."""


@command.command()
@click.option("--months-ahead", default=partitions.MONTHS_AHEAD, show_default=True, type=click.IntRange(0, 24),
              help="Also create the partitions of this many months after the current one.")
@_lock_timeout
def enable(months_ahead: int, lock_timeout: str) -> None:
    """Rebuild audit_logs partitioned by month, keeping every row, index, key and grant (one transaction)."""
    url = load_settings().database_url_for("migrations")
    click.echo(f"partitioning audit_logs of {mask_url(url)} by month (writers wait until it commits)")
    result = partitions.enable(url, months_ahead=months_ahead, lock_timeout=lock_timeout, progress=click.echo)
    click.echo(result.summary())


@command.command()
@_lock_timeout
def disable(lock_timeout: str) -> None:
    """Rebuild audit_logs as the Prisma reference's plain table keyed by id (one transaction)."""
    url = load_settings().database_url_for("migrations")
    click.echo(f"turning audit_logs of {mask_url(url)} back into a plain table (writers wait until it commits)")
    click.echo(partitions.disable(url, lock_timeout=lock_timeout, progress=click.echo).summary())


@command.command()
@click.option("--months-ahead", default=partitions.MONTHS_AHEAD, show_default=True, type=click.IntRange(0, 24))
def add(months_ahead: int) -> None:
    """Create the partitions of this month and the next ones (the schedule does it monthly too)."""
    created = partitions.ensure_ahead(load_settings().database_url_for("migrations"), months_ahead=months_ahead)
    if created is None:
        raise click.ClickException("audit_logs is not partitioned: `hv db audit-partitions enable` first")
    click.echo(f"created {created} partition(s)")


@command.command()
def status() -> None:
    """Whether audit_logs is partitioned, and its partitions with their row estimates."""
    url = load_settings().database_url_for("migrations")
    with db.connect(url) as conn:
        if not partitions.is_partitioned(conn):
            click.echo("audit_logs is a plain table (the default): archives delete and vacuum")
            return
        rows = conn.execute("SELECT relname, greatest(reltuples, 0)::bigint FROM pg_class WHERE relname = ANY(%s) "
                            "ORDER BY relname", (partitions.partitions(conn),)).fetchall()
    click.echo(f"audit_logs is partitioned by month: {len(rows)} partitions (rows estimated by the last ANALYZE)")
    for name, estimate in rows:
        click.echo(f"  {name:28} ~{estimate:,}")
