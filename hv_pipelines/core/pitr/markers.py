"""Markers a PITR drill writes and then looks for in the recovered cluster.

A marker is a row in the pipeline's own schema (`hv_pipelines.pitr_markers`, outside the
application's `public` schema, created on first use like the terminology history): an id and the
time it was committed. No PHI. Two markers a few seconds apart, a restore to a time between them:
the first must be there and the second must not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hv_pipelines.core import db

DDL = """
CREATE SCHEMA IF NOT EXISTS hv_pipelines;
CREATE TABLE IF NOT EXISTS hv_pipelines.pitr_markers (
    id         text PRIMARY KEY,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


def write_marker(database_url: str) -> tuple[str, datetime]:
    """Commit one marker; return its id and a time at which it is certainly committed."""
    marker = f"pitr-{uuid.uuid4().hex[:12]}"
    with db.connect(database_url) as conn:
        if conn.execute("SELECT to_regclass('hv_pipelines.pitr_markers')").fetchone()[0] is None:
            conn.execute(DDL)
        conn.execute("INSERT INTO hv_pipelines.pitr_markers (id) VALUES (%s)", (marker,))
    return marker, datetime.now(UTC)


def present(database_url: str, markers: list[str]) -> set[str]:
    with db.connect(database_url) as conn:
        if conn.execute("SELECT to_regclass('hv_pipelines.pitr_markers')").fetchone()[0] is None:
            return set()
        rows = conn.execute("SELECT id FROM hv_pipelines.pitr_markers WHERE id = ANY(%s)", (markers,)).fetchall()
    return {row[0] for row in rows}


def switch_wal(database_url: str) -> str:
    """Close the current segment so it is archived now, not at archive_timeout; return its name."""
    with db.connect(database_url, autocommit=True) as conn:
        return conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
