"""Base backups and point-in-time restore against real PostgreSQL 16, pg_basebackup and the WAL archive."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.cli import main
from hv_pipelines.core import db
from hv_pipelines.core.pitr import basebackup, descriptor, manifest, markers, restore, sealed
from hv_pipelines.core.pitr.cluster import Cluster
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.tartap import BLOCK, _name, _size
from hv_pipelines.core.pitr.walfiles import control_system_identifier

from .conftest import start_archiving_cluster, switch_and_wait

pytestmark = pytest.mark.slow


def hv(monkeypatch, capsys, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`hv ...` through the real entry point with the operator's variables: exit code, stdout, stderr."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["hv", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    return exited.value.code, out.out, out.err


def markers_around_a_second(url: str) -> tuple[str, str, datetime]:
    """Marker one, then a whole second, then marker two: (first, second, that second)."""
    first, committed = markers.write_marker(url)
    second_mark = datetime.fromtimestamp(math.floor(committed.timestamp()) + 1, UTC)
    time.sleep(max(0.0, (second_mark - datetime.now(UTC)).total_seconds()) + 0.3)
    second, _ = markers.write_marker(url)
    return first, second, second_mark


def test_restore_to_a_given_second_has_the_first_marker_and_not_the_second(any_archive, scratch, cluster_template,
                                                                           monkeypatch, capsys):
    cluster = start_archiving_cluster(scratch, any_archive, cluster_template)
    try:
        code, out, err = hv(monkeypatch, capsys, {**any_archive.env, "DATABASE_URL": cluster.url()},
                            "pitr", "base-backup")
        assert code == 0, err
        assert "start LSN 0/" in out and "timeline 1" in out
        first, second, second_mark = markers_around_a_second(cluster.url())
        switch_and_wait(cluster)
    finally:
        cluster.stop("immediate")
    target = second_mark.strftime("%Y-%m-%dT%H:%M:%SZ")  # to the second, as an operator types it
    restored = scratch / "restored"
    code, out, err = hv(monkeypatch, capsys, any_archive.env, "pitr", "restore", "--target-time", target,
                        "--data-dir", str(restored), "--start")
    assert code == 0, err
    assert f"recovered to time {second_mark.isoformat()}" in out and "running: postgresql://" in out
    assert " 0 WAL segment(s) prefetched" not in out
    url = out.split("running: ")[1].split()[0]
    try:
        assert markers.present(url, [first, second]) == {first}
        assert not (restored / "hv_restore.env").exists()  # the key does not stay beside the data
    finally:
        Cluster(restored, cluster.bin_dir).stop()


@pytest.fixture
def backed_up(scratch, local_archive, cluster_template):
    """A cluster with one base backup and archived WAL after it (stopped)."""
    cluster = start_archiving_cluster(scratch, local_archive, cluster_template)
    try:
        backup = basebackup.take_base_backup(cluster.url(), local_archive.store, local_archive.keyring)
        markers.write_marker(cluster.url())
        switch_and_wait(cluster)
    finally:
        cluster.stop("immediate")
    return backup, control_system_identifier(cluster.data_dir)


def test_a_base_backup_holds_no_plaintext_and_names_its_wal(backed_up, local_archive):
    backup, system = backed_up
    assert backup.system_identifier == str(system) and backup.timeline == 1
    assert backup.start_wal.startswith("00000001") and backup.stop_lsn >= backup.start_lsn
    stored = local_archive.store.read_bytes(backup.object_key)
    assert b"PG_VERSION" not in stored and b"backup_label" not in stored
    assert len(stored) == backup.object_bytes


def test_every_file_of_a_real_base_backup_is_checked_as_it_streams(backed_up, local_archive, scratch):
    """Not one manifest entry left to pg_verifybackup's re-read: names, digests and algorithm all agree."""
    backup, _ = backed_up
    assert backup.manifest_checksums == manifest.BACKUP_CHECKSUMS == "SHA256"
    (scratch / "extracted").mkdir()
    manifest_bytes, digests = restore.extract(local_archive.store, local_archive.keyring, backup, scratch / "extracted")
    assert manifest.compare(manifest_bytes, digests, "SHA256", what=backup.object_key) is True
    assert "global/pg_control" in digests and "backup_manifest" in digests


def test_restore_refuses_a_non_empty_directory_and_targets_outside_the_window(backed_up, local_archive, scratch,
                                                                              monkeypatch, capsys):
    backup, _ = backed_up
    busy = scratch / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "restore", "--latest", "--data-dir", str(busy))
    assert code == 1 and "is not empty" in err
    assert (busy / "something").read_text() == "x"

    before = (backup.started_at - timedelta(hours=1)).isoformat()
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "restore", "--target-time", before,
                      "--data-dir", str(scratch / "early"))
    assert code == 1 and "before the oldest base backup ended" in err and "recoverable window" in err
    after = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    code, _, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "restore", "--target-time", after,
                      "--data-dir", str(scratch / "late"))
    assert code == 1 and "after the newest archived WAL" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (scratch / "early").exists() and not (scratch / "late").exists()


def test_base_backup_of_a_server_without_archive_mode_says_what_to_do(pg_server_url, local_archive, monkeypatch,
                                                                     capsys):
    code, _, err = hv(monkeypatch, capsys, {**local_archive.env, "DATABASE_URL": pg_server_url},
                      "pitr", "base-backup")
    assert code == 1 and "archive_mode=off" in err and "docs/pitr.md" in err
    assert not list(local_archive.store.list("basebackups/"))


def test_a_failed_base_backup_leaves_no_object_and_says_why(scratch, local_archive, cluster_template, monkeypatch,
                                                            capsys):
    cluster = start_archiving_cluster(scratch, local_archive, cluster_template)
    try:
        with db.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE ROLE no_replication LOGIN")  # pg_basebackup needs REPLICATION
        url = cluster.url(user="no_replication")
        code, _, err = hv(monkeypatch, capsys, {**local_archive.env, "DATABASE_URL": url}, "pitr", "base-backup")
    finally:
        cluster.stop("immediate")
    assert code == 1 and "pg_basebackup exited with status" in err and "was not stored" in err
    assert list(local_archive.store.list("basebackups/")) == []


def reseal_with_one_file_changed(archive, backup: BaseBackup) -> str:
    """Flip one byte inside a relation file of `backup` (its size unchanged, its authentic manifest kept) and
    seal it again under the real key, descriptor and all, as an attacker holding the key or a bug
    between pg_basebackup and the store would; the name of the changed file."""
    context = descriptor.object_context(backup.system_identifier, backup.backup_id)
    with closing(archive.store.open(backup.object_key)) as body:
        binding, content = sealed.open_sealed(body, archive.keyring, context, what=backup.object_key)
        tar = bytearray(b"".join(content))
    offset = 0
    while not (_name(tar[offset:offset + BLOCK]).startswith("base/") and _size(tar[offset:offset + BLOCK]) >= 8192):
        size = _size(tar[offset:offset + BLOCK])
        offset += BLOCK + size + (-size % BLOCK)
    name = _name(tar[offset:offset + BLOCK])
    tar[offset + BLOCK + 4000] ^= 0x01
    sealed_bytes = b"".join(sealed.seal(context, binding, [bytes(tar)], archive.keyring, level=1))
    archive.store.delete(backup.object_key)
    archive.store.put_bytes(backup.object_key, sealed_bytes)
    changed = dataclasses.replace(backup, object_bytes=len(sealed_bytes),
                                  object_sha256=hashlib.sha256(sealed_bytes).hexdigest())
    key = descriptor.descriptor_key(backup.system_identifier, backup.backup_id)
    archive.store.delete(key)
    archive.store.put_bytes(key, changed.seal(archive.keyring))
    return name


@pytest.mark.parametrize(("checksums", "refusal"), [
    ("SHA256", "the content of {name} differs from its backup_manifest (SHA256)"),  # checked as it streams
    ("CRC32C", "pg_verifybackup refused base backup"),  # older backups: pg_verifybackup reads every file back
])
def test_a_file_that_differs_from_the_authentic_manifest_is_refused_before_recovery(
        checksums, refusal, scratch, local_archive, cluster_template, monkeypatch, capsys):
    cluster = start_archiving_cluster(scratch, local_archive, cluster_template)
    try:
        backup = basebackup.take_base_backup(cluster.url(), local_archive.store, local_archive.keyring,
                                             manifest_checksums=checksums)
        switch_and_wait(cluster)
    finally:
        cluster.stop("immediate")
    assert backup.manifest_checksums == checksums
    name = reseal_with_one_file_changed(local_archive, backup)
    restored = scratch / "restored"
    code, out, err = hv(monkeypatch, capsys, local_archive.env, "pitr", "restore", "--latest",
                        "--data-dir", str(restored))
    assert code == 1, out
    assert refusal.format(name=name) in err and backup.backup_id in err and name in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not restored.exists()  # nothing of it left, and no server was ever started on it
