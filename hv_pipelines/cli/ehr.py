"""`hv ehr`: connect EHRs and run FHIR Bulk Data syncs outside Dagster (cron, break-glass, first load).

`connect` creates the `ehr_connections` row (a private key given as a file is sealed with ENCRYPTION_KEY
and never printed); `sync` runs export → ingest → attachments → normalise with a progress display;
`status` shows recent exports and syncs; `cancel` stops an unfinished export at the EHR; `attachment get`
decrypts one stored attachment for an operator (audited). Same core calls as the assets.
"""

from __future__ import annotations

from pathlib import Path

import click

from hv_pipelines.cli.common import keyring_from, store_from
from hv_pipelines.cli.standardize import summary as standardized_summary
from hv_pipelines.core import db
from hv_pipelines.core.bulkdata import ExportLevel
from hv_pipelines.core.bulkdata.retry import DEFAULT_WAIT_CAP
from hv_pipelines.core.fhir_ingest import SyncOptions, cancel_export, run_sync, start_validation_pool
from hv_pipelines.core.fhir_ingest import connections as ehr_connections
from hv_pipelines.core.fhir_ingest.attachments import DEFAULT_MAX_BYTES, AttachmentCounts, AttachmentPolicy
from hv_pipelines.core.fhir_ingest.document_export import decrypt_attachment
from hv_pipelines.core.fhir_ingest.document_rows import pending_ids
from hv_pipelines.core.fhir_ingest.export_jobs import latest_delivery, recent_jobs
from hv_pipelines.core.fhir_ingest.sync import NextExport, SyncOutcome, next_export
from hv_pipelines.core.fhir_ingest.sync_history import latest_attachments, latest_quarantine, recent_syncs
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.standardize import standardize_stage
from hv_pipelines.core.units import human_size

EXIT_INCOMPLETE = 3  # `hv ehr sync`: ingested, but the server did not deliver every type (README)
PROVIDERS = ("EPIC", "CERNER", "ATHENAHEALTH", "ECLINICALWORKS", "ALLSCRIPTS", "NEXTGEN", "MEDITECH",
             "PRACTICE_FUSION", "GREENWAY", "OTHER")


@click.group(name="ehr")
def command() -> None:
    """Connect EHRs and run FHIR bulk-data syncs."""


@command.command()
@click.option("--provider", required=True, type=click.Choice(PROVIDERS, case_sensitive=False))
@click.option("--base-url", required=True, help="The EHR's FHIR R4 base URL.")
@click.option("--user", "user_email", required=True, help="Email of the HoloVitals user the records are of.")
@click.option("--client-id", help="Backend-services client id registered at the EHR (none: an open server).")
@click.option("--private-key", "private_key_file",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM private key (RSA: RS384, EC P-384: ES384), stored sealed in the database.")
@click.option("--private-key-env", help="Or: read the PEM key from this environment variable at sync time.")
@click.option("--private-key-path", help="Or: read the PEM key from this file path at sync time.")
@click.option("--group-id", help="Group to export (Group-level export, e.g. Epic).")
@click.option("--export-level", type=click.Choice([level.value for level in ExportLevel]),
              help="Default: the provider profile's preferred level.")
@click.option("--customer-id", help="The user's patient id at the EHR (default: the export's only Patient).")
@click.option("--kid", help="Key id (JWT `kid`) registered with the EHR, if it requires one.")
@click.option("--sync-frequency", default=24, show_default=True, type=click.IntRange(1, 24 * 90),
              help="Hours between automatic syncs.")
def connect(provider: str, base_url: str, user_email: str, client_id: str | None,
            private_key_file: Path | None, private_key_env: str | None, private_key_path: str | None,
            group_id: str | None, export_level: str | None, customer_id: str | None, kid: str | None,
            sync_frequency: int) -> None:
    """Create an EHR connection for a HoloVitals user."""
    settings = load_settings()
    url = settings.database_url_for("ehr")
    with db.connect(url) as conn:
        connection_id = ehr_connections.create_connection(
            conn, keyring_from(settings), user_email=user_email, provider=provider, base_url=base_url,
            client_id=client_id, private_key_pem=private_key_file.read_bytes() if private_key_file else None,
            private_key_env=private_key_env, private_key_file=private_key_path, group_id=group_id,
            export_level=export_level, kid=kid, customer_id=customer_id, sync_frequency=sync_frequency)
        connection = ehr_connections.load_connection(conn, connection_id)
    if private_key_file:
        auth = "backend services, key sealed in the database"
    elif private_key_env or private_key_path:
        source = f"${private_key_env}" if private_key_env else private_key_path
        auth = f"backend services, key read from {source}"
    else:
        auth = "open server, no authorization"
    click.echo(f"connection {connection_id}: {connection.provider} {connection.fhir_base_url}, "
               f"{connection.export_level.value}-level export, {auth}")
    click.echo(f"run `hv ehr sync {connection_id}` for the first sync (or let the ehr_connections_due "
               "sensor start it)")


@command.command()
@click.argument("connection_id")
@click.option("--full", is_flag=True, help="Export everything, not only what changed since the last export.")
@click.option("--types", help="Comma-separated FHIR resource types (default: the connection's / provider's).")
@click.option("--type-filter", "type_filters", multiple=True,
              help="A `_typeFilter` query such as 'Observation?category=vital-signs' (if the server has it).")
@click.option("--download-workers", type=click.IntRange(1, 32), help="Files downloaded in parallel.")
@click.option("--validation-workers", type=click.IntRange(0, 256),
              help="Validation processes (default: one per core; 0 validates in this process).")
@click.option("--attachment-max-mb", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_MAX_BYTES / 1e6, show_default=True,
              help="Largest attachment stored (MB); larger ones are skipped with a reason.")
@click.option("--attachment-private-hosts", is_flag=True,
              help="Also fetch attachments from foreign hosts on private, loopback or link-local addresses.")
@click.option("--wait-cap", type=click.FloatRange(1, 3600), default=DEFAULT_WAIT_CAP, show_default=True,
              help="Longest single wait (seconds) on the EHR, whatever its Retry-After says.")
@click.pass_context
def sync(ctx: click.Context, connection_id: str, full: bool, types: str | None, type_filters: tuple[str, ...],
         download_workers: int | None, validation_workers: int | None, attachment_max_mb: float,
         attachment_private_hosts: bool, wait_cap: float) -> None:
    """Sync one connection now: export (or resume the saved one), ingest, attachments, normalise.

    Attachments go to HV_OBJECT_STORE_URL, encrypted; without it they are fetched by a later sync.
    Exit status 0 when the export was complete, 3 when it was ingested but the server did not deliver
    every type (those are asked again by the next sync), 1 on an error.
    """
    settings = load_settings()
    url = settings.database_url_for("ehr")
    type_list = tuple(t.strip() for t in types.split(",") if t.strip()) if types else None
    options = SyncOptions(full=full, types=type_list, type_filters=type_filters,
                          download_workers=download_workers, wait_cap=wait_cap,
                          progress=lambda message: click.echo(f"  {message}"))
    click.echo(f"syncing {connection_id} ({'full' if full else 'incremental when possible'})")
    pool = start_validation_pool(validation_workers)
    try:
        outcome = run_sync(url, connection_id, keyring_from(settings), options, pool=pool,
                           store=store_from(settings) if settings.object_store_url else None,
                           policy=AttachmentPolicy(max_bytes=int(attachment_max_mb * 1e6),
                                                   private_hosts=attachment_private_hosts))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    click.echo(_summary(outcome))
    click.echo(standardized_summary(standardize_stage(url, connection_id)))
    if outcome.ingest.counts.failed:
        click.echo(f"{outcome.ingest.counts.failed} resources quarantined: `hv ehr status {connection_id}` "
                   "lists them", err=True)
    if not outcome.complete:
        click.echo(f"{outcome.ingest.next_step}; `hv ehr status {connection_id}` shows the watermarks",
                   err=True)
        ctx.exit(EXIT_INCOMPLETE)


def _summary(outcome: SyncOutcome) -> str:
    export, counts, normalised = outcome.export, outcome.ingest.counts, outcome.normalise.counts
    lines = [f"export {export.job_id}{' (resumed)' if export.resumed else ''}: "
             f"{sum(export.files_by_type.values())} files, transactionTime {export.transaction_time}",
             f"ingested {counts.files} files ({counts.resumed_files} from an earlier run), "
             f"{human_size(counts.bytes)}: {counts.created} created, {counts.updated} updated, "
             f"{counts.skipped} unchanged, {counts.deleted} deleted, {counts.failed} quarantined",
             "by type: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.by_type.items()))]
    delivery = outcome.ingest.delivery
    if delivery is not None and not delivery.complete:
        lines.append(f"INCOMPLETE: not delivered {', '.join(delivery.failed)}; delivered "
                     f"{', '.join(delivery.delivered) or 'nothing'}")
    lines.append(_attachment_summary(outcome.attachments))
    if normalised.waiting_for_patient:
        lines.append("customer records: not written yet — the server did not deliver the user's Patient; the "
                     "next sync asks it again and writes them")
    elif normalised.patient_resolved:
        lines.append(f"customer records: {sum(normalised.inserted.values())} inserted, "
                     f"{sum(normalised.updated.values())} updated, {sum(normalised.removed.values())} "
                     f"removed ({normalised.other_patient_resources} resources of other patients stay in "
                     "fhir_resources)")
    else:
        lines.append("customer records: not written — the connection names no patient and the export holds "
                     "several; set ehr_connections.customer_id to the user's patient id")
    return "\n".join(lines)


def _attachment_summary(counts: AttachmentCounts) -> str:
    if not counts.store_configured:
        return "attachments: not fetched (HV_OBJECT_STORE_URL is not set); a sync with a store fetches them"
    line = (f"attachments: {counts.stored} stored ({counts.deduplicated} already held), "
            f"{human_size(counts.bytes)}, {counts.skipped} skipped, {counts.failed} failed")
    if counts.skip_reasons:
        line += " — skipped: " + "; ".join(f"{reason} ×{n}" for reason, n in counts.skip_reasons.most_common())
    if counts.failed:
        line += " — failed ones are tried again next sync"
    return line


@command.command()
@click.argument("connection_id", required=False)
def status(connection_id: str | None) -> None:
    """Connections, or one connection's recent exports and syncs with their counts and errors."""
    url = load_settings().database_url_for("ehr")
    with db.connect(url) as conn:
        if connection_id is None:
            for c in ehr_connections.list_connections(conn):
                missed = (latest_delivery(conn, c.id) or {}).get("failed")
                note = f"  last export incomplete: {', '.join(missed)} asked again" if missed else ""
                click.echo(f"{c.id}  {c.provider:<15} {c.status:<8} last {c.last_sync_at or '-'}  "
                           f"next {c.next_sync_at or '-'}  auto={'on' if c.auto_sync else 'off'}{note}")
            return
        connection = ehr_connections.load_connection(conn, connection_id)
        jobs = recent_jobs(conn, connection_id)
        syncs = recent_syncs(conn, connection_id)
        quarantined = latest_quarantine(conn, connection_id)
        upcoming = next_export(conn, connection)
        pending_attachments = len(pending_ids(conn, connection_id))
        attachments = latest_attachments(conn, connection_id)
    error = f"  error: {connection.error_message}" if connection.error_message else ""
    click.echo(f"{connection.id}  {connection.provider}  {connection.fhir_base_url}  "
               f"{connection.status}{error}")
    click.echo("exports:")
    for job_id, state, kind, started, resources, size, message in jobs:
        click.echo(f"  {started:%Y-%m-%d %H:%M}  {state:<11} {kind:<8} {resources:>8} resources "
                   f"{human_size(size):>9}  {job_id}" + (f"  {message}" if message else ""))
    click.echo("syncs:")
    for started, state, kind, queried, created, updated, skipped, failed, size, duration, message in syncs:
        click.echo(f"  {started:%Y-%m-%d %H:%M}  {state:<9} {kind:<11} read {queried} created {created} "
                   f"updated {updated} unchanged {skipped} failed {failed} {human_size(size)} "
                   f"{(duration or 0) / 1000:.1f}s" + (f"  {message}" if message else ""))
    for item in quarantined[:20]:
        click.echo(f"  quarantined {item['file']}:{item['line']} {item.get('type') or '?'}/"
                   f"{item.get('id') or '?'}: {item['reason']}")
    click.echo(_attachment_status(pending_attachments, attachments))
    click.echo(_watermarks(upcoming))


def _attachment_status(pending: int, latest: dict) -> str:
    """Resources whose attachments are not stored yet, and why the latest pass left them."""
    lines = [f"attachments: {pending} resources not downloaded yet (the next sync looks at them again)"]
    for reason, count in (latest.get("skipReasons") or {}).items():
        lines.append(f"  skipped {count}: {reason}")
    for failure in (latest.get("failures") or [])[:20]:
        lines.append(f"  failed {failure['resource']} attachment {failure['attachment']}: {failure['reason']}")
    return "\n".join(lines)


def _watermarks(upcoming: NextExport) -> str:
    """Each type's watermark and the `_since` the next incremental sync asks with."""
    since = upcoming.since.isoformat() if upcoming.since else "none (everything)"
    lines = [f"watermarks (next incremental sync asks _since {since}):"]
    for rtype in upcoming.types:
        mark = upcoming.marks.get(rtype)
        lines.append(f"  {rtype:<20} {mark.isoformat() if mark else 'never delivered: asked in full'}")
    return "\n".join(lines)


@command.command()
@click.argument("connection_id")
def cancel(connection_id: str) -> None:
    """Cancel the connection's unfinished export at the EHR (DELETE on its status URL)."""
    settings = load_settings()
    job_id = cancel_export(settings.database_url_for("ehr"), connection_id, keyring_from(settings))
    click.echo(f"cancelled export {job_id}" if job_id else "no unfinished export to cancel")


@command.group()
def attachment() -> None:
    """Stored EHR attachments (encrypted in the object store)."""


@attachment.command(name="get")
@click.argument("resource_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write the decrypted attachment to (must not exist).")
@click.option("--attachment", "index", default=0, show_default=True, type=click.IntRange(0),
              help="Which attachment of the resource (its position in content[] / presentedForm[]).")
def attachment_get(resource_id: str, out: Path, index: int) -> None:
    """Decrypt RESOURCE_ID's attachment (a fhir_resources id) into --out; audited."""
    settings = load_settings()
    document = decrypt_attachment(settings.database_url_for("ehr"), store_from(settings), keyring_from(settings),
                                  resource_id, out, index=index)
    click.echo(f"wrote {document.path}: {human_size(document.size)} {document.content_type or ''}, "
               f"sha256 {document.sha256} (verified, audited)")
