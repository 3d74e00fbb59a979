"""What a base backup refuses, and what it records, against real servers and a real file store.

- The archiving refusals take the facts of the suite's own server (it does not archive) and of a cluster whose
  archive_command is emptied; a server with wal_level=minimal cannot have archive_mode on (PostgreSQL refuses to
  start), so it is a server that does not archive.
- The failures part-way run the real pg_basebackup against one archiving cluster for the module (each test backs
  up into a store of its own): a data directory file the server cannot read (the tar has started), a login
  without REPLICATION, a store that cannot be written, a pg_basebackup that writes no manifest, a store that keeps
  fewer bytes than it was sent. Each leaves no object, no descriptor and no upload behind.
- The descriptor's fields are read back from the stored object itself, and `_describe` is fed tars in-process.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import shutil
import stat
import tarfile
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.backup.streams import Meter, ToolError
from hv_pipelines.core.backup.tools import find_tool
from hv_pipelines.core.envelope import read_header
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError, StorageError
from hv_pipelines.core.pitr import basebackup, descriptor, sealed
from hv_pipelines.core.pitr.basebackup import ServerFacts
from hv_pipelines.core.pitr.cluster import hand_over, scratch_dir, write_settings
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.tartap import TarTap
from hv_pipelines.core.pitr.walfiles import control_system_identifier
from hv_pipelines.core.storage import LocalStore

from .conftest import archive_command, make_archive, start_archiving_cluster


def refusal(mode: str) -> str:
    return (f"the server does not archive its WAL (archive_mode={mode}): a base backup without the WAL archive "
            "cannot be recovered to any point. Set wal_level=replica, archive_mode=on and archive_command='hv wal "
            "push %p --env-file FILE' (docs/pitr.md), restart, and retry. Managed PostgreSQL (RDS, Cloud SQL) has "
            "no archive_command: use the provider's point-in-time recovery")


def files_in(store: LocalStore) -> list[str]:
    """Every file under the store's root, uploads in progress (`.upload-*`) included."""
    return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file())


# --- require_archiving ---------------------------------------------------------------------------------

def test_a_server_that_does_not_archive_is_refused_saying_what_to_set(empty_db, tmp_path, keyring):
    facts = basebackup.server_facts(empty_db)
    assert facts.archive_mode == "off"
    with pytest.raises(ConfigurationError) as refused:
        basebackup.require_archiving(facts)
    assert str(refused.value) == refusal("off")
    store = LocalStore(tmp_path / "objects")
    with pytest.raises(ConfigurationError, match=re.escape(refusal("off"))):
        basebackup.take_base_backup(empty_db, store, keyring)
    assert files_in(store) == []


@pytest.mark.parametrize("mode", ["on", "always"])
@pytest.mark.parametrize("command", ["", "   ", "\t\n"], ids=["empty", "spaces", "whitespace"])
def test_archive_mode_on_without_an_archive_command_is_refused(empty_db, mode, command):
    """The server keeps its WAL and archives none of it: no base backup could be recovered past its end."""
    facts = replace(basebackup.server_facts(empty_db), archive_mode=mode, archive_command=command)
    with pytest.raises(ConfigurationError) as refused:
        basebackup.require_archiving(facts)
    assert str(refused.value) == refusal(mode)


@pytest.mark.parametrize("mode", ["on", "always"])
def test_a_server_archiving_with_a_command_is_accepted(empty_db, mode):
    facts = replace(basebackup.server_facts(empty_db), archive_mode=mode, archive_command=" hv wal push %p ")
    assert basebackup.require_archiving(facts) is None


# --- take_base_backup against an archiving cluster -----------------------------------------------------

@pytest.fixture(scope="module")
def primary(cluster_template):
    """One archiving cluster for the module, archiving into a store of its own."""
    scratch = scratch_dir("hv-pitr-bb-test-")
    (scratch / "archive").mkdir()
    hand_over(scratch / "archive")
    archive = make_archive(scratch, LocalStore(scratch / "archive"))
    cluster = start_archiving_cluster(scratch, archive, cluster_template)
    yield cluster, archive
    cluster.stop("immediate")
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


def stored_tar(store: LocalStore, keyring, backup: BaseBackup) -> tuple[dict, bytes]:
    context = descriptor.object_context(backup.system_identifier, backup.backup_id)
    with closing(store.open(backup.object_key)) as body:
        binding, content = sealed.open_sealed(body, keyring, context, what=backup.object_key)
        return binding, b"".join(content)


def test_a_base_backup_is_described_by_what_pg_basebackup_wrote(primary, store, keyring, caplog):
    cluster, archive = primary
    system = str(control_system_identifier(cluster.data_dir))
    facts = basebackup.server_facts(cluster.url())
    assert facts == ServerFacts(system, find_tool("postgres", 16).version, "on", archive_command(archive.env_file))

    before = datetime.now(UTC)
    with caplog.at_level(logging.INFO, logger=basebackup.__name__):
        backup = basebackup.take_base_backup(cluster.url(), store, keyring, chunk_size=256 * 1024)
    after = datetime.now(UTC)

    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", backup.backup_id)
    assert backup.backup_id.startswith(f"{backup.started_at:%Y%m%dT%H%M%SZ}-")
    assert before <= backup.started_at <= backup.completed_at <= after
    assert backup.started_at.utcoffset() == backup.completed_at.utcoffset() == timedelta(0)
    assert (backup.system_identifier, backup.object_key, backup.key_id) == (
        system, descriptor.object_key(system, backup.backup_id), keyring.active_key_id)
    assert (backup.server_version, backup.pg_basebackup_version) == (
        facts.server_version, find_tool("pg_basebackup", 16).version)

    data = store.read_bytes(backup.object_key)
    assert (backup.object_bytes, backup.object_sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert read_header(store.open(backup.object_key)).chunk_size == 256 * 1024
    binding, tar = stored_tar(store, keyring, backup)
    assert binding == {"kind": "hv-base/1", "backup_id": backup.backup_id, "system_identifier": system}
    assert backup.tar_bytes == len(tar)
    with tarfile.open(fileobj=io.BytesIO(tar)) as members:
        label = members.extractfile("backup_label").read().decode()
        manifest = members.extractfile("backup_manifest").read()
    assert f"LABEL: hv {backup.backup_id}\n" in label
    assert f"START WAL LOCATION: {backup.start_lsn} (file {backup.start_wal})\n" in label
    assert "START TIMELINE: 1\n" in label and backup.timeline == 1
    assert backup.manifest_sha256 == hashlib.sha256(manifest).hexdigest() and backup.manifest_checksums == "SHA256"
    ranges = json.loads(manifest)["WAL-Ranges"]
    assert len(ranges) == 1 and backup.stop_lsn == ranges[0]["End-LSN"]
    assert {f["Checksum-Algorithm"] for f in json.loads(manifest)["Files"]} == {"SHA256"}

    upload = backup.durations["backup_upload_s"]
    assert backup.durations == {"backup_upload_s": upload, "total_s": upload}
    assert isinstance(upload, float) and 0 < upload <= (after - before).total_seconds()
    assert [r.getMessage() for r in caplog.records if r.name == basebackup.__name__] == [
        f"base backup {backup.backup_id}: {backup.object_bytes} bytes in {upload:.1f}s"]

    key = descriptor.descriptor_key(system, backup.backup_id)
    assert [o.key for o in store.list()] == [key, backup.object_key]
    assert BaseBackup.open(store.read_bytes(key), keyring, key=key) == backup


def test_a_login_with_a_password_hands_it_to_pg_basebackup(primary, store, keyring):
    """The cluster asks this login for its password (SCRAM), for its connections and for replication: the password
    in the URL reaches pg_basebackup through the environment the backup builds for it (PGPASSWORD), not ours."""
    cluster, _ = primary
    hba = cluster.data_dir / "pg_hba.conf"
    hba.write_text("host all hv_backup_pw 127.0.0.1/32 scram-sha-256\n"
                   "host replication hv_backup_pw 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    hand_over(hba)
    with db.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS hv_backup_pw")
        conn.execute("CREATE ROLE hv_backup_pw LOGIN REPLICATION PASSWORD 'a-secret-passw0rd'")
        conn.execute("GRANT pg_read_all_settings TO hv_backup_pw")
        conn.execute("SELECT pg_reload_conf()")

    def asks_for_the_password() -> bool:
        try:
            with db.connect(cluster.url(user="hv_backup_pw")):
                return False
        except HVError as refused:
            return "no password supplied" in str(refused)

    cluster.wait_until(asks_for_the_password, "the server to reload pg_hba.conf", timeout=60)
    url = cluster.url(user="hv_backup_pw:a-secret-passw0rd")
    backup = basebackup.take_base_backup(url, store, keyring)
    assert store.head(backup.object_key).size == backup.object_bytes


def test_a_server_whose_archive_command_was_emptied_is_refused_and_nothing_runs(primary, store, keyring):
    cluster, archive = primary

    def set_archive_command(command: str) -> None:
        write_settings(cluster.data_dir, {"archive_command": command})
        with db.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
        cluster.wait_until(lambda: basebackup.server_facts(cluster.url()).archive_command == command,
                           "the server to reload its archive_command", timeout=60)

    set_archive_command("")
    try:
        with pytest.raises(ConfigurationError) as refused:
            basebackup.take_base_backup(cluster.url(), store, keyring)
    finally:
        set_archive_command(archive_command(archive.env_file))
    assert str(refused.value) == refusal("on")
    assert files_in(store) == []


FAILED = "— the base backup was not stored; fix the cause above and run it again"


def test_a_pg_basebackup_that_fails_midway_leaves_no_object_and_no_descriptor(primary, store, keyring):
    """A file the server cannot read, sent after backup_label and other files: pg_basebackup exits 1 mid-tar."""
    cluster, _ = primary
    unreadable = cluster.data_dir / "hv_unreadable"
    unreadable.write_bytes(b"x" * 1024 * 1024)
    unreadable.chmod(0)
    try:
        with pytest.raises(ToolError) as failed:
            basebackup.take_base_backup(cluster.url(), store, keyring)
    finally:
        unreadable.unlink()
    message = str(failed.value)
    assert message.startswith("pg_basebackup exited with status 1: ") and message.endswith(FAILED)
    assert 'could not open file "./hv_unreadable": Permission denied' in message
    assert files_in(store) == []


def test_a_login_without_replication_is_refused_by_the_server_and_nothing_is_stored(primary, store, keyring):
    cluster, _ = primary
    with db.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS no_replication")
        conn.execute("CREATE ROLE no_replication LOGIN")
    with pytest.raises(ToolError) as failed:
        basebackup.take_base_backup(cluster.url(user="no_replication"), store, keyring)
    assert str(failed.value) == (f'pg_basebackup exited with status 1: pg_basebackup: error: connection to server at '
                                 f'"127.0.0.1", port {cluster.port} failed: FATAL:  permission denied to start WAL '
                                 f"sender {FAILED}")
    assert files_in(store) == []


def test_an_upload_that_fails_is_one_storage_error_and_stores_nothing(primary, store, keyring):
    """A file where the store's `basebackups/` directory belongs: the filesystem refuses the upload's first write."""
    cluster, _ = primary
    (store.root / "basebackups").write_text("in the way")
    system = control_system_identifier(cluster.data_dir)
    with pytest.raises(StorageError) as failed:
        basebackup.take_base_backup(cluster.url(), store, keyring)
    assert re.fullmatch(
        rf"upload of basebackups/{system}/\d{{8}}T\d{{6}}Z-[0-9a-f]{{8}}\.tar\.zst\.enc to {re.escape(store.url)} "
        r"failed \(NotADirectoryError\): the upload was aborted and no base backup was stored; check the object "
        "store and run it again", str(failed.value))
    assert isinstance(failed.value.__cause__, NotADirectoryError)
    assert files_in(store) == ["basebackups"]


WITHOUT_MANIFEST = """#!/bin/sh
# pg_basebackup as asked, but with --no-manifest (in place of --manifest-checksums)
if [ "$1" = "--version" ]; then exec {real} --version; fi
for arg; do shift; case "$arg" in --manifest-checksums=*) ;; *) set -- "$@" "$arg";; esac; done
exec {real} --no-manifest "$@"
"""


def test_a_pg_basebackup_that_writes_no_manifest_is_deleted_after_its_upload(primary, store, keyring, tmp_path,
                                                                           monkeypatch):
    """The tar is complete and uploaded, but without a manifest no restore could check its files."""
    cluster, _ = primary
    tool = tmp_path / "bin" / "pg_basebackup"
    tool.parent.mkdir()
    tool.write_text(WITHOUT_MANIFEST.format(real=find_tool("pg_basebackup", 16).path))
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("HV_PG_BIN", str(tool.parent))
    system = control_system_identifier(cluster.data_dir)
    with pytest.raises(IntegrityError) as refused:
        basebackup.take_base_backup(cluster.url(), store, keyring)
    assert re.fullmatch(rf"pg_basebackup's output has no backup_label or backup_manifest \(basebackups/{system}/"
                        r"\d{8}T\d{6}Z-[0-9a-f]{8}\.tar\.zst\.enc\): not stored", str(refused.value))
    assert files_in(store) == []


class ShortStore(LocalStore):
    """A store that acknowledges a base backup's upload having kept one byte less of it (a gateway or disk that
    cut the object short without an error): only the size check after the upload stands between it and a backup
    that counts. Everything else is the real file store."""

    def put_stream(self, key, chunks, *, retain_until=None):
        if not key.endswith(descriptor.OBJECT_SUFFIX):
            return super().put_stream(key, chunks, retain_until=retain_until)
        return super().put_stream(key, [b"".join(chunks)[:-1]], retain_until=retain_until)


def test_an_object_stored_shorter_than_it_was_uploaded_is_deleted_and_not_described(primary, tmp_path, keyring):
    cluster, _ = primary
    store = ShortStore(tmp_path / "objects")
    system = control_system_identifier(cluster.data_dir)
    with pytest.raises(IntegrityError) as refused:
        basebackup.take_base_backup(cluster.url(), store, keyring)
    assert re.fullmatch(rf"basebackups/{system}/\d{{8}}T\d{{6}}Z-[0-9a-f]{{8}}\.tar\.zst\.enc: the stored object's "
                        "size differs from what was uploaded; check the store", str(refused.value))
    assert files_in(store) == []


# --- _describe, in-process -----------------------------------------------------------------------------

FACTS = ServerFacts("7401234567890123456", "16.4", "on", "hv wal push %p")
BACKUP_ID = "20261205T031500Z-0a1b2c3d"
KEY = descriptor.object_key(FACTS.system_identifier, BACKUP_ID)
STARTED = datetime(2026, 12, 5, 3, 15, tzinfo=UTC)
LABEL = (b"START WAL LOCATION: 0/A000028 (file 00000002000000000000000A)\n"
         b"CHECKPOINT LOCATION: 0/A000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\n"
         b"START TIME: 2026-12-05 03:15:00 UTC\nLABEL: hv 20261205T031500Z-0a1b2c3d\nSTART TIMELINE: 2\n")
MANIFEST = json.dumps({"PostgreSQL-Backup-Manifest-Version": 1, "Files": [],
                       "WAL-Ranges": [{"Timeline": 2, "Start-LSN": "0/A000028", "End-LSN": "0/A000138"}]}).encode()
SEALED = b"the sealed object " * 1000


def tar_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def described(keyring, members: dict[str, bytes], durations: dict[str, float] | None = None):
    """`_describe` after a tar of `members` (and PG_VERSION) passed the tap and SEALED the cipher meter."""
    tar = tar_of({"PG_VERSION": b"16\n", **members})
    tap, cipher = TarTap({"backup_label", "backup_manifest"}), Meter(sha256=True)
    list(tap.through(tar[i:i + 700] for i in range(0, len(tar), 700)))  # headers straddle pieces, as they stream
    list(cipher.through([SEALED]))
    before = datetime.now(UTC)
    backup = basebackup._describe(FACTS, BACKUP_ID, KEY, tap, cipher, "16.6", STARTED, keyring,
                                  durations or {"backup_upload_s": 1.25}, "SHA256")
    return backup, tar, before


def test_the_descriptor_holds_what_the_label_manifest_and_streams_say(keyring):
    backup, tar, before = described(keyring, {"backup_label": LABEL, "backup_manifest": MANIFEST},
                                    {"backup_upload_s": 0.0004, "checked_s": 0.0002})
    assert before <= backup.completed_at <= datetime.now(UTC) and backup.completed_at.utcoffset() == timedelta(0)
    assert backup == BaseBackup(
        backup_id=BACKUP_ID, system_identifier=FACTS.system_identifier, object_key=KEY, object_bytes=len(SEALED),
        object_sha256=hashlib.sha256(SEALED).hexdigest(), tar_bytes=len(tar),
        manifest_sha256=hashlib.sha256(MANIFEST).hexdigest(), key_id=keyring.active_key_id, timeline=2,
        start_lsn="0/A000028", stop_lsn="0/A000138", start_wal="00000002000000000000000A", started_at=STARTED,
        completed_at=backup.completed_at, server_version="16.4", pg_basebackup_version="16.6",
        durations={"backup_upload_s": 0.0004, "checked_s": 0.0002, "total_s": 0.001}, manifest_checksums="SHA256")


def test_a_label_that_is_not_utf8_still_describes_the_backup(keyring):
    """The start time's zone is in the server's encoding; only the START lines are read."""
    label = LABEL.replace(b"UTC", b"Heure d'\xe9t\xe9")
    backup, _, _ = described(keyring, {"backup_label": label, "backup_manifest": MANIFEST})
    assert (backup.start_lsn, backup.start_wal, backup.timeline) == ("0/A000028", "00000002000000000000000A", 2)


@pytest.mark.parametrize("members", [
    {"backup_manifest": MANIFEST},
    {"backup_label": LABEL},
    {"backup_label": LABEL, "backup_manifest": b""},
    {"backup_label": LABEL.replace(b"START TIMELINE: 2\n", b""), "backup_manifest": MANIFEST},
    {"backup_label": LABEL.replace(b"START WAL LOCATION", b"STOP WAL LOCATION"), "backup_manifest": MANIFEST},
    {"backup_label": LABEL, "pg_wal/backup_manifest": MANIFEST},
], ids=["no-label", "no-manifest", "empty-manifest", "no-timeline", "no-start", "manifest-elsewhere"])
def test_a_tar_without_its_label_or_manifest_is_not_described(keyring, members):
    with pytest.raises(IntegrityError) as refused:
        described(keyring, members)
    assert str(refused.value) == f"pg_basebackup's output has no backup_label or backup_manifest ({KEY}): not stored"
