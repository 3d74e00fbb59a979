"""Retention keeps exactly the grandfather-father-son set, the newest verified backup, and anything locked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from hv_pipelines.core.backup import RetentionPolicy, layout, list_backups, prune_backups, select_kept
from hv_pipelines.core.backup.manifest import Manifest

DATABASE = "holovitals"


def at(day: str, hour: int = 2) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def fabricate(store, keyring, created: datetime, *, retain_until: datetime | None = None,
              manifest: bool = True) -> str:
    """A stored backup as create_backup leaves it (a sealed manifest and an object), without running pg_dump."""
    backup_id = layout.new_backup_id(created)
    key = layout.dump_key(DATABASE, backup_id)
    store.put_bytes(key, b"ciphertext", retain_until=retain_until)
    if manifest:
        sealed = Manifest(
            backup_id=backup_id, database=DATABASE, created_at=created, completed_at=created, object_key=key,
            object_bytes=10, object_sha256="0" * 64, dump_bytes=10, compressed_bytes=10, chunk_size=1024,
            key_id=keyring.active_key_id, header_sha256="0" * 64, data_key_id="0" * 16, nonce_prefix="0" * 14,
            pg_dump_version="16.2", server_version="16.2", alembic_revision=None,
            schema_fingerprint="0" * 64, table_rows={}, durations={"total_s": 1.0}, verified_at=created,
            retain_until=retain_until).seal(keyring)
        store.put_bytes(layout.manifest_key(DATABASE, backup_id), sealed, retain_until=retain_until)
    return backup_id


def every_day(first: str, last: str) -> list[datetime]:
    start, end = at(first), at(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def test_grandfather_father_son_keeps_exactly_the_expected_days():
    created = {f"id-{t:%m%d}": t for t in every_day("2025-01-01", "2025-03-31")}
    kept = select_kept(created, RetentionPolicy(daily=7, weekly=4, monthly=12))
    expected_days = (["0325", "0326", "0327", "0328", "0329", "0330", "0331"]  # 7 daily
                     + ["0323", "0316"]  # newest of ISO weeks 12 and 11 (weeks 14 and 13 are already kept)
                     + ["0228", "0131"])  # newest of February and January
    assert kept == {f"id-{d}" for d in expected_days}


def test_newest_of_each_day_counts_once():
    created = {"a": at("2025-03-01", 2), "b": at("2025-03-01", 14), "c": at("2025-02-28", 2)}
    assert select_kept(created, RetentionPolicy(daily=2, weekly=0, monthly=0)) == {"b", "c"}


def test_newest_backup_survives_a_policy_of_zero():
    created = {"old": at("2024-01-01"), "new": at("2024-06-01")}
    assert select_kept(created, RetentionPolicy(daily=0, weekly=0, monthly=0)) == {"new"}


def test_prune_deletes_exactly_what_the_policy_does_not_keep(local_store, keyring):
    ids = {t: fabricate(local_store, keyring, t) for t in every_day("2025-02-01", "2025-03-31")}
    result = prune_backups(local_store, keyring, DATABASE, RetentionPolicy(daily=3, weekly=2, monthly=2),
                           now=at("2025-03-31", 12))
    # 3 daily; ISO weeks 14 (Mon 31st) and 13 are covered by those; newest of March and of February.
    kept_days = {at(d) for d in ("2025-03-29", "2025-03-30", "2025-03-31", "2025-02-28")}
    assert set(result.kept) == {ids[t] for t in kept_days}
    assert set(result.deleted) == {ids[t] for t in ids if t not in kept_days}
    remaining = {e.backup_id for e in list_backups(local_store, keyring, DATABASE)}
    assert remaining == set(result.kept)
    assert len(list(local_store.list("backups/"))) == 2 * len(kept_days)


def test_dry_run_deletes_nothing(local_store, keyring):
    for t in every_day("2025-03-01", "2025-03-10"):
        fabricate(local_store, keyring, t)
    result = prune_backups(local_store, keyring, DATABASE, RetentionPolicy(daily=2, weekly=0, monthly=0),
                           now=at("2025-03-10", 12), dry_run=True)
    assert len(result.deleted) == 8
    assert len(list_backups(local_store, keyring, DATABASE)) == 10


def test_recorded_retention_date_protects_a_local_backup(local_store, keyring):
    now = at("2025-03-10", 12)
    protected = fabricate(local_store, keyring, at("2025-03-01"), retain_until=now + timedelta(days=3))
    expired = fabricate(local_store, keyring, at("2025-03-02"), retain_until=now - timedelta(days=1))
    newest = fabricate(local_store, keyring, at("2025-03-09"))
    result = prune_backups(local_store, keyring, DATABASE, RetentionPolicy(daily=1, weekly=0, monthly=0), now=now)
    assert (result.kept, result.locked, result.deleted) == ([newest], [protected], [expired])


def test_object_lock_is_respected_on_s3(s3_locked_store, s3_client, keyring):
    now = datetime.now(UTC)
    locked = [fabricate(s3_locked_store, keyring, now - timedelta(days=d), retain_until=now + timedelta(days=5))
              for d in (3, 2)]
    newest = fabricate(s3_locked_store, keyring, now - timedelta(hours=1))

    result = prune_backups(s3_locked_store, keyring, DATABASE, RetentionPolicy(daily=1, weekly=0, monthly=0))

    assert result.kept == [newest] and sorted(result.locked) == sorted(locked) and result.deleted == []
    key = s3_locked_store._full(layout.dump_key(DATABASE, locked[0]))
    head = s3_client.head_object(Bucket=s3_locked_store.bucket, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"] > now
    with pytest.raises(ClientError, match="AccessDenied"):  # the bucket itself refuses, too
        s3_client.delete_object(Bucket=s3_locked_store.bucket, Key=key, VersionId=head["VersionId"])
    assert {e.backup_id for e in list_backups(s3_locked_store, keyring, DATABASE)} == {*locked, newest}


def test_incomplete_backups_are_swept_after_the_grace_period(local_store, keyring):
    now = at("2025-03-10", 12)
    newest = fabricate(local_store, keyring, at("2025-03-09"))
    stale = fabricate(local_store, keyring, at("2025-03-05"), manifest=False)
    running = fabricate(local_store, keyring, now - timedelta(minutes=30), manifest=False)
    result = prune_backups(local_store, keyring, DATABASE, RetentionPolicy(daily=7), now=now)
    assert result.orphans_deleted == [stale] and result.kept == [newest]
    assert {e.backup_id for e in list_backups(local_store, keyring, DATABASE)} == {newest, running}


def test_a_manifest_failing_authentication_is_left_for_a_person(local_store, keyring):
    now = at("2025-03-10", 12)
    tampered = fabricate(local_store, keyring, at("2025-01-01"))
    path = local_store.root / layout.manifest_key(DATABASE, tampered)
    path.write_text(path.read_text().replace('"object_bytes": 10', '"object_bytes": 11'))
    newest = fabricate(local_store, keyring, at("2025-03-09"))
    result = prune_backups(local_store, keyring, DATABASE, RetentionPolicy(daily=1, weekly=0, monthly=0), now=now)
    assert result.suspect == [tampered] and result.kept == [newest] and result.deleted == []


def test_negative_retention_is_rejected():
    with pytest.raises(ValueError):
        RetentionPolicy(daily=-1)


def test_prune_removes_the_stale_upload_files_of_killed_backups(local_store, keyring):
    """Killed uploads leave `.upload-*` ciphertext that list, verify and prune cannot see as backups."""
    import os
    import time

    fabricate(local_store, keyring, at("2025-03-09"))
    day_dir = local_store.root / "backups" / DATABASE / "2025" / "03" / "09"
    stale, running = day_dir / ".upload-killed0", day_dir / ".upload-running"
    for path, age_s in ((stale, 2 * 86400), (running, 60)):
        path.write_bytes(b"\x00" * 1024)
        os.utime(path, (time.time() - age_s, time.time() - age_s))

    dry = prune_backups(local_store, keyring, DATABASE, dry_run=True)
    assert dry.stale_uploads == [] and stale.exists()
    result = prune_backups(local_store, keyring, DATABASE)
    assert result.stale_uploads == [f"backups/{DATABASE}/2025/03/09/.upload-killed0"]
    assert not stale.exists() and running.exists()
    assert result.as_metadata()["stale_uploads_removed"] == 1
