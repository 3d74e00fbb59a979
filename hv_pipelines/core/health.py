"""Database health from PostgreSQL's own statistics: the weekly report and the quarterly slow-query review.

Everything here reads catalog and statistics views only (`pg_stat_user_tables`, `pg_stat_activity`,
`pg_locks`, `pg_stat_statements`); nothing is written. Query texts can hold patient data in their
literals, so a session is described by its command word and query id, never by its text, and a
statement from `pg_stat_statements` is shown only in its normalised form (constants replaced by `$n`)
— a text that still holds a quoted literal is cut to its command words.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.settings import mask_url

APPLICATION_NAME = "hv_pipelines.health"
STATEMENT_TEXT_LIMIT = 200


class DatabaseUnavailable(HVError):
    """The health check could not reach the database at all."""


@dataclass(frozen=True)
class HealthThresholds:
    """Where the weekly report starts warning; the defaults suit an OLTP database like HoloVitals'."""

    long_query_seconds: float = 300.0
    idle_in_transaction_seconds: float = 60.0
    dead_tuple_ratio: float = 0.2
    dead_tuple_min: int = 10_000
    connection_utilization: float = 0.8


@dataclass(frozen=True)
class TableStat:
    """One table's size (None while another session holds it exclusively) and tuple statistics."""

    name: str
    total_bytes: int | None
    table_bytes: int | None
    index_bytes: int | None
    live_rows: int
    dead_rows: int
    seq_scans: int
    index_scans: int
    last_autovacuum: datetime | None

    @property
    def dead_ratio(self) -> float:
        rows = self.live_rows + self.dead_rows
        return self.dead_rows / rows if rows else 0.0


@dataclass(frozen=True)
class Session:
    """A backend that has been busy (or idle inside a transaction) for a long time."""

    pid: int
    state: str
    seconds: float
    command: str
    query_id: int | None
    wait_event: str | None
    application: str


@dataclass(frozen=True)
class BlockedSession:
    pid: int
    blocked_by: tuple[int, ...]
    seconds: float
    lock_type: str | None
    relation: str | None


@dataclass(frozen=True)
class Statement:
    query_id: int
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    text: str


@dataclass(frozen=True)
class StatementStats:
    """Top statements, or why there are none (extension not installed, or not preloaded)."""

    statements: list[Statement]
    unavailable_reason: str | None = None


@dataclass
class DatabaseHealth:
    database: str
    server_version: str
    connect_ms: float
    database_bytes: int
    connections: int
    max_connections: int
    tables: list[TableStat]
    long_running: list[Session]
    blocked: list[BlockedSession]
    statements: StatementStats
    thresholds: HealthThresholds = field(default_factory=HealthThresholds)

    @property
    def connection_utilization(self) -> float:
        return self.connections / self.max_connections if self.max_connections else 0.0

    def bloated_tables(self) -> list[TableStat]:
        """Tables whose dead tuples exceed both the ratio and the absolute floor of the thresholds."""
        th = self.thresholds
        return [t for t in self.tables if t.dead_rows >= th.dead_tuple_min and t.dead_ratio >= th.dead_tuple_ratio]


@dataclass
class SlowQueryReview:
    statements: StatementStats
    seq_scan_heavy: list[TableStat]
    unused_indexes: list[tuple[str, str, int]]  # (table, index, bytes)
    stats_reset: datetime | None


_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
_LITERAL = re.compile(r"'|\$\$|\$[A-Za-z_][A-Za-z0-9_]*\$")


def command_words(text: str, words: int = 2) -> str:
    """The leading keywords of a statement (`SELECT`, `ALTER ROLE`): enough to say what it is, no data."""
    tokens = re.findall(r"[A-Za-z_]+", _COMMENTS.sub(" ", text or ""))
    keywords = [t.upper() for t in tokens[:words]]
    return " ".join(keywords) or "(empty)"


def safe_statement_text(text: str) -> str:
    """A normalised statement for display: comments dropped, whitespace collapsed, length capped.

    `pg_stat_statements` replaces the constants of plannable statements with `$n`, but keeps utility
    statements (`ALTER ROLE ... PASSWORD '...'`, `COPY`, `SET`) verbatim: any text still holding a
    quoted literal is reduced to its command words.
    """
    flat = " ".join(_COMMENTS.sub(" ", text or "").split())
    if _LITERAL.search(flat):
        return f"{command_words(flat)} … (literal withheld)"
    return flat if len(flat) <= STATEMENT_TEXT_LIMIT else flat[: STATEMENT_TEXT_LIMIT - 1] + "…"


_TABLES = """
WITH locked AS (
    SELECT relation FROM pg_locks
    WHERE mode = 'AccessExclusiveLock' AND granted AND relation IS NOT NULL AND pid <> pg_backend_pid()
)
SELECT relname,
       CASE WHEN l.locked THEN NULL ELSE pg_total_relation_size(s.relid) END,
       CASE WHEN l.locked THEN NULL ELSE pg_relation_size(s.relid) END,
       CASE WHEN l.locked THEN NULL ELSE pg_indexes_size(s.relid) END,
       n_live_tup, n_dead_tup, COALESCE(seq_scan, 0), COALESCE(idx_scan, 0), last_autovacuum
FROM pg_stat_user_tables s
CROSS JOIN LATERAL (SELECT s.relid IN (SELECT relation FROM locked) AS locked) l
WHERE schemaname = current_schema()
ORDER BY 2 DESC NULLS LAST, relname
"""


def _tables(conn: psycopg.Connection) -> list[TableStat]:
    """Sizes and tuple statistics of every table. Measuring a size takes a share lock, so a table
    another session holds exclusively (a migration, VACUUM FULL) is listed without sizes instead of
    making the health check wait behind the very lock it should report."""
    try:
        rows = conn.execute(_TABLES).fetchall()
    except psycopg.errors.LockNotAvailable:
        # A table was locked between reading pg_locks and measuring it: read the locks again.
        rows = conn.execute(_TABLES).fetchall()
    return [TableStat(*row) for row in rows]


def _long_running(conn: psycopg.Connection, th: HealthThresholds) -> list[Session]:
    rows = conn.execute(
        """
        SELECT pid, state,
               EXTRACT(EPOCH FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END),
               query, query_id, wait_event_type || ':' || wait_event, COALESCE(application_name, '')
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          AND ((state = 'active' AND now() - query_start > make_interval(secs => %s))
            OR (state LIKE 'idle in transaction%%' AND now() - state_change > make_interval(secs => %s)))
        ORDER BY 3 DESC
        """,
        (th.long_query_seconds, th.idle_in_transaction_seconds),
    ).fetchall()
    return [Session(pid, state, float(secs), command_words(query), query_id, wait, app)
            for pid, state, secs, query, query_id, wait, app in rows]


def _blocked(conn: psycopg.Connection) -> list[BlockedSession]:
    rows = conn.execute(
        """
        SELECT a.pid, pg_blocking_pids(a.pid), EXTRACT(EPOCH FROM now() - a.query_start), a.wait_event,
               (SELECT l.relation::regclass::text FROM pg_locks l
                WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1)
        FROM pg_stat_activity a
        WHERE a.datname = current_database() AND cardinality(pg_blocking_pids(a.pid)) > 0
        ORDER BY 3 DESC
        """
    ).fetchall()
    return [BlockedSession(pid, tuple(by), float(secs or 0), lock, rel) for pid, by, secs, lock, rel in rows]


def statement_stats(conn: psycopg.Connection, *, limit: int = 10, order_by: str = "total",
                    min_calls: int = 1) -> StatementStats:
    """Top statements of this database from `pg_stat_statements`, by total or mean execution time."""
    if conn.execute("SELECT to_regclass('pg_stat_statements')").fetchone()[0] is None:
        return StatementStats([], "pg_stat_statements is not installed: add it to shared_preload_libraries, "
                                  "restart PostgreSQL and run CREATE EXTENSION pg_stat_statements")
    order = "mean_exec_time" if order_by == "mean" else "total_exec_time"
    try:
        with conn.transaction():
            rows = conn.execute(
                f"""
                SELECT queryid, calls, total_exec_time, mean_exec_time, rows, query
                FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND calls >= %s
                ORDER BY {order} DESC LIMIT %s
                """,
                (min_calls, limit),
            ).fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return StatementStats([], "pg_stat_statements is installed but not loaded: add it to "
                                  "shared_preload_libraries and restart PostgreSQL")
    return StatementStats([Statement(qid, calls, float(total), float(mean), n, safe_statement_text(text))
                           for qid, calls, total, mean, n, text in rows])


def _connect_monitoring(url: str) -> tuple[psycopg.Connection, float]:
    started = time.perf_counter()
    try:
        conn = psycopg.connect(db.libpq_url(url), autocommit=True, application_name=APPLICATION_NAME,
                               connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to {mask_url(url)} ({type(exc).__name__}): check that the server is up, that "
            "DATABASE_URL points at it and that the credentials are current") from None
    conn.execute("SET statement_timeout = '60s'")
    conn.execute("SET lock_timeout = '5s'")
    return conn, (time.perf_counter() - started) * 1000


def collect_database_health(url: str, thresholds: HealthThresholds | None = None,
                            *, top_statements: int = 10) -> DatabaseHealth:
    """Connect (timing it) and gather the weekly health report of the database at `url`."""
    th = thresholds or HealthThresholds()
    conn, connect_ms = _connect_monitoring(url)
    with conn:
        name, version, size, connections, max_connections = conn.execute(
            """
            SELECT current_database(), current_setting('server_version'), pg_database_size(current_database()),
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
                   current_setting('max_connections')::int
            """
        ).fetchone()
        return DatabaseHealth(
            database=name, server_version=version, connect_ms=round(connect_ms, 1), database_bytes=size,
            connections=connections, max_connections=max_connections, tables=_tables(conn),
            long_running=_long_running(conn, th), blocked=_blocked(conn),
            statements=statement_stats(conn, limit=top_statements), thresholds=th,
        )


def review_slow_queries(url: str, *, limit: int = 20, min_calls: int = 10,
                        min_table_rows: int = 10_000) -> SlowQueryReview:
    """The quarterly review: slowest statements on average, tables read mostly by sequential scans,
    and indexes never used since statistics were last reset (candidates to drop, never dropped here)."""
    conn, _ = _connect_monitoring(url)
    with conn:
        seq_heavy = [t for t in _tables(conn) if t.live_rows >= min_table_rows and t.seq_scans > t.index_scans]
        unused = conn.execute(
            """
            SELECT s.relname, s.indexrelname, pg_relation_size(s.indexrelid)
            FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
            WHERE s.schemaname = current_schema() AND s.idx_scan = 0
              AND NOT i.indisunique AND NOT i.indisprimary
            ORDER BY 3 DESC, 1, 2
            """
        ).fetchall()
        stats_reset = conn.execute(
            "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]
        return SlowQueryReview(
            statements=statement_stats(conn, limit=limit, order_by="mean", min_calls=min_calls),
            seq_scan_heavy=sorted(seq_heavy, key=lambda t: t.seq_scans, reverse=True),
            unused_indexes=[(t, i, size) for t, i, size in unused], stats_reset=stats_reset,
        )
