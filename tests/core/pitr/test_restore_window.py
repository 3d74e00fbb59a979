"""Which base backup a point-in-time restore starts from, and the targets and gaps it refuses before
writing anything, in-process: real sealed descriptors and WAL objects in a file store, no cluster
(test_pitr_restore.py and test_pitr_verify.py restore through one).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.pitr import archive, restore
from hv_pipelines.core.pitr.inventory import ArchiveState, read_state
from hv_pipelines.core.pitr.restore import Target, TargetOutsideWindow
from hv_pipelines.core.pitr.walfiles import SEGMENT_SIZE, format_lsn
from hv_pipelines.core.storage import LocalStore

from .test_sealed_objects import SYSTEM, put_base_backup, put_segment, segment

T0 = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)
DAY = timedelta(days=1)
LATEST = T0 + 10 * DAY  # when the newest segment was archived
US = timedelta(microseconds=1)


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


def stop_lsn(segment_number: int) -> str:
    return format_lsn(segment_number * SEGMENT_SIZE + 0x100)


def archived(store: LocalStore, keyring, *numbers: int) -> None:
    """Segments `numbers` on timeline 1, the last archived at LATEST, the others a day before it."""
    for number in numbers:
        key = put_segment(store, keyring, segment(1, number))
        stamp = (LATEST if number == numbers[-1] else LATEST - DAY).timestamp()
        os.utime(store.root / key, (stamp, stamp))


@pytest.fixture
def backups(store, keyring):
    """A (segments 2-2, completed T0 + 1 day) and B (segments 5-5, T0 + 8 days), WAL 2-7."""
    a = put_base_backup(store, keyring, "20261102T031500Z", start_segment=2, stop_lsn=stop_lsn(2),
                        completed_at=T0 + DAY)
    b = put_base_backup(store, keyring, "20261109T031500Z", start_segment=5, stop_lsn=stop_lsn(5),
                        completed_at=T0 + 8 * DAY)
    archived(store, keyring, *range(2, 8))
    return a, b


def window() -> str:
    return f"recoverable window {(T0 + DAY).isoformat(timespec='seconds')} .. {LATEST.isoformat(timespec='seconds')}"


def chosen(store, keyring, target: Target) -> str:
    return restore.choose_backup(read_state(store, keyring, SYSTEM), target).backup_id


def test_the_latest_point_starts_from_the_newest_backup(store, keyring, backups):
    a, b = backups
    assert chosen(store, keyring, Target(latest=True)) == b.backup_id
    c = put_base_backup(store, keyring, "20261110T031500Z", start_segment=7, stop_lsn=stop_lsn(7),
                        completed_at=T0 + 9 * DAY)
    assert chosen(store, keyring, Target(latest=True)) == c.backup_id  # the last of three, not the second


@pytest.mark.parametrize(("when", "which"), [
    (T0 + DAY, 0),                # the second A completed
    (T0 + 8 * DAY - US, 0),       # just before B completed
    (T0 + 8 * DAY, 1),            # the second B completed
    (LATEST, 1),                  # the newest archived WAL's time
], ids=["a-completed", "before-b", "b-completed", "latest"])
def test_a_time_starts_from_the_newest_backup_completed_by_then(store, keyring, backups, when, which):
    assert chosen(store, keyring, Target(time=when)) == backups[which].backup_id


@pytest.mark.parametrize(("lsn", "which"), [
    (stop_lsn(2), 0), (format_lsn(5 * SEGMENT_SIZE + 0xFF), 0), (stop_lsn(5), 1), (stop_lsn(7), 1),
], ids=["a-stop", "before-b-stop", "b-stop", "later"])
def test_an_lsn_starts_from_the_newest_backup_stopped_by_then(store, keyring, backups, lsn, which):
    assert chosen(store, keyring, Target(lsn=lsn)) == backups[which].backup_id


def test_a_time_before_the_oldest_backup_completed_is_refused_with_the_window(store, keyring, backups):
    when = T0 + DAY - US
    with pytest.raises(TargetOutsideWindow) as refused:
        chosen(store, keyring, Target(time=when))
    assert str(refused.value) == f"target time {when.isoformat()} is before the oldest base backup ended: {window()}"


def test_an_lsn_before_the_oldest_backup_stopped_is_refused_with_the_window(store, keyring, backups):
    lsn = format_lsn(2 * SEGMENT_SIZE + 0xFF)
    with pytest.raises(TargetOutsideWindow) as refused:
        chosen(store, keyring, Target(lsn=lsn))
    assert str(refused.value) == f"target LSN {lsn} is before the oldest base backup ended: {window()}"


def test_a_time_after_the_newest_archived_wal_is_refused_with_the_window(store, keyring, backups):
    when = LATEST + US
    with pytest.raises(TargetOutsideWindow) as refused:
        chosen(store, keyring, Target(time=when))
    assert str(refused.value) == (f"target time {when.isoformat()} is after the newest archived WAL: {window()}; "
                                  "pick a time inside it or use --latest")


def test_without_archived_wal_a_time_after_the_backup_is_not_refused_here(store, keyring):
    """Nothing says how far the WAL goes: recovery itself finds out (the window's end reads none)."""
    backup = put_base_backup(store, keyring, completed_at=T0)
    assert chosen(store, keyring, Target(time=T0 + 365 * DAY)) == backup.backup_id
    with pytest.raises(TargetOutsideWindow, match=r"recoverable window 2026-11-01T03:15:00\+00:00 \.\. none "
                                                  r"\(no archived WAL\)$"):
        chosen(store, keyring, Target(time=T0 - US))


def test_an_archive_without_a_base_backup_is_refused_with_what_to_run(store, keyring):
    archived(store, keyring, 2, 3)
    with pytest.raises(TargetOutsideWindow) as refused:
        chosen(store, keyring, Target(latest=True))
    assert str(refused.value) == f"cluster {SYSTEM} has no base backup: run `hv pitr base-backup`"
    assert restore.window_text(ArchiveState(SYSTEM)) == (
        "recoverable window none (no base backup) .. none (no archived WAL)")


def test_a_gap_after_the_chosen_backup_is_refused_naming_it_and_one_before_it_is_not(store, keyring):
    a = put_base_backup(store, keyring, "20261102T031500Z", start_segment=2, completed_at=T0 + DAY)
    b = put_base_backup(store, keyring, "20261109T031500Z", start_segment=5, completed_at=T0 + 8 * DAY)
    archived(store, keyring, 2, 3, 5, 6)
    state = read_state(store, keyring, SYSTEM)
    with pytest.raises(IntegrityError) as refused:
        restore.check_chain(state, a)
    assert str(refused.value) == (
        f"WAL segment {segment(1, 4)} is missing from the archive (wal/{SYSTEM}/): no point after it can be "
        f"recovered from base backup {a.backup_id}. {window()}; pick a target before the gap")
    restore.check_chain(state, b)  # B needs WAL from segment 5 on


def test_a_missing_first_segment_of_the_chosen_backup_is_its_gap(store, keyring):
    backup = put_base_backup(store, keyring, start_segment=2)
    archived(store, keyring, 3, 4)
    with pytest.raises(IntegrityError, match=f"^WAL segment {segment(1, 2)} is missing"):
        restore.check_chain(read_state(store, keyring, SYSTEM), backup)


def test_a_refused_target_writes_nothing_and_creates_no_directory(store, keyring, backups, tmp_path):
    target = tmp_path / "restored"
    with pytest.raises(TargetOutsideWindow):
        restore.restore(store, keyring, target, Target(time=T0), env={})
    assert not target.exists()
    target.mkdir()
    with pytest.raises(TargetOutsideWindow):
        restore.restore(store, keyring, target, Target(time=LATEST + DAY), env={})
    assert list(target.iterdir()) == []


def test_a_gap_refuses_the_restore_before_anything_is_written(store, keyring, backups, tmp_path):
    a, b = backups
    store.delete(archive.wal_key(SYSTEM, segment(1, 6)))
    target = tmp_path / "restored"
    with pytest.raises(IntegrityError, match=f"WAL segment {segment(1, 6)} is missing"):
        restore.restore(store, keyring, target, Target(latest=True), env={})
    assert not target.exists()


def test_a_directory_holding_anything_is_refused_and_left_as_it_was(store, keyring, backups, tmp_path):
    target = tmp_path / "restored"
    target.mkdir()
    (target / ".keep").write_text("the operator's")
    with pytest.raises(restore.DirectoryNotEmpty) as refused:
        restore.restore(store, keyring, target, Target(latest=True), env={})
    assert str(refused.value) == f"{target} is not empty: restore into a new or empty directory"
    assert [(p.name, p.read_text()) for p in target.iterdir()] == [(".keep", "the operator's")]


def test_a_backup_manifest_other_than_the_one_its_descriptor_names_is_refused(store, keyring, backups, tmp_path):
    a, b = backups
    with pytest.raises(IntegrityError) as refused:
        restore.verify_files(a, tmp_path, b"another manifest", {})
    assert str(refused.value) == (f"{a.object_key}: its backup_manifest differs from the one its descriptor "
                                  "names; do not use this backup")
