"""A FHIR Bulk Data Access (IG 2.0) client: SMART Backend Services auth, kick-off, polling, downloads.

Plain Python with no database and no Dagster: `hv_pipelines.core.fhir_ingest` drives it and records
its progress in `bulk_export_jobs`.
"""

from hv_pipelines.core.bulkdata.auth import BackendServicesAuth, OpenAccess, SigningKey
from hv_pipelines.core.bulkdata.client import BulkDataClient, ExportLevel, ExportRequest
from hv_pipelines.core.bulkdata.errors import (
    AuthorizationError,
    BulkDataError,
    ExportFailed,
    OutputExpired,
    ServerUnavailable,
)
from hv_pipelines.core.bulkdata.manifest import Manifest, OutputFile
from hv_pipelines.core.bulkdata.profiles import PROFILES, ProviderProfile, profile_for
from hv_pipelines.core.bulkdata.retry import Backoff

__all__ = [
    "PROFILES", "AuthorizationError", "BackendServicesAuth", "Backoff", "BulkDataClient", "BulkDataError",
    "ExportFailed", "ExportLevel", "ExportRequest", "Manifest", "OpenAccess", "OutputExpired", "OutputFile",
    "ProviderProfile", "ServerUnavailable", "SigningKey", "profile_for",
]
