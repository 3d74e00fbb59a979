"""`bulk_export_jobs`: one row per export, persisted at every step so a killed run resumes.

Status transitions: INITIATED (kicked off; the status URL is saved before polling starts) →
IN_PROGRESS (manifest received; files being downloaded and ingested) → COMPLETED (every file
ingested and deletions applied). EXPIRED when the server dropped the status or output URLs (a new
export replaces it), FAILED or CANCELLED otherwise. Per-file progress lives in `metadata.files`,
updated in the same transaction that merges the file, so "done" and "in the database" never disagree.
A COMPLETED export also records what it delivered (`metadata.delivery`, see `watermarks`): one whose
server failed some types reads COMPLETED_WITH_ERRORS in `hv ehr status` and advances only the others.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from hv_pipelines.core.bulkdata import Manifest
from hv_pipelines.core.bulkdata.errors import safe_url

OPEN_STATUSES = ("INITIATED", "IN_PROGRESS")
EXPORT_TYPE = {"patient": "CUSTOMER", "group": "GROUP", "system": "SYSTEM"}


@dataclass
class ExportJob:
    id: str
    connection_id: str
    status: str
    status_url: str | None
    since: datetime | None
    resource_types: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest(self) -> Manifest | None:
        raw = self.metadata.get("manifest")
        return Manifest.parse(raw) if raw else None

    @property
    def files_done(self) -> dict[str, dict[str, Any]]:
        return self.metadata.get("files", {})

    @property
    def sync_id(self) -> str | None:
        return self.metadata.get("syncHistoryId")

    @property
    def type_filters(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("typeFilters") or ())


def _job(row: tuple) -> ExportJob:
    job_id, connection_id, status, status_url, since, types, metadata = row
    return ExportJob(job_id, connection_id, status, status_url, since,
                     tuple(filter(None, (types or "").split(","))), json.loads(metadata or "{}"))


_SELECT = ("SELECT id, connection_id, status::text, status_url, since, resource_types, metadata "
           "FROM bulk_export_jobs")


def create_job(conn: psycopg.Connection, *, connection_id: str, level: str, kickoff_url: str, status_url: str,
               types: tuple[str, ...], since: datetime | None, sync_id: str,
               type_filters: tuple[str, ...] = ()) -> ExportJob:
    job_id = str(uuid.uuid4())
    metadata = {"syncHistoryId": sync_id, "files": {}, "typeFilters": list(type_filters)}
    conn.execute(
        """INSERT INTO bulk_export_jobs (id, connection_id, export_type, status, kickoff_url, status_url,
                                         resource_types, since, metadata)
           VALUES (%s, %s, %s::"BulkExportType", 'INITIATED', %s, %s, %s, %s, %s)""",
        (job_id, connection_id, EXPORT_TYPE[level], safe_url(kickoff_url), status_url, ",".join(types), since,
         json.dumps(metadata)))
    return ExportJob(job_id, connection_id, "INITIATED", status_url, since, types, metadata)


def open_job(conn: psycopg.Connection, connection_id: str) -> ExportJob | None:
    """The connection's unfinished export (kicked off or mid-ingestion), if a run left one."""
    row = conn.execute(f"{_SELECT} WHERE connection_id = %s AND status::text = ANY(%s) "
                       "ORDER BY started_at DESC LIMIT 1", (connection_id, list(OPEN_STATUSES))).fetchone()
    return _job(row) if row else None


def load_job(conn: psycopg.Connection, job_id: str, *, for_update: bool = False) -> ExportJob:
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(f"{_SELECT} WHERE id = %s{lock}", (job_id,)).fetchone()
    return _job(row)


def record_manifest(conn: psycopg.Connection, job_id: str, manifest: Manifest) -> None:
    job = load_job(conn, job_id, for_update=True)
    job.metadata["manifest"] = manifest.to_json()
    conn.execute(
        """UPDATE bulk_export_jobs SET status = 'IN_PROGRESS', output_urls = %s, metadata = %s
           WHERE id = %s""",
        (json.dumps([f.url for f in manifest.output]), json.dumps(job.metadata), job_id))


def set_sync(conn: psycopg.Connection, job_id: str, sync_id: str) -> None:
    job = load_job(conn, job_id, for_update=True)
    job.metadata["syncHistoryId"] = sync_id
    conn.execute("UPDATE bulk_export_jobs SET metadata = %s WHERE id = %s",
                 (json.dumps(job.metadata), job_id))


def mark_file_done(conn: psycopg.Connection, job_id: str, file_key: str, summary: dict[str, Any], *,
                   resources: int, size: int) -> None:
    """Record one file as ingested (call inside the transaction that merged it)."""
    job = load_job(conn, job_id, for_update=True)
    job.metadata.setdefault("files", {})[file_key] = summary
    conn.execute("""UPDATE bulk_export_jobs SET metadata = %s, resource_count = resource_count + %s,
                    total_size = total_size + %s WHERE id = %s""",
                 (json.dumps(job.metadata), resources, size, job_id))


def finish_job(conn: psycopg.Connection, job_id: str, status: str, *, error_message: str | None = None,
               error_details: Any = None) -> None:
    conn.execute(
        """UPDATE bulk_export_jobs SET status = %s::"BulkExportStatus", completed_at = now(),
                  error_message = %s, error_details = COALESCE(%s, error_details) WHERE id = %s""",
        (status, error_message, json.dumps(error_details) if error_details is not None else None, job_id))


def record_delivery(conn: psycopg.Connection, job_id: str, delivery: dict[str, Any]) -> None:
    job = load_job(conn, job_id, for_update=True)
    job.metadata["delivery"] = delivery
    conn.execute("UPDATE bulk_export_jobs SET metadata = %s WHERE id = %s", (json.dumps(job.metadata), job_id))


def latest_delivery(conn: psycopg.Connection, connection_id: str) -> dict[str, Any] | None:
    """What the connection's newest COMPLETED export delivered (None if it predates the assessment)."""
    row = conn.execute("""SELECT metadata::jsonb -> 'delivery' FROM bulk_export_jobs
                          WHERE connection_id = %s AND status = 'COMPLETED'
                          ORDER BY completed_at DESC LIMIT 1""", (connection_id,)).fetchone()
    return row[0] if row else None


def recent_jobs(conn: psycopg.Connection, connection_id: str, limit: int = 5) -> list[tuple]:
    return conn.execute(
        """SELECT id, COALESCE(metadata::jsonb -> 'delivery' ->> 'outcome', status::text), export_type::text,
                  started_at, resource_count, total_size, error_message
           FROM bulk_export_jobs WHERE connection_id = %s ORDER BY started_at DESC LIMIT %s""",
        (connection_id, limit)).fetchall()
