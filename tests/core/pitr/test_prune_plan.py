"""What `hv pitr prune` keeps and deletes, in-process: real sealed base backups, descriptors and WAL objects
in a file store (and a moto S3 bucket with Object Lock), no cluster. Prune deletes data, so each edge of
the window, each lock and each refused delete is fed here; test_pitr_verify.py drives it through a
running cluster's archive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.pitr import archive as archive_module
from hv_pipelines.core.pitr import descriptor, prune
from hv_pipelines.core.pitr.inventory import read_state
from hv_pipelines.core.storage import LocalStore, StoredObject

from .test_sealed_objects import SYSTEM, put_base_backup, put_segment, segment

T0 = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)
DAY = timedelta(days=1)
HISTORY = "00000002.history"


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


@pytest.fixture
def archive(store, keyring):
    """Base backups A, B, C completed a week apart (first segments 2, 5, 8), segments 1-10, a history file:
    (A, B, C, every key the store holds)."""
    backups = [put_base_backup(store, keyring, f"2026110{n}T031500Z", start_segment=start,
                               start_wal=segment(1, start), completed_at=T0 + n * 7 * DAY)
               for n, start in ((1, 2), (2, 5), (3, 8))]
    for number in range(1, 11):
        put_segment(store, keyring, segment(1, number))
    put_segment(store, keyring, HISTORY)
    return (*backups, {o.key for o in store.list()})


def backup_keys(backup) -> set[str]:
    return {descriptor.descriptor_key(SYSTEM, backup.backup_id), backup.object_key}


def named(keys: set[str], *names: str) -> set[str]:
    """The WAL objects among `keys` of these WAL file names."""
    return {k for k in keys if k.startswith("wal/") and k.rsplit("/", 1)[1].removesuffix(".zst.enc") in names}


def test_the_window_opening_after_b_keeps_b_and_c_and_the_wal_from_bs_first_segment(store, keyring, archive):
    a, b, c, everything = archive
    result = prune.prune(store, keyring, recovery_window_days=7, now=b.completed_at + 7 * DAY + timedelta(seconds=1))
    old = [segment(1, n) for n in range(1, 5)]
    assert result == prune.PitrPruneResult(kept_backups=[b.backup_id, c.backup_id], deleted_backups=[a.backup_id],
                                           deleted_wal=old, oldest_needed_wal=segment(1, 5))
    assert {o.key for o in store.list()} == everything - backup_keys(a) - named(everything, *old)
    assert [x.backup_id for x in read_state(store, keyring, SYSTEM).backups] == [b.backup_id, c.backup_id]


def test_a_window_opening_the_second_b_completed_keeps_a_too(store, keyring, archive):
    """A recovery to the window's first second (B's completion) cannot start from B: it needs A."""
    a, b, c, everything = archive
    result = prune.prune(store, keyring, recovery_window_days=7, now=b.completed_at + 7 * DAY)
    assert result == prune.PitrPruneResult(kept_backups=[a.backup_id, b.backup_id, c.backup_id],
                                           deleted_wal=[segment(1, 1)], oldest_needed_wal=segment(1, 2))
    assert {o.key for o in store.list()} == everything - named(everything, segment(1, 1))


def test_a_window_opening_before_every_backup_keeps_them_all(store, keyring, archive):
    a, b, c, everything = archive
    result = prune.prune(store, keyring, recovery_window_days=30, now=a.completed_at + DAY)
    assert result.kept_backups == [a.backup_id, b.backup_id, c.backup_id] and not result.deleted_backups
    assert result.deleted_wal == [segment(1, 1)] and result.oldest_needed_wal == segment(1, 2)


def test_the_newest_backup_is_kept_however_old_and_history_files_always(store, keyring, archive):
    a, b, c, everything = archive
    result = prune.prune(store, keyring, recovery_window_days=1, now=c.completed_at + 365 * DAY)
    old = [segment(1, n) for n in range(1, 8)]
    assert result == prune.PitrPruneResult(kept_backups=[c.backup_id], deleted_backups=[a.backup_id, b.backup_id],
                                           deleted_wal=old, oldest_needed_wal=segment(1, 8))
    left = {o.key for o in store.list()}
    assert left == everything - backup_keys(a) - backup_keys(b) - named(everything, *old)
    assert any(k.endswith(f"/{HISTORY}.zst.enc") for k in left) and backup_keys(c) <= left


def test_the_default_window_is_fourteen_days(store, keyring, archive):
    a, b, c, everything = archive
    assert prune.prune(store, keyring, now=c.completed_at + 14 * DAY).kept_backups == [b.backup_id, c.backup_id]
    assert prune.prune(store, keyring, now=c.completed_at + 14 * DAY + timedelta(seconds=1)).kept_backups == [
        c.backup_id]


def test_a_dry_run_reports_what_it_would_delete_and_deletes_nothing(store, keyring, archive):
    a, b, c, everything = archive
    result = prune.prune(store, keyring, recovery_window_days=1, now=c.completed_at + 365 * DAY, dry_run=True)
    assert result.deleted_backups == [a.backup_id, b.backup_id] and len(result.deleted_wal) == 7
    assert {o.key for o in store.list()} == everything


def test_without_a_base_backup_no_wal_is_deleted(store, keyring):
    for number in range(1, 4):
        put_segment(store, keyring, segment(1, number))
    everything = {o.key for o in store.list()}
    assert prune.prune(store, keyring, recovery_window_days=0, now=T0 + 365 * DAY) == prune.PitrPruneResult()
    assert {o.key for o in store.list()} == everything


def aged(store: LocalStore, key: str, when: datetime) -> str:
    """Give `key` the modification time `when` (whole seconds: read back exactly)."""
    stamp = int(when.timestamp())
    os.utime(store.root / key, (stamp, stamp))
    return key


def test_an_object_left_without_a_descriptor_goes_once_it_is_more_than_a_day_old(store, keyring, archive):
    """A failed or half-pruned backup's object: deleted after a day, not while it may still be being written;
    a described object and a file that is no base backup object stay, whatever their age."""
    a, b, c, everything = archive
    now = datetime.fromtimestamp(int(datetime.now(UTC).timestamp()), UTC) + 365 * DAY
    day_old = now - DAY
    orphan = descriptor.object_key(SYSTEM, "20261030T031500Z")
    store.put_bytes(orphan, b"an object without its descriptor")
    aged(store, orphan, day_old - timedelta(seconds=1))
    young = descriptor.object_key(SYSTEM, "20261031T031500Z")
    store.put_bytes(young, b"an object whose descriptor is not written yet")
    aged(store, young, day_old)
    other = f"{descriptor.base_prefix(SYSTEM)}notes.txt"
    store.put_bytes(other, b"not a base backup object")
    aged(store, other, day_old - DAY)
    for backup in (a, b, c):
        aged(store, backup.object_key, day_old - DAY)
    result = prune.prune(store, keyring, recovery_window_days=1, now=now)
    assert result.deleted_backups == [a.backup_id, b.backup_id, orphan] and not result.failed
    left = {o.key for o in store.list(descriptor.base_prefix(SYSTEM))}
    assert left == {young, other} | backup_keys(c)


@pytest.mark.parametrize(("head", "locked"), [
    (None, False),
    (StoredObject("k", 1), False),
    (StoredObject("k", 1, retain_until=T0 + timedelta(seconds=1)), True),
    (StoredObject("k", 1, retain_until=T0), False),  # the retention ends at `now`: deletable
    (StoredObject("k", 1, retain_until=T0 - DAY), False),
    (StoredObject("k", 1, legal_hold=True), True),
    (StoredObject("k", 1, retain_until=T0 - DAY, legal_hold=True), True),  # a hold outlasts the date
], ids=["gone", "no-lock", "retained", "retention-ends-now", "retention-ended", "held", "held-after-retention"])
def test_an_object_is_locked_by_a_retention_date_not_yet_passed_or_a_legal_hold(head, locked):
    assert prune.is_locked(head, T0) is locked


def test_a_lock_on_either_half_of_a_base_backup_keeps_both_and_locked_wal_stays(keyring, store, archive,
                                                                                 s3_locked_store, s3_client):
    """Real S3 Object Lock (moto over HTTP): A's descriptor under retention, B's object under a legal hold,
    segment 3 under retention. Neither half of A or B goes (a descriptor never points at nothing, an
    object is never left undescribed by a prune); every other old segment does."""
    a, b, c, everything = archive
    now = datetime.now(UTC)
    until = now + 30 * DAY
    a_descriptor = descriptor.descriptor_key(SYSTEM, a.backup_id)
    (retained_wal,) = named(everything, segment(1, 3))
    for key in sorted(everything):
        s3_locked_store.put_bytes(key, store.read_bytes(key),
                                  retain_until=until if key in (a_descriptor, retained_wal) else None)
    s3_client.put_object_legal_hold(Bucket=s3_locked_store.bucket, Key=f"hv/{b.object_key}",
                                    LegalHold={"Status": "ON"})
    result = prune.prune(s3_locked_store, keyring, recovery_window_days=1, now=now)
    assert result.locked == [a_descriptor, b.object_key, retained_wal] and not result.failed
    assert result.kept_backups == [c.backup_id] and result.deleted_backups == []
    assert result.deleted_wal == [segment(1, n) for n in (1, 2, 4, 5, 6, 7)]
    left = {o.key for o in s3_locked_store.list()}
    assert backup_keys(a) | backup_keys(b) | {retained_wal} <= left
    assert [x.backup_id for x in read_state(s3_locked_store, keyring, SYSTEM).backups] == [
        a.backup_id, b.backup_id, c.backup_id]


@pytest.fixture
def immutable():
    """chattr +i: a delete the filesystem itself refuses (PermissionError), lifted after the test."""
    if shutil.which("chattr") is None:
        pytest.skip("needs chattr")
    paths = []

    def make(path):
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("needs chattr +i (root, ext4 or the like)")
        paths.append(path)

    yield make
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_delete_the_store_refuses_is_reported_and_the_prune_goes_on(store, keyring, archive, immutable):
    """A's descriptor and segment 2 cannot be deleted: A's object stays with it (descriptor first), the
    failures name their keys, B and every other old segment still go."""
    a, b, c, everything = archive
    a_descriptor = descriptor.descriptor_key(SYSTEM, a.backup_id)
    (refused_wal,) = named(everything, segment(1, 2))
    immutable(store.root / a_descriptor)
    immutable(store.root / refused_wal)
    result = prune.prune(store, keyring, recovery_window_days=1, now=c.completed_at + 365 * DAY)
    assert result.failed == [f"{a_descriptor} (PermissionError)", f"{refused_wal} (PermissionError)"]
    assert result.deleted_backups == [b.backup_id] and not result.locked
    assert result.deleted_wal == [segment(1, n) for n in (1, 3, 4, 5, 6, 7)]
    left = {o.key for o in store.list()}
    assert backup_keys(a) | {refused_wal} <= left and not backup_keys(b) & left


def test_a_refused_delete_of_a_backups_object_names_the_object(store, keyring, archive, immutable):
    a, b, c, everything = archive
    immutable(store.root / a.object_key)
    result = prune.prune(store, keyring, recovery_window_days=1, now=c.completed_at + 365 * DAY)
    assert result.failed == [f"{a.object_key} (PermissionError)"]
    assert result.deleted_backups == [b.backup_id]


def test_without_a_time_given_the_window_ends_now(store, keyring, archive):
    """The clock's time, zone-aware like the descriptors' (a naive time cannot be compared with them)."""
    a, b, c, everything = archive
    result = prune.prune(store, keyring, recovery_window_days=1)
    assert result.kept_backups == [c.backup_id] and result.deleted_backups == [a.backup_id, b.backup_id]
    assert prune.prune(store, keyring, recovery_window_days=36500).kept_backups == [c.backup_id]


def test_a_store_of_several_clusters_is_pruned_only_for_the_one_named(store, keyring, archive):
    a, b, c, everything = archive
    other = "7401234567890123457"
    other_key = archive_module.wal_key(other, segment(1, 1))
    store.put_bytes(other_key, b"another cluster's segment 1")
    with pytest.raises(ConfigurationError, match="holds the archives of several clusters"):
        prune.prune(store, keyring, recovery_window_days=1, now=c.completed_at + 365 * DAY)
    result = prune.prune(store, keyring, recovery_window_days=1, now=c.completed_at + 365 * DAY,
                         system_identifier=SYSTEM)
    assert result.kept_backups == [c.backup_id] and store.head(other_key) is not None
