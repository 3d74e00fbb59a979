"""`hv pitr verify`, `status`, `prune`, and restore's refusals, on a real archive with real damage."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core.pitr import archive, basebackup, descriptor, markers, prune
from hv_pipelines.core.pitr.cluster import hand_over
from hv_pipelines.core.pitr.inventory import read_state
from hv_pipelines.core.pitr.walfiles import control_system_identifier, parse_lsn, segment_of

from .conftest import start_archiving_cluster, switch_and_wait
from .test_pitr_restore import hv

pytestmark = pytest.mark.slow


@pytest.fixture
def history(scratch, local_archive, cluster_template):
    """Base backup A, WAL, base backup B, more WAL (the cluster stopped): (A, B, system, archived names)."""
    cluster = start_archiving_cluster(scratch, local_archive, cluster_template)
    names = []
    try:
        first = basebackup.take_base_backup(cluster.url(), local_archive.store, local_archive.keyring)
        markers.write_marker(cluster.url())
        names.append(switch_and_wait(cluster))
        second = basebackup.take_base_backup(cluster.url(), local_archive.store, local_archive.keyring)
        for _ in range(2):
            markers.write_marker(cluster.url())
            names.append(switch_and_wait(cluster))
    finally:
        cluster.stop("immediate")
    return first, second, str(control_system_identifier(cluster.data_dir)), names


def test_verify_passes_on_a_whole_archive_and_status_reports_the_window(history, local_archive, monkeypatch,
                                                                        capsys):
    first, second, system, names = history
    code, out, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "verify")
    assert code == 0, err
    assert "2 base backup(s)" in out and "chain continuous" in out
    code, out, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "status", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["system_identifier"] == system and body["gap"] is None
    assert body["last_archived_segment"] >= names[-1]
    assert body["window"]["earliest"] == first.completed_at.isoformat(timespec="seconds")
    assert [b["backup_id"] for b in body["base_backups"]] == [first.backup_id, second.backup_id]
    assert 0 <= body["last_segment_age_s"] < 600


def test_a_flipped_byte_in_a_wal_object_is_refused_by_verify_and_restore(history, local_archive, scratch,
                                                                         monkeypatch, capsys):
    first, second, system, names = history
    key = archive.wal_key(system, names[-1])
    data = bytearray(local_archive.store.read_bytes(key))
    data[len(data) // 2] ^= 0x10
    local_archive.store.put_bytes(key, bytes(data))
    hand_over(local_archive.store.root)  # readable by restore_command, as one the server wrote
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "verify")
    assert code == 1 and key in err and "failed authentication" in err
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "restore", "--latest",
                      "--data-dir", str(scratch / "restored"))
    assert code == 1 and key in err and "recovery did not reach the target" in err
    assert not (scratch / "restored").exists()


def test_a_deleted_wal_object_is_refused_by_verify_and_restore(history, local_archive, scratch, monkeypatch,
                                                               capsys):
    first, second, system, names = history
    missing = names[-2]
    local_archive.store.delete(archive.wal_key(system, missing))
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "verify")
    assert code == 1 and f"WAL segment {missing} is missing" in err
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "restore", "--latest",
                      "--data-dir", str(scratch / "restored"))
    assert code == 1 and f"WAL segment {missing} is missing" in err and "recoverable window" in err
    code, out, _ = hv(monkeypatch, capsys, local_archive.env, "pitr", "status")
    assert f"GAP at {missing}" in out


def test_a_base_backup_object_swapped_for_another_is_refused(history, local_archive, monkeypatch, capsys):
    first, second, system, names = history
    store = local_archive.store
    store.put_bytes(second.object_key, store.read_bytes(first.object_key))
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "verify")
    assert code == 1 and second.object_key in err and f"basebackup/{system}/{first.backup_id}" in err


def test_prune_keeps_exactly_what_the_window_needs(history, local_archive):
    first, second, system, names = history
    store, keyring = local_archive.store, local_archive.keyring
    wal_names = {archive.name_of_key(o.key) for o in store.list("wal/")}

    # The window opens after A ended and before B: a recovery to its first second starts from A,
    # so only the WAL before A (initdb's first segment) goes.
    kept = prune.prune(store, keyring, recovery_window_days=1, now=first.completed_at + timedelta(days=1, seconds=1))
    assert kept.kept_backups == [first.backup_id, second.backup_id] and not kept.deleted_backups
    assert kept.deleted_wal == sorted(n for n in wal_names if n < first.start_wal) != []
    before = sorted(o.key for o in store.list())

    # The window opens after B ended: B alone is needed, and WAL from B's first segment on.
    result = prune.prune(store, keyring, recovery_window_days=1,
                         now=second.completed_at + timedelta(days=1, seconds=1))
    assert result.kept_backups == [second.backup_id] and result.deleted_backups == [first.backup_id]
    assert result.oldest_needed_wal == second.start_wal
    remaining = {archive.name_of_key(o.key) for o in store.list("wal/")}
    assert min(n for n in remaining if not n.endswith((".backup", ".history"))) == second.start_wal
    assert set(result.deleted_wal) == {n for n in (archive.name_of_key(k) for k in before if k.startswith("wal/"))
                                       if n < second.start_wal}
    assert store.head(first.object_key) is None and store.head(second.object_key) is not None
    assert prune.prune(store, keyring, recovery_window_days=1,
                       now=second.completed_at + timedelta(days=30)).kept_backups == [second.backup_id]


def old_segment_keys(store, system: str, before: str) -> list[str]:
    """Keys of the archived segments (not history or backup files) before segment `before`, oldest first."""
    names = (archive.name_of_key(o.key) for o in store.list("wal/"))
    return [archive.wal_key(system, n) for n in sorted(n for n in names if len(n) == 24 and n < before)]


def test_prune_under_object_lock_keeps_and_reports_locked_objects_and_the_window(history, local_archive,
                                                                                 s3_locked_store, s3_client):
    """Real S3 Object Lock (moto server): a retention date after the prune's now and a legal hold keep an
    object; a retention that has ended does not. The window stays whole."""
    first, second, system, names = history
    after_second = second.completed_at + timedelta(days=1, seconds=1)  # the window opens after B
    locked_until, ended = datetime.now(UTC) + timedelta(days=30), datetime.now(UTC) + timedelta(hours=1)
    retained, held, expired, *_ = old_segment_keys(local_archive.store, system, second.start_wal)
    for obj in local_archive.store.list():
        until = {first.object_key: locked_until, retained: locked_until, expired: ended}.get(obj.key)
        s3_locked_store.put_bytes(obj.key, local_archive.store.read_bytes(obj.key), retain_until=until)
    s3_client.put_object_legal_hold(Bucket=s3_locked_store.bucket, Key=f"hv/{held}", LegalHold={"Status": "ON"})

    result = prune.prune(s3_locked_store, local_archive.keyring, recovery_window_days=1, now=after_second)
    assert sorted(result.locked) == sorted([first.object_key, retained, held]) and not result.failed
    assert result.kept_backups == [second.backup_id] and result.deleted_backups == []
    assert archive.name_of_key(expired) in result.deleted_wal and s3_locked_store.head(expired) is None
    first_descriptor = descriptor.descriptor_key(system, first.backup_id)
    for key in (first.object_key, first_descriptor, retained, held):
        assert s3_locked_store.head(key) is not None  # the locked backup keeps its descriptor: still usable
    state = read_state(s3_locked_store, local_archive.keyring, system)
    assert [b.backup_id for b in state.backups] == [first.backup_id, second.backup_id]
    assert state.first_gap(segment_of(parse_lsn(second.start_lsn))) is None  # the window is whole
    again = prune.prune(s3_locked_store, local_archive.keyring, recovery_window_days=1, now=after_second)
    assert sorted(again.locked) == sorted(result.locked) and not again.deleted_wal and not again.failed


def test_an_object_the_store_refuses_to_delete_is_reported_and_the_rest_is_pruned(history, local_archive,
                                                                                  monkeypatch, capsys):
    first, second, system, names = history
    store = local_archive.store
    old = old_segment_keys(store, system, second.start_wal)
    refused = store.root / old[0]
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(refused)]).returncode != 0:
        pytest.skip("needs chattr +i (root, ext4 or the like): a delete the filesystem itself refuses")
    try:  # the window opens now: B alone is needed, A and the WAL before B go
        code, out, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "prune", "--recovery-window-days", "0")
    finally:
        subprocess.run(["chattr", "-i", str(refused)], check=True)
    assert code == 1 and err.startswith("error: the store refused to delete 1 object(s)")
    assert f"(first: {old[0]} (PermissionError))" in err and "run `hv pitr prune` again" in err
    assert "deleted 1 base backup(s)" in out  # the rest of the prune went on
    assert store.head(first.object_key) is None and store.head(second.object_key) is not None
    assert {o.key for o in store.list("wal/")} & set(old) == {old[0]}
    state = read_state(store, local_archive.keyring, system)
    assert state.first_gap(segment_of(parse_lsn(second.start_lsn))) is None


def test_backup_list_shows_base_backups_beside_logical_ones(history, local_archive, monkeypatch, capsys):
    first, second, system, names = history
    code, out, err = hv(monkeypatch, capsys, local_archive.env, "backup", "list")
    assert code == 0, err
    assert "PHYSICAL base backups" in out
    rows = [line for line in out.splitlines() if line.startswith((first.backup_id, second.backup_id))]
    assert len(rows) == 2 and all(system in row for row in rows)


def test_status_with_the_server_reports_its_archiver_and_a_missing_base_backup(archiving_cluster, local_archive,
                                                                               monkeypatch, capsys):
    switch_and_wait(archiving_cluster)
    code, out, err = hv(monkeypatch, capsys, {**local_archive.env, "DATABASE_URL": archiving_cluster.url()},
                        "pitr", "status")
    assert code == 0, err
    assert "server: archive_mode=on" in out and "base backups: 0" in out
    assert "recoverable window: none" in out
