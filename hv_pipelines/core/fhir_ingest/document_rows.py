"""Every database write of attachment ingestion, in one place: `secure_files`, `documents`, the
`fhir_resources` document columns and the audit trail (the grants an ingest role needs are these).

- `secure_files`: one row per stored file and owner — `fileHash` the plaintext SHA-256, `storagePath`
  the object key, `encrypted` with the envelope's public parameters in `encryptionMetadata`
  (`uploadedBy` the connection's user; `category` `ehr-document`). Owners of the same content share
  one object in the store.
- `documents`: one row per attachment (its id derived from the resource and the attachment's
  position, so a re-run updates it), `file_path` the object key, `status` `pending` for the
  platform's document processing (OCR, analysis) to pick up.
- `fhir_resources`: `document_downloaded`, `local_file_path` (the first attachment's object key,
  never a local path), `content_type`, `content_size` — set when no attachment of the resource
  failed and at least one was stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from hv_pipelines.core.audit_trail import write_audit_entry
from hv_pipelines.core.fhir_ingest.resource_types import record_id
from hv_pipelines.schema.base import new_cuid

if TYPE_CHECKING:
    from hv_pipelines.core.fhir_ingest.attachments import Attachment
    from hv_pipelines.core.fhir_ingest.document_store import StoredDocument

CATEGORY = "ehr-document"
BUCKETS = {"DOCUMENT_REFERENCE": "DocumentReference", "DIAGNOSTIC_REPORT": "DiagnosticReport"}


@dataclass(frozen=True)
class PendingResource:
    id: str
    fhir_type: str
    fhir_id: str
    raw_data: str
    title: str | None
    date: datetime | None


def pending_ids(conn: psycopg.Connection, connection_id: str) -> list[str]:
    """The connection's resources with attachments not downloaded yet (new, changed, or failed before)."""
    return [row[0] for row in conn.execute(
        """SELECT id FROM fhir_resources WHERE connection_id = %s AND NOT document_downloaded
             AND (resource_type = 'DOCUMENT_REFERENCE'
                  OR (resource_type = 'DIAGNOSTIC_REPORT' AND strpos(raw_data, '"presentedForm"') > 0))
           ORDER BY id""", (connection_id,)).fetchall()]


def load_pending(conn: psycopg.Connection, resource_id: str) -> PendingResource | None:
    row = conn.execute("""SELECT id, resource_type::text, fhir_id, raw_data, title, date FROM fhir_resources
                          WHERE id = %s AND NOT document_downloaded""", (resource_id,)).fetchone()
    if row is None:
        return None
    return PendingResource(row[0], BUCKETS[row[1]], row[2], row[3], row[4], row[5])


def stored_key_of(conn: psycopg.Connection, sha256: str) -> str | None:
    row = conn.execute("""SELECT "storagePath" FROM secure_files WHERE "fileHash" = %s AND NOT deleted
                            AND category = %s ORDER BY "createdAt" LIMIT 1""", (sha256, CATEGORY)).fetchone()
    return row[0] if row else None


def _customer_of(conn: psycopg.Connection, user_id: str) -> str | None:
    """The user's `customers` row, when there is exactly one to attach documents to."""
    found = conn.execute("SELECT id FROM customers WHERE user_id = %s LIMIT 2", (user_id,)).fetchall()
    return found[0][0] if len(found) == 1 else None


def file_name(resource: PendingResource, attachment: Attachment) -> str:
    title = (attachment.title or "").replace("/", "_").replace("\\", "_").strip()
    return title[:200] or f"{resource.fhir_type}-{resource.fhir_id}-{attachment.index}"


def document_id(connection_id: str, resource: PendingResource, attachment: Attachment) -> str:
    return record_id(connection_id, resource.fhir_type, f"{resource.fhir_id}#attachment-{attachment.index}")


def record_stored(conn: psycopg.Connection, *, connection_id: str, user_id: str, resource: PendingResource,
                  stored: Sequence[tuple[Attachment, StoredDocument]], complete: bool) -> None:
    """Write the rows of the resource's stored attachments, in the caller's transaction; when `complete`
    (nothing failed), mark the resource downloaded with its first stored attachment."""
    customer_id = _customer_of(conn, user_id)
    for attachment, document in stored:
        name = file_name(resource, attachment)
        _upsert_secure_file(conn, user_id, customer_id, name, document)
        conn.execute(
            """INSERT INTO documents (id, user_id, customer_id, file_path, file_name, file_size, mime_type,
                                      document_type, document_date, status, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', now())
               ON CONFLICT (id) DO UPDATE SET file_path = EXCLUDED.file_path, file_name = EXCLUDED.file_name,
                   file_size = EXCLUDED.file_size, mime_type = EXCLUDED.mime_type,
                   document_type = EXCLUDED.document_type, document_date = EXCLUDED.document_date,
                   status = CASE WHEN documents.file_path = EXCLUDED.file_path THEN documents.status
                                 ELSE 'pending' END,
                   updated_at = now()
               WHERE (documents.file_path, documents.file_name, documents.document_date)
                     IS DISTINCT FROM (EXCLUDED.file_path, EXCLUDED.file_name, EXCLUDED.document_date)""",
            (document_id(connection_id, resource, attachment), user_id, customer_id, document.key, name,
             document.size, document.content_type, resource.title or resource.fhir_type, resource.date))
        write_audit_entry(conn, action="EHR_ATTACHMENT_STORED", resource="fhir_resources",
                          resource_id=resource.id,
                          details={"attachment": attachment.index, "bytes": document.size,
                                   "sha256": document.sha256, "objectKey": document.key,
                                   "deduplicated": document.deduplicated})
    if complete and stored:
        first = stored[0][1]
        conn.execute("""UPDATE fhir_resources SET document_downloaded = true, local_file_path = %s,
                               content_size = %s, content_type = %s, updated_at = now() WHERE id = %s""",
                     (first.key, first.size, first.content_type, resource.id))


def _upsert_secure_file(conn: psycopg.Connection, user_id: str, customer_id: str | None, name: str,
                        document: StoredDocument) -> None:
    existing = conn.execute("""SELECT id FROM secure_files WHERE "uploadedBy" = %s AND "fileHash" = %s
                                 AND "storagePath" = %s AND NOT deleted""",
                            (user_id, document.sha256, document.key)).fetchone()
    if existing:
        return
    conn.execute(
        """INSERT INTO secure_files (id, "fileName", "fileType", "fileSize", "fileHash", category, tags,
                                     encrypted, "encryptionMetadata", "storagePath", "uploadedBy",
                                     "customerId", "updatedAt")
           VALUES (%s, %s, %s, %s, %s, %s, %s, true, %s, %s, %s, %s, now())""",
        (new_cuid(), name, document.content_type or "application/octet-stream", document.size,
         document.sha256, CATEGORY, ["ehr"], json.dumps(document.envelope), document.key, user_id,
         customer_id))


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int
    content_type: str | None
    secure_file_id: str


def stored_file(conn: psycopg.Connection, resource_id: str, index: int = 0) -> StoredFile | None:
    """The stored file of attachment `index` of fhir_resources row `resource_id` (through its
    `documents` row), with the hash and size `secure_files` recorded for it."""
    found = conn.execute("""SELECT fr.connection_id, fr.resource_type::text, fr.fhir_id, c.user_id
                            FROM fhir_resources fr JOIN ehr_connections c ON c.id = fr.connection_id
                            WHERE fr.id = %s AND fr.resource_type::text = ANY(%s)""",
                         (resource_id, list(BUCKETS))).fetchone()
    if found is None:
        return None
    connection_id, bucket, fhir_id, user_id = found
    document = record_id(connection_id, BUCKETS[bucket], f"{fhir_id}#attachment-{index}")
    row = conn.execute(
        """SELECT sf."storagePath", sf."fileHash", sf."fileSize", d.mime_type, sf.id
           FROM documents d JOIN secure_files sf ON sf."storagePath" = d.file_path AND sf."uploadedBy" = %s
                                                 AND NOT sf.deleted
           WHERE d.id = %s ORDER BY sf."createdAt" LIMIT 1""", (user_id, document)).fetchone()
    return StoredFile(*row) if row else None


def record_access(conn: psycopg.Connection, secure_file_id: str, details: dict[str, Any], *,
                  error: str | None = None) -> None:
    """An operator decrypted the file (or tried to, `error` saying what failed): count a success on the
    row, and audit who, what and how much either way."""
    if error is None:
        conn.execute("""UPDATE secure_files SET "accessCount" = "accessCount" + 1, "lastAccessedAt" = now(),
                        "updatedAt" = now() WHERE id = %s""", (secure_file_id,))
    write_audit_entry(conn, action="EHR_ATTACHMENT_DECRYPT_FAILED" if error else "EHR_ATTACHMENT_DECRYPTED",
                      resource="fhir_resources", resource_id=str(details.get("resourceId", "-")),
                      details={**details, **({"error": error} if error else {})},
                      severity="ERROR" if error else "WARNING")
