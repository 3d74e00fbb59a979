"""`hv audit`: audit-log archival — archive, list, verify, rehydrate, purge.

Reads `DATABASE_URL`, `ENCRYPTION_KEY` (plus `HV_ENCRYPTION_KEYS_RETIRED` / `HV_KMS_KEY_ID`) and
`HV_OBJECT_STORE_URL` (plus `HV_S3_ENDPOINT_URL`, `HV_S3_SSE`) like the Dagster resources do. Output
holds counts, keys and hashes only — never row contents.
"""

from __future__ import annotations

import click

from hv_pipelines.cli.common import keyring_from, store_from
from hv_pipelines.core import archival, db
from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.settings import load_settings


def _month(ctx: click.Context, param: click.Parameter, value: str) -> archival.Month:
    try:
        return archival.Month.parse(value)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(name="audit")
def command() -> None:
    """Audit-log archival: archive, list, verify, rehydrate, purge."""


@command.command()
@click.option("--month", required=True, callback=_month, help="Calendar month of audit_logs.timestamp, YYYY-MM.")
@click.option("--index-cleanup", is_flag=True,
              help="Also remove the deleted rows' index entries now (a full pass over audit_logs' indexes) "
                   "instead of leaving them to autovacuum.")
def archive(month: archival.Month, index_cleanup: bool) -> None:
    """Archive the rows audit_logs still holds for MONTH (a no-op when there are none)."""
    settings = load_settings()
    result = archival.archive_month(settings.database_url_for("archival"), store_from(settings), keyring_from(settings),
                                    month, options=archival.ArchiveOptions(index_cleanup=index_cleanup))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(result.summary())
    if result.manifest_key:
        click.echo(f"manifest {result.manifest_key} (sha256 {result.manifest_sha256})")


@command.command(name="list")
def list_archives() -> None:
    """List every archive in the chain with its state (reads manifests and records, not objects)."""
    settings = load_settings()
    store, keyring = store_from(settings), keyring_from(settings)
    with db.connect(settings.database_url_for("archival")) as conn:
        report = archival.verify_archives(store, keyring, conn, depth=archival.LIST)
    if not report.archives:
        click.echo("no archives")
    else:
        click.echo(f"{'#':>5}  {'month':7}  {'kind':13}  {'rows':>10}  {'parts':>5}  {'bytes':>12}  {'state':11}  created")
    for a in report.archives:
        click.echo(f"{a.sequence:>5}  {a.month:7}  {a.kind:13}  {a.rows:>10}  {a.parts:>5}  {a.archive_bytes:>12}  "
                   f"{a.state:11}  {a.created_at:%Y-%m-%d %H:%M}")
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    if report.problems:
        click.echo("run `hv audit verify` for a full check", err=True)


@command.command()
@click.option("--all", "decrypt", is_flag=True,
              help="Also decrypt every part and re-hash its rows (proves they are recoverable with today's keys).")
def verify(decrypt: bool) -> None:
    """Walk the hash chain, every archive object and every record; exit 1 on any problem."""
    settings = load_settings()
    store, keyring = store_from(settings), keyring_from(settings)
    with db.connect(settings.database_url_for("archival")) as conn:
        report = archival.verify_archives(store, keyring, conn,
                                          depth=archival.DECRYPT if decrypt else archival.DIGEST)
    for a in report.archives:
        click.echo(f"#{a.sequence} {a.month} {a.kind}: {a.rows} rows, {a.parts} part(s), {a.state}")
    for note in report.notes:
        click.echo(f"note: {note}")
    checked = f"{report.objects_checked} object(s)" + (f", {report.rows_checked} rows re-hashed" if decrypt else "")
    if report.ok:
        click.echo(f"ok: {len(report.archives)} archive(s) in an unbroken chain, {checked}")
        return
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    click.echo(f"FAILED: {len(report.problems)} problem(s); {checked}", err=True)
    raise SystemExit(1)


@command.command()
@click.option("--month", required=True, callback=_month, help="Archived month to load, YYYY-MM.")
@click.option("--into", "table", default=None,
              help="Query table to load into (default audit_logs_rehydrated_YYYY_MM); never audit_logs.")
def rehydrate(month: archival.Month, table: str | None) -> None:
    """Verify MONTH's archives, then load their rows into a query table for an investigation."""
    settings = load_settings()
    # Creating the query table is DDL: the migrations login's, not the archiver's (docs/security.md).
    result = archival.rehydrate_month(settings.database_url_for("migrations"), store_from(settings), keyring_from(settings), month,
                                      into=table)
    click.echo(result.summary())


@command.command()
def purge() -> None:
    """Delete archives past the AUDIT_LOGS policy's deleteAfterDays where Object Lock allows."""
    settings = load_settings()
    result = archival.purge_expired(settings.database_url_for("archival"), store_from(settings), keyring_from(settings))
    for key in result.purged:
        click.echo(f"purged {key}")
    for key, until in result.locked:
        click.echo(f"kept {key}: retained until {until:%Y-%m-%d}")
    for problem in result.skipped:
        click.echo(f"skipped {problem}", err=True)
    click.echo(result.summary())
