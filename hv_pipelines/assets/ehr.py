"""Group `ehr`: one partition per EHR connection; export → FHIR resources → the customer's records.

Each asset runs one stage of `core.fhir_ingest.sync` and reports what an operator checks: files and
resources by type, bytes, rejects, durations. State between the stages lives in the database
(`bulk_export_jobs`), so each step can run in its own process or pod and a failed run resumes.
"""

import dagster as dg

from hv_pipelines.assets import compute
from hv_pipelines.core.fhir_ingest import (
    SyncOptions,
    attachment_stage,
    export_stage,
    ingest_stage,
    normalise_stage,
)
from hv_pipelines.core.fhir_ingest.sync import IngestOutcome
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource
from hv_pipelines.resources.ehr import EHRIngestResource

OWNERS = ["team:data-platform"]
ehr_connection_partitions = dg.DynamicPartitionsDefinition(name="ehr_connections")


class EHRSyncConfig(dg.Config):
    full: bool = False
    types: list[str] | None = None


def _options(config: EHRSyncConfig, ehr: EHRIngestResource, log) -> SyncOptions:
    return SyncOptions(full=config.full, types=tuple(config.types) if config.types else None,
                       download_workers=ehr.download_workers, wait_cap=ehr.wait_cap_seconds, progress=log.info)


@dg.asset(
    group_name="ehr", partitions_def=ehr_connection_partitions, deps=["database_schema"], owners=OWNERS,
    kinds={"fhir", "postgres"}, pool="ehr_bulk_data",
    description="The connection's FHIR Bulk Data export: kicked off (incremental from the previous export's "
    "transactionTime) or resumed, polled to completion, manifest saved in bulk_export_jobs.",
)
def ehr_bulk_exports(context: dg.AssetExecutionContext, config: EHRSyncConfig, db: Database,
                     keys: KeyringResource, ehr: EHRIngestResource) -> dg.MaterializeResult:
    outcome = export_stage(db.url_for("ehr"), context.partition_key, keys.keyring(), _options(config, ehr, context.log))
    return dg.MaterializeResult(metadata={
        "export_job_id": outcome.job_id or "", "resumed": outcome.resumed,
        "files": sum(outcome.files_by_type.values()),
        "files_by_type": dg.MetadataValue.json(outcome.files_by_type), "error_files": outcome.error_files,
        "transaction_time": outcome.transaction_time or "", "duration_seconds": round(outcome.duration, 2),
    })


@dg.asset(
    group_name="ehr", partitions_def=ehr_connection_partitions, deps=[ehr_bulk_exports], owners=OWNERS,
    kinds={"fhir", "postgres"}, pool="ehr_bulk_data", op_tags=compute.EHR_INGEST,
    description="The export's NDJSON files streamed, validated against FHIR R4 in a process pool, and merged "
    "into fhir_resources (COPY + one merge per file); deletions applied, bad lines quarantined; then the "
    "attachments of DocumentReferences and DiagnosticReports fetched into the encrypted object store.",
    check_specs=[dg.AssetCheckSpec(
        "export_complete", asset="fhir_resources",
        description="The server delivered every requested type: no fatal/error OperationOutcome in error[] "
        "and no output file short of its count. A type not delivered keeps its _since watermark back and "
        "is asked again by the next sync.")],
)
def fhir_resources(context: dg.AssetExecutionContext, config: EHRSyncConfig, db: Database,
                   keys: KeyringResource, ehr: EHRIngestResource,
                   object_store: ObjectStoreResource) -> dg.MaterializeResult:
    options = _options(config, ehr, context.log)
    with ehr.validation_pool() as pool:
        outcome = ingest_stage(db.url_for("ehr"), context.partition_key, keys.keyring(), options, pool=pool)
    attachments = attachment_stage(db.url_for("ehr"), context.partition_key, keys.keyring(), object_store.open(),
                                   options, policy=ehr.attachment_policy())
    counts = outcome.counts
    if counts.failed:
        context.log.warning(f"{counts.failed} resources quarantined: see sync_history.error_details")
    if not outcome.complete:
        context.log.warning(outcome.next_step)
    if attachments.failed:
        context.log.warning(f"{attachments.failed} attachments failed: they are tried again next sync")
    return dg.MaterializeResult(metadata={
        "export_job_id": outcome.job_id or "", "files": counts.files, "resumed_files": counts.resumed_files,
        "resources_by_type": dg.MetadataValue.json(dict(counts.by_type)), "resources_read": counts.lines,
        "created": counts.created, "updated": counts.updated, "skipped_unchanged": counts.skipped,
        "rejected": counts.failed, "deleted": counts.deleted, "bytes_downloaded": counts.bytes,
        "server_issues": dg.MetadataValue.json(dict(counts.server_issues)), "re_exports": outcome.reexports,
        "duration_seconds": round(outcome.duration, 2), **_delivery_metadata(outcome),
        "attachments_stored": attachments.stored, "attachments_deduplicated": attachments.deduplicated,
        "attachments_skipped": attachments.skipped, "attachments_failed": attachments.failed,
        "attachment_bytes": attachments.bytes,
        "attachment_skip_reasons": dg.MetadataValue.json(dict(attachments.skip_reasons)),
    }, check_results=[_export_complete(outcome)])


def _delivery_metadata(outcome: IngestOutcome) -> dict[str, object]:
    delivery = outcome.delivery
    if delivery is None:
        return {}
    return {"export_complete": delivery.complete,
            "types_not_delivered": dg.MetadataValue.json(list(delivery.failed)),
            "types_delivered": dg.MetadataValue.json(list(delivery.delivered)),
            "error_files": dg.MetadataValue.json(list(delivery.error_files + delivery.short_files))}


def _export_complete(outcome: IngestOutcome) -> dg.AssetCheckResult:
    if outcome.complete:
        note = "every requested type delivered" if outcome.delivery else "no export was ingested by this run"
        return dg.AssetCheckResult(check_name="export_complete", passed=True, description=note)
    delivery = outcome.delivery
    return dg.AssetCheckResult(
        check_name="export_complete", passed=False, severity=dg.AssetCheckSeverity.WARN,
        description=outcome.next_step,
        metadata={"export_job_id": outcome.job_id or "",
                  "types_not_delivered": dg.MetadataValue.json(list(delivery.failed)),
                  "error_files": dg.MetadataValue.json(list(delivery.error_files + delivery.short_files))})


@dg.asset(
    group_name="ehr", partitions_def=ehr_connection_partitions, deps=[fhir_resources], owners=OWNERS,
    kinds={"postgres"},
    description="The connected user's resources normalised into the customer repository (diagnoses, "
    "medications, allergies, immunizations, procedures, vital signs, family history); the sync is closed "
    "and the next one scheduled.",
)
def customer_clinical_records(context: dg.AssetExecutionContext, db: Database,
                              keys: KeyringResource) -> dg.MaterializeResult:
    outcome = normalise_stage(db.url_for("ehr"), context.partition_key, keys.keyring())
    counts = outcome.counts
    if not counts.patient_resolved:
        context.log.warning("the connection names no patient and its exports hold several: set "
                            "ehr_connections.customer_id to normalise this user's records")
    return dg.MaterializeResult(metadata={
        "patient_resources": counts.patient_resources,
        "other_patient_resources": counts.other_patient_resources,
        "unmapped_resources": counts.unmapped, "repository_created": counts.repository_created,
        "waiting_for_patient": counts.waiting_for_patient,
        "rows_inserted": sum(counts.inserted.values()), "rows_updated": sum(counts.updated.values()),
        "rows_removed": sum(counts.removed.values()),
        "inserted_by_table": dg.MetadataValue.json(dict(counts.inserted)),
        "duration_seconds": round(outcome.duration, 2),
    })


ehr_assets = [ehr_bulk_exports, fhir_resources, customer_clinical_records]
