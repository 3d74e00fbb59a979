"""Audit entries for backups and restores, in the audited database's own `audit_logs`.

An entry is written in its own short transaction after the operation it records, holding ids,
sizes and counts only. A database without the HoloVitals schema (no `audit_logs` yet) cannot hold
one: that is logged as a warning rather than failing a backup that itself succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import write_audit_entry

log = logging.getLogger(__name__)

RESOURCE = "database_backup"


def record(database_url: str, *, action: str, backup_id: str, details: Mapping[str, Any],
           severity: str = "INFO") -> str | None:
    """Write one audit entry; return its id, or None when the database has no `audit_logs` table."""
    with db.connect(database_url) as conn:
        if conn.execute("SELECT to_regclass('audit_logs')").fetchone()[0] is None:
            log.warning("database %s has no audit_logs table: %s of backup %s not audited",
                        db.database_name(database_url), action, backup_id)
            return None
        return write_audit_entry(conn, action=action, resource=RESOURCE, resource_id=backup_id,
                                 details=details, severity=severity)


def record_failure(database_url: str, *, action: str, backup_id: str, error: BaseException) -> None:
    """Best effort: a failed backup is audited when the database is reachable, never masking the error."""
    try:
        record(database_url, action=action, backup_id=backup_id, severity="ERROR",
               details={"error": type(error).__name__})
    except psycopg.Error:
        log.warning("could not audit the failure of backup %s: database unreachable", backup_id)
