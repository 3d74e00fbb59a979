"""Archiving a month end to end, on a local directory and on S3 (moto over HTTP)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import DECRYPT, ArchiveOptions, Month
from hv_pipelines.core.archival import archive as archive_module
from hv_pipelines.core.archival.archive import LOCK_KEY
from hv_pipelines.core.archival.manifest import MANIFESTS, ArchiveManifest, manifest_keys
from hv_pipelines.core.audit_trail import SYSTEM_USER_EMAIL
from hv_pipelines.core.errors import ConfigurationError, HVError
from tests.core.archival.audit_rows import count_rows, insert_audit_rows, month_rows

MONTH = Month(2023, 1)


def _records(url: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute('SELECT "startDate", "endDate", "recordCount", "storagePath", "fileSize", compressed, '
                            'encrypted, "createdBy" FROM audit_log_archives ORDER BY "storagePath"').fetchall()


def _archive_entries(url: str) -> list[dict]:
    with db.connect(url) as conn:
        rows = conn.execute("SELECT a.details, u.email FROM audit_logs a JOIN users u ON u.id = a.user_id "
                            "WHERE a.action = 'AUDIT_LOG_ARCHIVE' ORDER BY a.timestamp").fetchall()
    return [{**json.loads(details), "email": email} for details, email in rows]


def test_month_archived_end_to_end(migrated_db: str, user_id: str, any_store, keyring) -> None:
    insert_audit_rows(migrated_db, MONTH, 1200, user_id)
    insert_audit_rows(migrated_db, MONTH.next(), 50, user_id)
    originals = month_rows(migrated_db, MONTH)

    result = archival.archive_month(migrated_db, any_store, keyring, MONTH)

    assert (result.status, result.kind, result.sequence, result.rows) == ("archived", "full", 1, 1200)
    assert count_rows(migrated_db, MONTH) == 0 and count_rows(migrated_db, MONTH.next()) == 50
    [record] = _records(migrated_db)
    start, end, count, path, size, compressed, encrypted, created_by = record
    assert (start, end) == (min(r[16] for r in originals), max(r[16] for r in originals))
    assert count == 1200 and compressed and encrypted
    assert path == any_store.location(result.part_keys[0]) and size == any_store.head(result.part_keys[0]).size
    manifest = ArchiveManifest.open(any_store.read_bytes(result.manifest_key), keyring)
    assert manifest.row_count == 1200 and manifest.previous_sha256 is None and manifest.key_id == keyring.active_key_id

    [entry] = _archive_entries(migrated_db)
    assert entry["email"] == SYSTEM_USER_EMAIL and entry["rows"] == 1200 and entry["manifest_sha256"] == result.manifest_sha256
    assert created_by == _system_user(migrated_db)

    with db.connect(migrated_db) as conn:
        report = archival.verify_archives(any_store, keyring, conn, depth=DECRYPT)
    assert report.ok, report.problems
    assert report.rows_checked == 1200 and [a.state for a in report.archives] == ["committed"]

    rehydrated = archival.rehydrate_month(migrated_db, any_store, keyring, MONTH)
    assert rehydrated.rows_read == rehydrated.rows_inserted == 1200
    assert month_rows(migrated_db, MONTH, rehydrated.table) == originals  # column for column, NULLs and '' kept


def _system_user(url: str) -> str:
    with db.connect(url) as conn:
        return conn.execute("SELECT id FROM users WHERE email = %s", (SYSTEM_USER_EMAIL,)).fetchone()[0]


def test_second_run_of_a_finished_month_is_a_no_op(migrated_db: str, user_id: str, local_store, keyring) -> None:
    insert_audit_rows(migrated_db, MONTH, 40, user_id)
    archival.archive_month(migrated_db, local_store, keyring, MONTH)
    objects = sorted(o.key for o in local_store.list())

    again = archival.archive_month(migrated_db, local_store, keyring, MONTH)

    assert again.status == "nothing_to_archive" and again.rows == 0
    assert sorted(o.key for o in local_store.list()) == objects
    assert len(_records(migrated_db)) == 1 and len(_archive_entries(migrated_db)) == 1


def test_late_rows_go_into_a_supplementary_archive(migrated_db: str, user_id: str, local_store, keyring) -> None:
    insert_audit_rows(migrated_db, MONTH, 30, user_id)
    first = archival.archive_month(migrated_db, local_store, keyring, MONTH)
    insert_audit_rows(migrated_db, MONTH, 5, user_id, start=30)  # a late writer
    late = month_rows(migrated_db, MONTH)

    second = archival.archive_month(migrated_db, local_store, keyring, MONTH)

    assert (second.kind, second.sequence, second.rows) == ("supplementary", 2, 5)
    manifest = ArchiveManifest.open(local_store.read_bytes(second.manifest_key), keyring)
    assert manifest.previous_sha256 == first.manifest_sha256
    assert count_rows(migrated_db, MONTH) == 0 and len(_records(migrated_db)) == 2
    table = archival.rehydrate_month(migrated_db, local_store, keyring, MONTH).table
    restored = month_rows(migrated_db, MONTH, table)
    assert len(restored) == 35 and set(late) <= set(restored)


def test_a_month_over_the_part_limit_is_written_as_parts(migrated_db: str, user_id: str, local_store,
                                                         keyring) -> None:
    insert_audit_rows(migrated_db, MONTH, 3000, user_id)
    originals = month_rows(migrated_db, MONTH)
    options = ArchiveOptions(part_limit=60_000, row_group_rows=250)

    result = archival.archive_month(migrated_db, local_store, keyring, MONTH, options=options)

    records = _records(migrated_db)
    assert len(result.part_keys) == len(records) >= 3
    assert sum(r[2] for r in records) == 3000
    for _, _, _, path, size, *_ in records:
        key = path.split("/objects/", 1)[1]
        assert size == local_store.head(key).size <= 60_000
    table = archival.rehydrate_month(migrated_db, local_store, keyring, MONTH).table
    assert month_rows(migrated_db, MONTH, table) == originals


def test_archive_objects_carry_object_lock_retention(migrated_db: str, user_id: str, s3_locked_store,
                                                     keyring) -> None:
    insert_audit_rows(migrated_db, MONTH, 20, user_id)
    result = archival.archive_month(migrated_db, s3_locked_store, keyring, MONTH)
    expected = datetime(2023, 2, 1, tzinfo=UTC) + timedelta(days=2555)  # month end + retentionPeriodDays
    assert s3_locked_store.head(result.manifest_key).retain_until == expected
    # Parts go up as multipart uploads, whose lock headers moto ignores (AWS applies them); the
    # manifest records the retention every part was uploaded with.
    manifest = ArchiveManifest.open(s3_locked_store.read_bytes(result.manifest_key), keyring)
    assert manifest.retain_until == expected


def test_a_month_younger_than_the_policy_is_refused(migrated_db: str, user_id: str, local_store, keyring) -> None:
    recent = Month.of(datetime.now(UTC) - timedelta(days=200))
    insert_audit_rows(migrated_db, recent, 5, user_id)
    with pytest.raises(ConfigurationError, match="not archivable yet.*365 days"):
        archival.archive_month(migrated_db, local_store, keyring, recent)
    assert count_rows(migrated_db, recent) == 5 and not list(local_store.list())


def test_a_second_run_waits_for_the_first(migrated_db: str, user_id: str, local_store, keyring) -> None:
    insert_audit_rows(migrated_db, MONTH, 5, user_id)
    with db.connect(migrated_db, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        with pytest.raises(HVError, match="held the archive lock"):
            archival.archive_month(migrated_db, local_store, keyring, MONTH, options=ArchiveOptions(lock_timeout="200ms"))
    assert count_rows(migrated_db, MONTH) == 5 and not list(local_store.list(MANIFESTS))
    assert archival.archive_month(migrated_db, local_store, keyring, MONTH).rows == 5
    assert len(manifest_keys(local_store)) == 1


def _pkey_heap_fetches(url: str) -> int:
    """Heap visits an index-only scan of the whole primary key needs: one per dead index entry left."""
    with db.connect(url) as conn:
        conn.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        plan = conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                            "SELECT count(*) FROM audit_logs WHERE id > ''").fetchall()
    [fetches] = [int(line.split(":")[1]) for (line,) in plan if "Heap Fetches" in line]
    return fetches


@pytest.mark.parametrize("index_cleanup", [False, True])
def test_the_vacuum_leaves_index_entries_to_autovacuum_unless_asked(
        index_cleanup: bool, migrated_db: str, user_id: str, local_store, keyring) -> None:
    insert_audit_rows(migrated_db, MONTH, 500, user_id)
    insert_audit_rows(migrated_db, MONTH.next(), 200, user_id)

    result = archival.archive_month(migrated_db, local_store, keyring, MONTH,
                                    options=ArchiveOptions(index_cleanup=index_cleanup))

    assert result.as_metadata()["vacuum_index_cleanup"] is index_cleanup
    fetches = _pkey_heap_fetches(migrated_db)
    assert fetches == 0 if index_cleanup else fetches > 250, fetches  # ~one per deleted row


def test_server_wide_timeouts_do_not_end_a_slow_run(migrated_db: str, user_id: str, local_store, keyring,
                                                    monkeypatch) -> None:
    insert_audit_rows(migrated_db, MONTH, 50, user_id)
    with db.connect(migrated_db, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(f'ALTER DATABASE "{name}" SET idle_in_transaction_session_timeout = \'300ms\'')
        conn.execute(f'ALTER DATABASE "{name}" SET statement_timeout = \'300ms\'')
    real_read, real_check = archive_module.read_archive, archive_module.month_has_rows

    def slow_object_store(*args, **kwargs):
        time.sleep(1)  # the session sits idle in its transaction meanwhile
        return real_read(*args, **kwargs)

    def slow_statement(conn, month):
        conn.execute("SELECT pg_sleep(0.6)")  # as a big month's export would run for long
        return real_check(conn, month)

    monkeypatch.setattr(archive_module, "read_archive", slow_object_store)
    monkeypatch.setattr(archive_module, "month_has_rows", slow_statement)
    result = archival.archive_month(migrated_db, local_store, keyring, MONTH)

    assert result.status == "archived" and count_rows(migrated_db, MONTH) == 0
