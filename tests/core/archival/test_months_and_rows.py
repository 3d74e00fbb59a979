"""The calendar, the retention policy and the rows hash: the decisions every archive run rests on."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from hv_pipelines.core import db
from hv_pipelines.core.archival.months import Month, RetentionPolicy, load_policy, months_due
from hv_pipelines.core.archival.rows import RowStats, arrow_schema, export_month, table_columns
from hv_pipelines.core.errors import ConfigurationError
from tests.core.archival.audit_rows import insert_audit_rows, month_rows


def test_month_parses_labels_and_partition_keys() -> None:
    assert Month.parse("2024-12") == Month.parse("2024-12-01") == Month(2024, 12)
    december = Month(2024, 12)
    assert (december.start, december.end) == (datetime(2024, 12, 1), datetime(2025, 1, 1))
    assert december.partition_key == "2024-12-01" and str(december) == "2024-12"
    for bad in ("2024-13", "2024-1", "2024-12-02", "december"):
        with pytest.raises(ConfigurationError, match="YYYY-MM"):
            Month.parse(bad)


def test_policy_defaults_apply_when_the_row_is_absent(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        policy = load_policy(conn)
    assert (policy.retention_days, policy.archive_after_days, policy.delete_after_days) == (2555, 365, 2555)
    now = datetime(2026, 3, 15, tzinfo=UTC)
    assert policy.is_archivable(Month(2025, 2), now)       # ended 2025-03-01, 379 days before
    assert not policy.is_archivable(Month(2025, 3), now)   # ended 2025-04-01, 348 days before
    assert policy.retain_until(Month(2024, 1)) == datetime(2031, 1, 30, tzinfo=UTC)


def test_policy_row_decides_which_months_are_due(migrated_db: str, user_id: str) -> None:
    for month in (Month(2024, 1), Month(2024, 2), Month(2024, 6), Month(2026, 1)):
        insert_audit_rows(migrated_db, month, 3, user_id)
    now = datetime(2026, 3, 1, 3, tzinfo=UTC)
    with db.connect(migrated_db) as conn:
        assert months_due(conn, now) == [Month(2024, 1), Month(2024, 2), Month(2024, 6)]
        conn.execute("""INSERT INTO data_retention_policies (id, name, description, "dataType",
                            "retentionPeriodDays", "archiveAfterDays", "deleteAfterDays", "updatedAt", "createdBy")
                        VALUES ('p1', 'AUDIT_LOGS', 'test', 'audit_logs', 2555, 700, NULL, now(), 'test')""")
        policy = load_policy(conn)
        assert policy == RetentionPolicy(2555, 700, 2555, source="data_retention_policies")
        assert months_due(conn, now) == [Month(2024, 1), Month(2024, 2)]


def test_rows_hash_does_not_depend_on_batching(migrated_db: str, user_id: str) -> None:
    month = Month(2023, 5)
    insert_audit_rows(migrated_db, month, 500, user_id)
    with db.connect(migrated_db) as conn:
        columns = table_columns(conn)
        hashes = []
        for rows in (7, 64, 1000):
            stats = RowStats()
            with export_month(conn, month, columns, row_group_rows=rows) as export:
                for table in export.tables:
                    assert table.num_rows <= rows
                    stats.update(table)
            hashes.append((stats.rows, stats.sha256, stats.min_timestamp, stats.max_timestamp))
    assert hashes[0] == hashes[1] == hashes[2]
    originals = month_rows(migrated_db, month)
    assert hashes[0][0] == 500 and hashes[0][2] == min(r[16] for r in originals)


def test_rows_hash_tells_null_from_empty_and_sees_every_column() -> None:
    schema = pa.schema([("id", pa.string()), ("note", pa.string()), ("timestamp", pa.timestamp("ms"))])
    moment = datetime(2024, 1, 1)

    def digest(notes: list, ids: tuple = ("a", "b")) -> str:
        stats = RowStats()
        stats.update(pa.table({"id": list(ids), "note": notes, "timestamp": [moment, moment]}, schema=schema))
        return stats.sha256

    base = digest(["", None])
    assert base != digest([None, ""])            # NULL and '' swapped
    assert base != digest(["", ""])
    assert digest(["ab", "c"]) != digest(["a", "bc"])   # value boundaries are part of the hash
    assert base != digest(["", None], ids=("b", "a"))  # order matters


def test_a_column_type_archival_cannot_carry_stops_the_run(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("ALTER TABLE audit_logs ADD COLUMN risk_score numeric")
        with pytest.raises(ConfigurationError, match="risk_score has type numeric"):
            table_columns(conn)
        conn.execute("ALTER TABLE audit_logs DROP COLUMN risk_score")
        conn.execute("ALTER TABLE audit_logs ADD COLUMN retries integer")
        assert arrow_schema(table_columns(conn)).field("retries").type == pa.int32()


def test_abandoning_an_export_cancels_the_copy_and_frees_the_connection(migrated_db: str, user_id: str) -> None:
    month = Month(2023, 5)
    insert_audit_rows(migrated_db, month, 3000, user_id)
    with db.connect(migrated_db) as conn:
        columns = table_columns(conn)
        with export_month(conn, month, columns, row_group_rows=100) as export:
            first = next(export.tables)
        assert first.num_rows == 100
        assert conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0] == 3000
