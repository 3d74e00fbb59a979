"""Archives past deleteAfterDays are purged where retention allows; the chain stays verifiable."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import DIGEST, Month
from hv_pipelines.core.archival import purge as purge_module
from hv_pipelines.core.archival.manifest import TOMBSTONES, ArchiveManifest, manifest_keys
from tests.core.archival.audit_rows import insert_audit_rows

OLD, RECENT = Month(2015, 1), Month(2023, 9)


def _set_policy(url: str, delete_after_days: int) -> None:
    with db.connect(url) as conn:
        conn.execute("""INSERT INTO data_retention_policies (id, name, description, "dataType", "retentionPeriodDays",
                            "archiveAfterDays", "deleteAfterDays", "updatedAt", "createdBy")
                        VALUES ('p1', 'AUDIT_LOGS', 'test', 'audit_logs', 2555, 365, %s, now(), 'test')""",
                     (delete_after_days,))


def _purge_entries(url: str) -> list[dict]:
    with db.connect(url) as conn:
        rows = conn.execute("SELECT details FROM audit_logs WHERE action = 'AUDIT_LOG_ARCHIVE_PURGE'").fetchall()
    return [json.loads(r[0]) for r in rows]


def test_expired_archive_is_purged_and_the_chain_still_verifies(migrated_db: str, user_id: str, local_store,
                                                               keyring) -> None:
    insert_audit_rows(migrated_db, OLD, 20, user_id)
    insert_audit_rows(migrated_db, RECENT, 20, user_id)
    old = archival.archive_month(migrated_db, local_store, keyring, OLD)
    recent = archival.archive_month(migrated_db, local_store, keyring, RECENT)

    result = archival.purge_expired(migrated_db, local_store, keyring)

    assert result.purged == [old.manifest_key] and result.rows == 20 and not result.locked
    assert local_store.head(old.part_keys[0]) is None and local_store.head(recent.part_keys[0]) is not None
    assert len(manifest_keys(local_store)) == 2 and len(list(local_store.list(TOMBSTONES))) == 1
    [entry] = _purge_entries(migrated_db)
    assert (entry["month"], entry["rows"], entry["delete_after_days"]) == ("2015-01", 20, 2555)
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log_archives").fetchone()[0] == 1
        report = archival.verify_archives(local_store, keyring, conn, depth=DIGEST)
    assert report.ok, report.problems
    assert [a.state for a in report.archives] == ["purged", "committed"]

    again = archival.purge_expired(migrated_db, local_store, keyring)
    assert again.purged == [] and len(_purge_entries(migrated_db)) == 1


def test_an_archive_under_object_lock_is_kept(migrated_db: str, user_id: str, s3_locked_store, keyring) -> None:
    _set_policy(migrated_db, 30)  # the policy says purge, but the archive is retained until 2030
    insert_audit_rows(migrated_db, RECENT, 10, user_id)
    archived = archival.archive_month(migrated_db, s3_locked_store, keyring, RECENT)

    result = archival.purge_expired(migrated_db, s3_locked_store, keyring)

    assert result.purged == [] and [key for key, _ in result.locked] == [archived.manifest_key]
    assert result.locked[0][1] == datetime(2023, 10, 1, tzinfo=UTC) + timedelta(days=2555)
    assert s3_locked_store.head(archived.part_keys[0]) is not None and not _purge_entries(migrated_db)


def test_a_purge_interrupted_after_the_delete_is_finished_by_the_next_run(migrated_db: str, user_id: str,
                                                                          local_store, keyring, monkeypatch) -> None:
    insert_audit_rows(migrated_db, OLD, 5, user_id)
    old = archival.archive_month(migrated_db, local_store, keyring, OLD)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(purge_module, "write_audit_entry", crash)
        with pytest.raises(KeyboardInterrupt):
            archival.purge_expired(migrated_db, local_store, keyring)
    assert local_store.head(old.part_keys[0]) is None  # objects gone, records still there
    with db.connect(migrated_db) as conn:
        report = archival.verify_archives(local_store, keyring, conn)
    assert report.ok and any("did not finish" in note for note in report.notes)

    result = archival.purge_expired(migrated_db, local_store, keyring)

    assert result.purged == [old.manifest_key] and len(_purge_entries(migrated_db)) == 1
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log_archives").fetchone()[0] == 0


def test_an_edited_tombstone_is_reported_and_its_archive_is_no_longer_taken_as_purged(migrated_db: str, user_id: str,
                                                                                       local_store, keyring) -> None:
    insert_audit_rows(migrated_db, OLD, 20, user_id)
    insert_audit_rows(migrated_db, RECENT, 20, user_id)
    old = archival.archive_month(migrated_db, local_store, keyring, OLD)
    archival.archive_month(migrated_db, local_store, keyring, RECENT)
    archival.purge_expired(migrated_db, local_store, keyring)
    [stone] = [o.key for o in local_store.list(TOMBSTONES)]
    data = local_store.read_bytes(stone)
    assert b"2015-01" in data
    local_store.put_bytes(stone, data.replace(b"2015-01", b"2015-02"))

    with db.connect(migrated_db) as conn:
        report = archival.verify_archives(local_store, keyring, conn, depth=DIGEST)

    assert any(stone in p for p in report.problems), report.problems
    assert report.archives[0].state != "purged"
    assert any(old.part_keys[0] in p and "is missing" in p for p in report.problems)


def test_a_tombstone_naming_another_manifest_than_the_one_at_its_number_is_reported(migrated_db: str, user_id: str,
                                                                                    local_store, keyring) -> None:
    """The purged archive's manifest resealed (authentic, by the key holder) with another row count after the
    purge: its tombstone names the manifest it purged, not this one."""
    insert_audit_rows(migrated_db, OLD, 20, user_id)
    insert_audit_rows(migrated_db, RECENT, 20, user_id)
    old = archival.archive_month(migrated_db, local_store, keyring, OLD)
    archival.archive_month(migrated_db, local_store, keyring, RECENT)
    archival.purge_expired(migrated_db, local_store, keyring)
    [stone] = [o.key for o in local_store.list(TOMBSTONES)]
    manifest = ArchiveManifest.open(local_store.read_bytes(old.manifest_key), keyring, key=old.manifest_key)
    local_store.put_bytes(old.manifest_key, dataclasses.replace(manifest, row_count=21).seal(keyring))

    with db.connect(migrated_db) as conn:
        report = archival.verify_archives(local_store, keyring, conn, depth=DIGEST)

    assert f"tombstone {stone} names another manifest than {old.manifest_key}" in report.problems
    assert report.problems_for("2015-01") and not report.ok
