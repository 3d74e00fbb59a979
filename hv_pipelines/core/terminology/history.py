"""Which release of each code system is loaded: one row per successful load, written in the load's
own transaction (so it can never disagree with the code tables).

The table lives in the pipeline's own PostgreSQL schema `hv_pipelines`, outside the application's
`public` schema that migrations and the drift check own. `lock_and_ensure` creates it on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

DDL = """
CREATE SCHEMA IF NOT EXISTS hv_pipelines;
CREATE TABLE IF NOT EXISTS hv_pipelines.terminology_releases (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system      text NOT NULL,
    version     text NOT NULL,
    files       jsonb NOT NULL,
    counts      jsonb NOT NULL,
    rows_staged integer NOT NULL,
    rejected    integer NOT NULL,
    rejects_key text,
    forced      boolean NOT NULL DEFAULT false,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS terminology_releases_system_idx
    ON hv_pipelines.terminology_releases (system, id DESC);
"""
# Every terminology load takes this transaction-scoped lock first: loads run one at a time, and
# the first one to create the history table cannot race another.
LOCK_KEY = 0x7465726D  # "term"


@dataclass(frozen=True)
class LoadedRelease:
    system: str
    version: str
    rows_staged: int
    loaded_at: datetime
    files: dict[str, str]
    counts: dict[str, object]


def lock_and_ensure(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
    # CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database: only run the DDL when missing.
    if conn.execute("SELECT to_regclass('hv_pipelines.terminology_releases')").fetchone()[0] is None:
        conn.execute(DDL)


def latest(conn: psycopg.Connection, system: str) -> LoadedRelease | None:
    return latest_per_system(conn).get(system)


def record(conn: psycopg.Connection, *, system: str, version: str, files: dict[str, str],
           counts: dict[str, object], rows_staged: int, rejected: int, rejects_key: str | None,
           forced: bool) -> None:
    conn.execute(
        "INSERT INTO hv_pipelines.terminology_releases "
        "(system, version, files, counts, rows_staged, rejected, rejects_key, forced) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (system, version, Jsonb(files), Jsonb(counts), rows_staged, rejected, rejects_key, forced))


def latest_per_system(conn: psycopg.Connection) -> dict[str, LoadedRelease]:
    """The most recent load of every code system that has one."""
    if conn.execute("SELECT to_regclass('hv_pipelines.terminology_releases')").fetchone()[0] is None:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (system) system, version, rows_staged, loaded_at, files, counts "
        "FROM hv_pipelines.terminology_releases ORDER BY system, id DESC").fetchall()
    return {row[0]: LoadedRelease(*row) for row in rows}
