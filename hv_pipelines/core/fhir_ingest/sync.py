"""A sync of one EHR connection in four stages, each resumable and runnable on its own.

1. `export_stage`: resume the connection's unfinished export, or kick off a new one (incremental from
   the types' watermarks unless `full`, see `watermarks`), poll it to completion, save the manifest.
2. `ingest_stage`: download and ingest the manifest's files (see `ingest`), replacing the export with
   a fresh one when the server let its files expire; record what the export delivered, which is what
   moves the watermarks (an export whose server failed some types is COMPLETED_WITH_ERRORS).
3. `attachment_stage`: fetch the attachments of new and changed DocumentReferences and
   DiagnosticReports into the encrypted object store (see `attachments`); failures are counted, retried
   next sync, and never fail the sync.
4. `normalise_stage`: map the patient's new and changed resources into the customer repository, then
   close the sync (`sync_history`) and schedule the next one (`ehr_connections.next_sync_at`).

Dagster runs them as three assets (attachments within `fhir_resources`); `hv ehr sync` runs `run_sync`.
A per-connection advisory lock keeps two syncs of one connection from interleaving. A failure marks the sync FAILED with a message
saying what to do and keeps the export for the next run to resume (unless the server itself failed or
expired it); an authorization failure also puts the connection in ERROR.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import write_audit_entry
from hv_pipelines.core.bulkdata import (
    AuthorizationError,
    BulkDataClient,
    ExportFailed,
    ExportRequest,
    OutputExpired,
    profile_for,
)
from hv_pipelines.core.bulkdata.retry import DEFAULT_WAIT_CAP
from hv_pipelines.core.errors import ConfigurationError, HVError
from hv_pipelines.core.fhir_ingest import connections, export_jobs, sync_history, watermarks
from hv_pipelines.core.fhir_ingest.attachments import AttachmentCounts, AttachmentPolicy, fetch_attachments
from hv_pipelines.core.fhir_ingest.connections import EHRConnection
from hv_pipelines.core.fhir_ingest.ingest import ExportContext, IngestCounts, ingest_export
from hv_pipelines.core.fhir_ingest.normalise import NormaliseCounts, normalise_connection
from hv_pipelines.core.fhir_ingest.watermarks import Delivery
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

MAX_REEXPORTS = 2  # fresh kick-offs after expired files, per sync


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    types: tuple[str, ...] | None = None
    type_filters: tuple[str, ...] = ()
    download_workers: int | None = None  # default: the provider profile's
    wait_cap: float = DEFAULT_WAIT_CAP  # the longest single wait on the EHR, whatever its Retry-After says
    progress: Callable[[str], None] = field(default=lambda _message: None, compare=False)


@dataclass
class ExportOutcome:
    job_id: str | None
    resumed: bool = False
    files_by_type: dict[str, int] = field(default_factory=dict)
    error_files: int = 0
    transaction_time: str | None = None
    duration: float = 0.0


@dataclass
class IngestOutcome:
    job_id: str | None
    counts: IngestCounts = field(default_factory=IngestCounts)
    reexports: int = 0
    delivery: Delivery | None = None  # None: no export was ingested by this stage
    next_step: str | None = None  # what the next sync does about types this export did not deliver
    duration: float = 0.0

    @property
    def complete(self) -> bool:
        return self.delivery is None or self.delivery.complete


@dataclass
class NormaliseOutcome:
    counts: NormaliseCounts
    sync_id: str | None
    duration: float = 0.0


ClientFactory = Callable[[EHRConnection], BulkDataClient]


@contextmanager
def _client_for(connection: EHRConnection, keyring: Keyring, client_factory: ClientFactory | None,
                shared: BulkDataClient | None, options: SyncOptions) -> Iterator[BulkDataClient]:
    """The caller's client (kept open, its token cache reused) or a new one closed afterwards."""
    if shared is not None:
        yield shared
        return
    client = (client_factory
              or (lambda c: connections.build_client(c, keyring, wait_cap=options.wait_cap)))(connection)
    try:
        yield client
    finally:
        client.close()


@contextmanager
def connection_lock(db_url: str, connection_id: str) -> Iterator[None]:
    """Hold a session-level advisory lock on the connection for the duration of a stage."""
    key = f"hv-ehr-sync:{connection_id}"
    with db.connect(db_url, autocommit=True) as conn:
        if not conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)).fetchone()[0]:
            raise HVError(f"another sync of EHR connection {connection_id} is running: wait for it to finish")
        try:
            yield
        finally:
            # Unlock explicitly: a closed session's locks are released by its backend asynchronously,
            # after the next stage may already be asking for the lock.
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def _fail(db_url: str, connection_id: str, exc: BaseException, *, job_id: str | None = None) -> None:
    """Record a failure on the open sync (and the connection, for authorization errors).

    The export itself stays open — the next run resumes it — unless the server declared it failed
    (ExportFailed) or let it expire beyond the re-export budget (OutputExpired).
    """
    if isinstance(exc, HVError):
        message = str(exc)
    elif isinstance(exc, KeyboardInterrupt):
        message = "interrupted: rerun the sync to resume the saved export"
    else:
        message = f"internal error ({type(exc).__name__}): see the run logs; rerun the sync to resume"
    # Bookkeeping must not mask the error being reported: if the database is what failed, give up here.
    with suppress(psycopg.Error), db.connect(db_url) as conn:
        sync_id = sync_history.open_sync_of(conn, connection_id)
        if sync_id:
            sync_history.finish_sync(conn, sync_id, "FAILED", error_message=message[:1000])
        if job_id and isinstance(exc, ExportFailed | OutputExpired):
            status = "EXPIRED" if isinstance(exc, OutputExpired) else "FAILED"
            export_jobs.finish_job(conn, job_id, status, error_message=message[:1000])
        if isinstance(exc, AuthorizationError):
            connections.mark_error(conn, connection_id, message)


def _ensure_open_sync(conn: psycopg.Connection, job: export_jobs.ExportJob) -> export_jobs.ExportJob:
    """A resumed export whose sync row was closed by the failed attempt continues under a new sync row."""
    if job.sync_id and job.sync_id == sync_history.open_sync_of(conn, job.connection_id):
        return job
    sync_id = sync_history.open_sync(conn, job.connection_id, "resumed")
    export_jobs.set_sync(conn, job.id, sync_id)
    return export_jobs.load_job(conn, job.id)


def _types_of(connection: EHRConnection, options: SyncOptions) -> tuple[str, ...]:
    return tuple(options.types or connection.settings.types or profile_for(connection.provider).default_types)


@dataclass(frozen=True)
class NextExport:
    """What the next incremental sync of a connection asks for: its types, their watermarks, `_since`."""

    types: tuple[str, ...]
    marks: dict[str, datetime]
    since: datetime | None


def next_export(conn: psycopg.Connection, connection: EHRConnection) -> NextExport:
    types = _types_of(connection, SyncOptions())
    marks = watermarks.type_watermarks(conn, connection.id, types)
    return NextExport(types, marks, watermarks.since_for(marks, types))


def _kick_off(conn: psycopg.Connection, connection: EHRConnection, client: BulkDataClient, *,
              types: tuple[str, ...], since: datetime | None, type_filters: tuple[str, ...],
              sync_id: str) -> export_jobs.ExportJob:
    profile = profile_for(connection.provider)
    if type_filters and not profile.supports_type_filter:
        raise ConfigurationError(f"{profile.display_name} does not support _typeFilter: sync without it and "
                                 "filter afterwards")
    request = ExportRequest(connection.export_level, connection.settings.group_id, types, since, type_filters)
    status_url = client.kick_off(request)
    return export_jobs.create_job(conn, connection_id=connection.id, level=connection.export_level.value,
                                  kickoff_url=f"{client.base_url}/{request.path}", status_url=status_url,
                                  types=types, since=since, sync_id=sync_id, type_filters=type_filters)


def _poll_to_manifest(db_url: str, client: BulkDataClient, job: export_jobs.ExportJob,
                      options: SyncOptions) -> export_jobs.ExportJob:
    manifest = client.poll(job.status_url or "", on_progress=lambda p: options.progress(f"export {p}"))
    with db.connect(db_url) as conn:
        export_jobs.record_manifest(conn, job.id, manifest)
        return export_jobs.load_job(conn, job.id)


def export_stage(db_url: str, connection_id: str, keyring: Keyring, options: SyncOptions = SyncOptions(), *,
                 client_factory: ClientFactory | None = None,
                 client: BulkDataClient | None = None) -> ExportOutcome:
    started = time.monotonic()
    with connection_lock(db_url, connection_id):
        with db.connect(db_url) as conn:
            connection = connections.load_connection(conn, connection_id)
            job = export_jobs.open_job(conn, connection_id)
            if job is not None:
                job = _ensure_open_sync(conn, job)
        outcome = ExportOutcome(job_id=job.id if job else None, resumed=job is not None)
        try:
            with _client_for(connection, keyring, client_factory, client, options) as bulk:
                job = _export(db_url, connection, bulk, job, options, outcome)
        except BaseException as exc:
            _fail(db_url, connection_id, exc, job_id=outcome.job_id)
            raise
    manifest = job.manifest
    if manifest is not None:
        for output in manifest.output:
            outcome.files_by_type[output.type] = outcome.files_by_type.get(output.type, 0) + 1
        outcome.error_files = len(manifest.error)
        outcome.transaction_time = manifest.transaction_time.isoformat()
    outcome.duration = time.monotonic() - started
    return outcome


def _export(db_url: str, connection: EHRConnection, client: BulkDataClient, job: export_jobs.ExportJob | None,
            options: SyncOptions, outcome: ExportOutcome) -> export_jobs.ExportJob:
    """Kick off (unless resuming) and poll until the manifest is saved; return the job."""
    if job is None:
        types = _types_of(connection, options)
        with db.connect(db_url) as conn:
            since = None if options.full else watermarks.incremental_since(conn, connection.id, types)
            sync_id = sync_history.open_sync(conn, connection.id, "full" if since is None else "incremental")
        with db.connect(db_url) as conn:  # the status URL is saved before polling: a kill resumes it
            job = _kick_off(conn, connection, client, types=types, since=since,
                            type_filters=options.type_filters, sync_id=sync_id)
        outcome.job_id = job.id
    if job.status == "INITIATED":
        try:
            job = _poll_to_manifest(db_url, client, job, options)
        except OutputExpired:
            job = _replace_expired(db_url, connection, client, job, options)
            outcome.job_id = job.id
    return job


def _replace_expired(db_url: str, connection: EHRConnection, client: BulkDataClient,
                     job: export_jobs.ExportJob, options: SyncOptions) -> export_jobs.ExportJob:
    """Mark `job` EXPIRED and kick off the same export again (same types and `_since`)."""
    options.progress("export files expired: kicking off a fresh export")
    with db.connect(db_url) as conn:
        export_jobs.finish_job(conn, job.id, "EXPIRED", error_message="the server expired the export's URLs; "
                               "replaced by a fresh export")
    with db.connect(db_url) as conn:
        fresh = _kick_off(conn, connection, client, types=job.resource_types, since=job.since,
                          type_filters=job.type_filters, sync_id=job.sync_id or "")
    return _poll_to_manifest(db_url, client, fresh, options)


def ingest_stage(db_url: str, connection_id: str, keyring: Keyring, options: SyncOptions = SyncOptions(), *,
                 pool: Executor | None = None, client_factory: ClientFactory | None = None,
                 client: BulkDataClient | None = None) -> IngestOutcome:
    started = time.monotonic()
    with connection_lock(db_url, connection_id):
        with db.connect(db_url) as conn:
            connection = connections.load_connection(conn, connection_id)
            job = export_jobs.open_job(conn, connection_id)
            if job is None or job.status != "IN_PROGRESS":
                return IngestOutcome(job_id=job.id if job else None)
            job = _ensure_open_sync(conn, job)
        outcome = IngestOutcome(job_id=job.id)
        workers = options.download_workers or profile_for(connection.provider).max_parallel_downloads
        try:
            with _client_for(connection, keyring, client_factory, client, options) as bulk:
                while True:
                    ctx = ExportContext(db_url, job.id, job.sync_id or "", connection.id, connection.user_id,
                                        bulk, bool(job.manifest and job.manifest.requires_access_token), pool,
                                        options.progress, job.resource_types)
                    try:
                        outcome.counts = ingest_export(ctx, job, download_workers=workers)
                        break
                    except OutputExpired:
                        if outcome.reexports >= MAX_REEXPORTS:
                            raise
                        outcome.reexports += 1
                        job = _replace_expired(db_url, connection, bulk, job, options)
                        outcome.job_id = job.id
            with db.connect(db_url) as conn:
                outcome.delivery, outcome.next_step = _finish_export(conn, job, outcome.counts)
        except BaseException as exc:
            _fail(db_url, connection_id, exc, job_id=outcome.job_id)
            raise
    outcome.duration = time.monotonic() - started
    return outcome


def _finish_export(conn: psycopg.Connection, job: export_jobs.ExportJob,
                   counts: IngestCounts) -> tuple[Delivery, str | None]:
    """Close the export with what it delivered; for an incomplete one, say what the next sync does."""
    job = export_jobs.load_job(conn, job.id, for_update=True)
    delivery = watermarks.assess(job.manifest, job.files_done, job.resource_types, job.type_filters)
    next_step = None
    if not delivery.complete:
        retry_since = watermarks.incremental_since(conn, job.connection_id, delivery.failed)
        next_step = watermarks.next_step(delivery, retry_since)
    issues = dict(counts.server_issues)
    details = {"quarantined": counts.rejects[:500], "quarantinedTotal": counts.failed, "serverIssues": issues,
               "delivery": delivery.as_json()}
    export_jobs.record_delivery(conn, job.id, delivery.as_json())
    export_jobs.finish_job(conn, job.id, "COMPLETED", error_message=next_step,
                           error_details=details if counts.failed or issues or next_step else None)
    if job.sync_id and (counts.failed or issues or next_step):
        sync_history.add_counts(conn, job.sync_id, details=details)
    if job.sync_id and next_step:
        sync_history.set_error_message(conn, job.sync_id, next_step)
    write_audit_entry(conn, action="EHR_BULK_EXPORT_INGESTED", resource="bulk_export_jobs",
                      resource_id=job.id,
                      details={"connectionId": job.connection_id, "files": counts.files,
                               "created": counts.created, "updated": counts.updated,
                               "skipped": counts.skipped, "failed": counts.failed, "deleted": counts.deleted,
                               "bytes": counts.bytes, "outcome": delivery.outcome,
                               "typesNotDelivered": list(delivery.failed)})
    return delivery, next_step


def attachment_stage(db_url: str, connection_id: str, keyring: Keyring, store: ObjectStore | None,
                     options: SyncOptions = SyncOptions(), *, policy: AttachmentPolicy = AttachmentPolicy(),
                     client_factory: ClientFactory | None = None,
                     client: BulkDataClient | None = None) -> AttachmentCounts:
    """Fetch pending attachments; without an object store they wait (still pending) for a sync that has one."""
    if store is None:
        return AttachmentCounts(store_configured=False)
    with connection_lock(db_url, connection_id):
        try:
            with db.connect(db_url) as conn:
                connection = connections.load_connection(conn, connection_id)
            with _client_for(connection, keyring, client_factory, client, options) as bulk:
                counts = fetch_attachments(db_url, connection_id=connection_id, user_id=connection.user_id,
                                           client=bulk, keyring=keyring, store=store, policy=policy,
                                           progress=options.progress)
            with db.connect(db_url) as conn:
                sync_id = sync_history.open_sync_of(conn, connection_id)
                if sync_id:
                    sync_history.add_counts(conn, sync_id, documents=counts.stored)
                    if counts.resources:
                        sync_history.merge_details(conn, sync_id, "attachments", counts.as_details())
        except BaseException as exc:
            _fail(db_url, connection_id, exc)
            raise
    return counts


def normalise_stage(db_url: str, connection_id: str, keyring: Keyring, *,
                    now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> NormaliseOutcome:
    started = time.monotonic()
    with connection_lock(db_url, connection_id):
        try:
            with db.connect(db_url) as conn:
                connection = connections.load_connection(conn, connection_id)
                delivery = export_jobs.latest_delivery(conn, connection_id) or {}
                counts = normalise_connection(conn, keyring, connection,
                                              patient_failed="Patient" in (delivery.get("failed") or ()))
                sync_id = sync_history.open_sync_of(conn, connection_id)
                if sync_id:
                    sync_history.finish_sync(conn, sync_id, "COMPLETED", metadata=_normalise_metadata(counts))
                connections.mark_synced(conn, connection, now().replace(tzinfo=None))
                write_audit_entry(conn, action="EHR_RECORDS_NORMALISED", resource="ehr_connections",
                                  resource_id=connection_id, details=_normalise_metadata(counts))
        except BaseException as exc:
            _fail(db_url, connection_id, exc)
            raise
    return NormaliseOutcome(counts, sync_id, time.monotonic() - started)


def _normalise_metadata(counts: NormaliseCounts) -> dict[str, Any]:
    return {"patientResources": counts.patient_resources,
            "otherPatientResources": counts.other_patient_resources,
            "unmapped": counts.unmapped, "patientResolved": counts.patient_resolved,
            "repositoryCreated": counts.repository_created, "waitingForPatient": counts.waiting_for_patient,
            "inserted": dict(counts.inserted),
            "updated": dict(counts.updated), "removed": dict(counts.removed)}


@dataclass
class SyncOutcome:
    export: ExportOutcome
    ingest: IngestOutcome
    normalise: NormaliseOutcome
    attachments: AttachmentCounts = field(default_factory=AttachmentCounts)

    @property
    def complete(self) -> bool:
        """False when the export was ingested but the server did not deliver every type."""
        return self.ingest.complete


def run_sync(db_url: str, connection_id: str, keyring: Keyring, options: SyncOptions = SyncOptions(), *,
             pool: Executor | None = None, client_factory: ClientFactory | None = None,
             store: ObjectStore | None = None, policy: AttachmentPolicy = AttachmentPolicy()) -> SyncOutcome:
    """All four stages, as `hv ehr sync` runs them, sharing one client (and its cached token)."""
    with db.connect(db_url) as conn:
        connection = connections.load_connection(conn, connection_id)
    with _client_for(connection, keyring, client_factory, None, options) as client:
        exported = export_stage(db_url, connection_id, keyring, options, client=client)
        ingested = ingest_stage(db_url, connection_id, keyring, options, pool=pool, client=client)
        attached = attachment_stage(db_url, connection_id, keyring, store, options, policy=policy, client=client)
    return SyncOutcome(exported, ingested, normalise_stage(db_url, connection_id, keyring), attached)


def cancel_export(db_url: str, connection_id: str, keyring: Keyring, *,
                  client_factory: ClientFactory | None = None) -> str | None:
    """Cancel the connection's unfinished export at the server (DELETE) and here; return its id."""
    with db.connect(db_url) as conn:
        connection = connections.load_connection(conn, connection_id)
        job = export_jobs.open_job(conn, connection_id)
    if job is None:
        return None
    if job.status_url:
        with _client_for(connection, keyring, client_factory, None, SyncOptions()) as client:
            client.cancel(job.status_url)
    with db.connect(db_url) as conn:
        export_jobs.finish_job(conn, job.id, "CANCELLED", error_message="cancelled by an operator")
        if job.sync_id and job.sync_id == sync_history.open_sync_of(conn, connection_id):
            sync_history.finish_sync(conn, job.sync_id, "CANCELLED", error_message="cancelled by an operator")
    return job.id
