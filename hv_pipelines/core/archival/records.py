"""`audit_log_archives`: one row per archive part, the database's side of the archive.

A part counts as committed once its row exists: the row is inserted in the same transaction that
deletes the part's rows from `audit_logs`. `storagePath` is the object's full location
(`s3://bucket/prefix/audit-archive/...` or `file:///...`); the part key is recovered from its tail,
so the records stay valid if the store is mounted under another prefix.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

from hv_pipelines.core.archival.manifest import ArchiveManifest
from hv_pipelines.core.storage import ObjectStore

_PART_KEY = re.compile(r"audit-archive/\d{4}-\d{2}/\d{8}-[0-9a-f]{8}/part-\d{3}\.parquet\.hvenc$")


@dataclass(frozen=True)
class ArchiveRecord:
    id: str
    archive_date: datetime
    start_date: datetime
    end_date: datetime
    record_count: int
    storage_path: str
    file_size: int
    created_by: str

    @property
    def key(self) -> str | None:
        match = _PART_KEY.search(self.storage_path)
        return match[0] if match else None


def load_records(conn: psycopg.Connection) -> list[ArchiveRecord]:
    rows = conn.execute(
        """
        SELECT id, "archiveDate", "startDate", "endDate", "recordCount", "storagePath", "fileSize", "createdBy"
        FROM audit_log_archives ORDER BY "startDate", "storagePath"
        """
    ).fetchall()
    return [ArchiveRecord(*row) for row in rows]


def insert_records(conn: psycopg.Connection, store: ObjectStore, manifest: ArchiveManifest, created_by: str,
                   archive_date: datetime) -> None:
    """One row per part, in the caller's transaction (a handful of rows: not bulk data)."""
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO audit_log_archives (id, "archiveDate", "startDate", "endDate", "recordCount",
                                            "storagePath", "fileSize", compressed, encrypted, "createdBy")
            VALUES (%s, %s, %s, %s, %s, %s, %s, true, true, %s)
            """,
            [(str(uuid.uuid4()), archive_date, part.min_timestamp, part.max_timestamp, part.rows,
              store.location(part.key), part.bytes, created_by) for part in manifest.parts],
        )


def delete_records(conn: psycopg.Connection, record_ids: list[str]) -> int:
    return conn.execute("DELETE FROM audit_log_archives WHERE id = ANY(%s)", (record_ids,)).rowcount
