"""`sync_history`: one row per sync of a connection — counts, bytes, duration and errors.

A sync spans three stages (export, ingest, normalise) which may run in separate Dagster steps; the
row is opened by the export stage, counts are added by ingestion, and the normalise stage (or the
first failure) closes it. `duration` is in milliseconds.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg


def open_sync(conn: psycopg.Connection, connection_id: str, sync_type: str) -> str:
    sync_id = str(uuid.uuid4())
    conn.execute("""INSERT INTO sync_history (id, connection_id, status, sync_type, started_at)
                    VALUES (%s, %s, 'SYNCING', %s, now())""", (sync_id, connection_id, sync_type))
    return sync_id


def open_sync_of(conn: psycopg.Connection, connection_id: str) -> str | None:
    row = conn.execute("""SELECT id FROM sync_history WHERE connection_id = %s AND status = 'SYNCING'
                          ORDER BY started_at DESC LIMIT 1""", (connection_id,)).fetchone()
    return row[0] if row else None


def add_counts(conn: psycopg.Connection, sync_id: str, *, queried: int = 0, created: int = 0,
               updated: int = 0, skipped: int = 0, failed: int = 0, documents: int = 0, size: int = 0,
               details: dict[str, Any] | None = None) -> None:
    conn.execute(
        """UPDATE sync_history SET resources_queried = resources_queried + %s,
                  resources_created = resources_created + %s, resources_updated = resources_updated + %s,
                  resources_skipped = resources_skipped + %s, resources_failed = resources_failed + %s,
                  documents_downloaded = documents_downloaded + %s,
                  total_bytes_downloaded = total_bytes_downloaded + %s,
                  error_details = COALESCE(%s, error_details) WHERE id = %s""",
        (queried, created, updated, skipped, failed, documents, size,
         json.dumps(details) if details is not None else None, sync_id))


def set_error_message(conn: psycopg.Connection, sync_id: str, message: str) -> None:
    """Say what went wrong in a sync that goes on (an incomplete export); closing it keeps the message."""
    conn.execute("UPDATE sync_history SET error_message = %s WHERE id = %s", (message[:1000], sync_id))


def merge_details(conn: psycopg.Connection, sync_id: str, key: str, value: dict[str, Any]) -> None:
    """Set one key of `error_details`, keeping what other stages recorded there."""
    conn.execute("""UPDATE sync_history SET error_details = (COALESCE(error_details, '{}')::jsonb
                                                             || jsonb_build_object(%s::text, %s::jsonb))::text
                    WHERE id = %s""", (key, json.dumps(value), sync_id))


def finish_sync(conn: psycopg.Connection, sync_id: str, status: str, *, error_message: str | None = None,
                metadata: dict[str, Any] | None = None) -> None:
    conn.execute(
        """UPDATE sync_history SET status = %s::"SyncStatus", completed_at = now(),
                  error_message = COALESCE(%s, error_message),
                  duration = (extract(epoch FROM now() - started_at) * 1000)::integer,
                  metadata = COALESCE(%s, metadata) WHERE id = %s""",
        (status, error_message, json.dumps(metadata) if metadata is not None else None, sync_id))


def recent_syncs(conn: psycopg.Connection, connection_id: str, limit: int = 5) -> list[tuple]:
    return conn.execute(
        """SELECT started_at, status::text, sync_type, resources_queried, resources_created,
                  resources_updated, resources_skipped, resources_failed, total_bytes_downloaded, duration,
                  error_message
           FROM sync_history WHERE connection_id = %s ORDER BY started_at DESC NULLS LAST LIMIT %s""",
        (connection_id, limit)).fetchall()


def latest_quarantine(conn: psycopg.Connection, connection_id: str) -> list[dict[str, Any]]:
    """Quarantined lines (file, line, type, id, reason) recorded by the connection's latest sync with any."""
    row = conn.execute("""SELECT error_details FROM sync_history WHERE connection_id = %s
                          AND resources_failed > 0 ORDER BY started_at DESC LIMIT 1""",
                       (connection_id,)).fetchone()
    return json.loads(row[0]).get("quarantined", []) if row and row[0] else []


def latest_attachments(conn: psycopg.Connection, connection_id: str) -> dict[str, Any]:
    """What the connection's latest sync that looked at attachments recorded of them (counts, reasons)."""
    row = conn.execute("""SELECT error_details FROM sync_history WHERE connection_id = %s
                          AND strpos(coalesce(error_details, ''), '"attachments"') > 0
                          ORDER BY started_at DESC LIMIT 1""", (connection_id,)).fetchone()
    return json.loads(row[0]).get("attachments", {}) if row and row[0] else {}
