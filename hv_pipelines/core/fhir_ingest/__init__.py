"""EHR bulk-export ingestion: FHIR NDJSON → `fhir_resources` → the customer repository.

Drives `core.bulkdata` and records its progress in `bulk_export_jobs` and `sync_history`; see
`sync` for the three stages (export, ingest, normalise) and `docs/ehr.md` for the operator's view.
"""

from hv_pipelines.core.fhir_ingest.blocks import start_validation_pool
from hv_pipelines.core.fhir_ingest.sync import (
    SyncOptions,
    attachment_stage,
    cancel_export,
    export_stage,
    ingest_stage,
    normalise_stage,
    run_sync,
)

__all__ = ["SyncOptions", "attachment_stage", "cancel_export", "export_stage", "ingest_stage", "normalise_stage", "run_sync",
           "start_validation_pool"]
