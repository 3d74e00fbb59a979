"""The pipeline's own entries in `audit_logs`.

Every operation the pipeline performs on PHI-bearing tables (backups, archival, ingestion, seed) is
recorded as the application records a user's actions, so a HIPAA reviewer reads one trail.
`audit_logs.user_id` is a required foreign key to `users`: the entries point at the system service
account that the seed data defines; if it is missing (a database not seeded yet) it is created here
with the same identity, so an audit entry is never dropped.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import psycopg

SYSTEM_USER_EMAIL = "system@holovitals.local"
SYSTEM_USER_ROLE = "SYSTEM"
# Not a bcrypt/argon2 hash of anything: no password can ever match it, so the account cannot log in.
UNUSABLE_PASSWORD_HASH = "!unusable:service-account"


def system_user_id(conn: psycopg.Connection) -> str:
    """The id of the system service account, created when the database has none yet."""
    row = conn.execute("SELECT id FROM users WHERE email = %s", (SYSTEM_USER_EMAIL,)).fetchone()
    if row:
        return row[0]
    new_id = str(uuid.uuid4())
    row = conn.execute(
        """
        INSERT INTO users (id, email, password_hash, role, updated_at)
        VALUES (%s, %s, %s, %s, now())
        ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
        RETURNING id
        """,
        (new_id, SYSTEM_USER_EMAIL, UNUSABLE_PASSWORD_HASH, SYSTEM_USER_ROLE),
    ).fetchone()
    return row[0]


def write_audit_entry(
    conn: psycopg.Connection,
    *,
    action: str,
    resource: str,
    resource_id: str = "-",
    details: Mapping[str, Any] | None = None,
    severity: str = "INFO",
) -> str:
    """Insert one audit entry in the caller's transaction and return its id.

    `details` must hold counts, ids and paths only — never PHI or secrets; it is stored as JSON text.
    """
    entry_id = str(uuid.uuid4())
    conn.execute(
        """
        INSERT INTO audit_logs (id, user_id, action, resource, resource_id, details, severity,
                                user_agent)
        VALUES (%s, %s, %s, %s, %s, %s, %s, 'hv_pipelines')
        """,
        (entry_id, system_user_id(conn), action, resource, resource_id,
         json.dumps(dict(details or {}), sort_keys=True, default=str), severity),
    )
    return entry_id
