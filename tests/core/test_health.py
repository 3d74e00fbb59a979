"""Database health and the slow-query review, read from a real PostgreSQL's statistics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
import pytest

from hv_pipelines.core import db, health

FAST = health.HealthThresholds(long_query_seconds=0.5, idle_in_transaction_seconds=0.5,
                               dead_tuple_ratio=0.5, dead_tuple_min=1000)
PATIENT_NAME = "Jane Q. Patient"


def _fill_notifications(url: str, rows: int, delete: int = 0) -> None:
    """Insert `rows` notifications (and delete `delete` of them), then close so the stats are flushed."""
    with db.connect(url) as conn:
        conn.execute("ALTER TABLE system_notifications SET (autovacuum_enabled = false)")
        conn.execute("INSERT INTO system_notifications (id, type, title, message, severity) "
                     "SELECT g::text, 'T', 't', 'm', 'low' FROM generate_series(1, %s) g", (rows,))
        if delete:
            conn.execute("DELETE FROM system_notifications WHERE id::int <= %s", (delete,))


def _wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


@contextmanager
def _in_background(url: str, statement: str) -> Iterator[None]:
    """Run `statement` on its own connection in a thread; cancel it when the block ends."""
    pids: list[int] = []

    def run() -> None:
        with psycopg.connect(db.libpq_url(url), autocommit=True) as conn:
            pids.append(conn.info.backend_pid)
            with suppress(psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable):
                conn.execute(statement)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        with db.connect(url, autocommit=True) as conn:
            for pid in pids:
                conn.execute("SELECT pg_cancel_backend(%s)", (pid,))
        thread.join(timeout=30)


def test_report_names_tables_by_size_with_row_counts(migrated_db: str) -> None:
    _fill_notifications(migrated_db, 5000)
    report = health.collect_database_health(migrated_db)

    assert report.tables[0].name == "system_notifications"
    top = report.tables[0]
    assert top.total_bytes >= top.table_bytes + top.index_bytes
    assert top.total_bytes > 500_000 and top.index_bytes > 0
    assert _wait_for(lambda: health.collect_database_health(migrated_db).tables[0].live_rows) == 5000
    assert len(report.tables) == 94  # the 93 HoloVitals tables and alembic_version
    assert report.server_version.startswith("16") and report.database_bytes > top.total_bytes
    assert 0 < report.connections <= report.max_connections and report.connect_ms > 0


def test_dead_tuples_above_the_thresholds_mark_a_table_bloated(migrated_db: str) -> None:
    _fill_notifications(migrated_db, 4000, delete=3000)
    report = _wait_for(lambda: (r := health.collect_database_health(migrated_db, FAST)).bloated_tables() and r)
    bloated = report.bloated_tables()
    assert [t.name for t in bloated] == ["system_notifications"]
    assert bloated[0].dead_rows == 3000 and bloated[0].dead_ratio == pytest.approx(0.75)

    lenient = health.HealthThresholds(dead_tuple_min=5000)
    report.thresholds = lenient
    assert report.bloated_tables() == []


def test_long_running_query_is_reported_without_its_text(migrated_db: str) -> None:
    with _in_background(migrated_db, f"SELECT pg_sleep(30), '{PATIENT_NAME}'"):
        report = _wait_for(lambda: (r := health.collect_database_health(migrated_db, FAST)).long_running and r)
    session = report.long_running[0]
    assert (session.state, session.command) == ("active", "SELECT PG_SLEEP")
    assert session.seconds >= 0.5 and session.wait_event == "Timeout:PgSleep"
    assert PATIENT_NAME not in repr(report)


def test_idle_in_transaction_is_reported(migrated_db: str) -> None:
    with psycopg.connect(db.libpq_url(migrated_db)) as idle:
        idle.execute("SELECT count(*) FROM users")
        time.sleep(0.8)
        report = health.collect_database_health(migrated_db, FAST)
        idle.rollback()
    assert [s.state for s in report.long_running] == ["idle in transaction"]


def test_blocked_session_names_its_blocker_and_the_table(migrated_db: str) -> None:
    with psycopg.connect(db.libpq_url(migrated_db)) as holder:
        holder.execute("LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE")
        holder_pid = holder.info.backend_pid
        with _in_background(migrated_db, "SET lock_timeout = '5s'; SELECT count(*) FROM audit_logs"):
            report = _wait_for(lambda: (r := health.collect_database_health(migrated_db)).blocked and r)
            holder.rollback()
    blocked = report.blocked[0]
    assert blocked.blocked_by == (holder_pid,)
    assert blocked.relation == "audit_logs" and blocked.lock_type == "relation"
    locked = next(t for t in report.tables if t.name == "audit_logs")
    assert locked.total_bytes is None, "a locked table is listed without sizes, not waited for"


def test_missing_pg_stat_statements_is_explained(migrated_db: str) -> None:
    report = health.collect_database_health(migrated_db)
    assert report.statements.statements == []
    assert "shared_preload_libraries" in report.statements.unavailable_reason


def _fake_pg_stat_statements(url: str) -> None:
    """A view with pg_stat_statements' columns, so the report's own query runs against real SQL."""
    with db.connect(url) as conn:
        conn.execute(
            """
            CREATE VIEW pg_stat_statements AS
            SELECT * FROM (VALUES
              (11::bigint, (SELECT oid FROM pg_database WHERE datname = current_database()), 500::bigint,
               9000.0::float8, 18.0::float8, 500::bigint,
               'SELECT * FROM users /* Jane */ WHERE email = $1'),
              (12::bigint, (SELECT oid FROM pg_database WHERE datname = current_database()), 20::bigint,
               8000.0::float8, 400.0::float8, 1::bigint, 'ALTER ROLE app PASSWORD ''hunter2'''),
              (13::bigint, 0::oid, 9::bigint, 99999.0::float8, 1.0::float8, 1::bigint, 'SELECT other_db')
            ) AS s(queryid, dbid, calls, total_exec_time, mean_exec_time, rows, query)
            """
        )


def test_top_statements_are_normalised_and_literals_withheld(migrated_db: str) -> None:
    _fake_pg_stat_statements(migrated_db)
    stats = health.collect_database_health(migrated_db).statements
    assert stats.unavailable_reason is None
    assert [(s.query_id, s.text) for s in stats.statements] == [
        (11, "SELECT * FROM users WHERE email = $1"),
        (12, "ALTER ROLE … (literal withheld)"),
    ]
    slow = health.review_slow_queries(migrated_db, min_calls=10).statements.statements
    assert [s.query_id for s in slow] == [12, 11]


def test_pg_stat_statements_installed_but_not_preloaded_is_explained(migrated_db: str) -> None:
    """The real extension raises 55000 when it is not in shared_preload_libraries; so does this view."""
    with db.connect(migrated_db) as conn:
        conn.execute(
            """
            CREATE FUNCTION not_preloaded() RETURNS TABLE (queryid bigint, dbid oid, calls bigint,
                total_exec_time float8, mean_exec_time float8, rows bigint, query text)
            LANGUAGE plpgsql AS $$ BEGIN
              RAISE EXCEPTION 'pg_stat_statements must be loaded via "shared_preload_libraries"'
                USING ERRCODE = '55000';
            END $$;
            CREATE VIEW pg_stat_statements AS SELECT * FROM not_preloaded();
            """
        )
    report = health.collect_database_health(migrated_db)
    assert report.statements.statements == []
    assert "installed but not loaded" in report.statements.unavailable_reason
    assert report.tables, "the rest of the report is still collected"


@pytest.mark.parametrize("text, shown", [
    ("COPY users FROM STDIN", "COPY users FROM STDIN"),
    ("SET application_name = 'x'", "SET APPLICATION_NAME … (literal withheld)"),
    ("DO $$ BEGIN END $$", "DO BEGIN … (literal withheld)"),
    ("-- Jane\nSELECT  1", "SELECT 1"),
    ("SELECT " + "a, " * 200, None),
])
def test_safe_statement_text(text: str, shown: str | None) -> None:
    out = health.safe_statement_text(text)
    if shown is None:
        assert len(out) == health.STATEMENT_TEXT_LIMIT and out.endswith("…")
    else:
        assert out == shown


def test_unreachable_database_says_what_to_check_without_the_password(pg_server_url: str) -> None:
    url = db.sqlalchemy_url(pg_server_url).set(password="hunter2", database="hv_missing_db").render_as_string(
        hide_password=False)
    with pytest.raises(health.DatabaseUnavailable, match="DATABASE_URL") as err:
        health.collect_database_health(url)
    assert "hunter2" not in str(err.value)


def test_slow_query_review_finds_unused_indexes_and_sequential_scans(migrated_db: str) -> None:
    _fill_notifications(migrated_db, 2000)
    with db.connect(migrated_db) as conn:
        for _ in range(3):
            conn.execute("SELECT count(*) FROM system_notifications WHERE message = 'm'")
    review = _wait_for(lambda: (r := health.review_slow_queries(migrated_db, min_table_rows=1000)).seq_scan_heavy
                       and r)
    assert [t.name for t in review.seq_scan_heavy] == ["system_notifications"]
    unused = {index for _, index, _ in review.unused_indexes}
    assert {"system_notifications_read_idx", "audit_logs_action_idx"} <= unused
    assert not any(index.endswith("_pkey") for index in unused)
    assert review.statements.unavailable_reason is not None
