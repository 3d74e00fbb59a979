"""`hv wal push` as a real archive_command of PostgreSQL 16, and `hv wal fetch` reading it back."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.pitr import archive, spool
from hv_pipelines.core.pitr.cluster import as_server_user, hand_over
from hv_pipelines.core.pitr.walfiles import control_system_identifier

from .conftest import HV, start_archiving_cluster, switch_and_wait

pytestmark = pytest.mark.slow


def run_hv(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`hv` as PostgreSQL runs it: the server's OS user, in the data directory."""
    return subprocess.run([str(HV), *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          **as_server_user())


def test_archive_command_stores_segments_that_fetch_restores_byte_for_byte(any_archive, scratch, tmp_path,
                                                                          cluster_template):
    cluster = start_archiving_cluster(scratch, any_archive, cluster_template)
    try:
        name = switch_and_wait(cluster)
        original = (cluster.data_dir / "pg_wal" / name).read_bytes()
        system = control_system_identifier(cluster.data_dir)
    finally:
        cluster.stop("immediate")
    key = archive.wal_key(system, name)
    assert key == f"wal/{system}/00000001/{name}.zst.enc"
    stored = any_archive.store.read_bytes(key)
    assert original[4096:4096 + 64] not in stored  # sealed, not a plaintext copy

    dest = tmp_path / "RECOVERYXLOG"
    assert archive.fetch(name, dest, any_archive.store, any_archive.keyring, system) == len(original)
    assert dest.read_bytes() == original


@pytest.fixture
def archived(archiving_cluster, local_archive, scratch):
    """A cluster that has archived one segment, a copy of that segment, and its system identifier."""
    name = switch_and_wait(archiving_cluster)
    copy = scratch / "copy" / "pg_wal" / name
    copy.parent.mkdir(parents=True)
    shutil.copy(archiving_cluster.data_dir / "pg_wal" / name, copy)
    hand_over(scratch / "copy")
    return archiving_cluster, name, copy, control_system_identifier(archiving_cluster.data_dir)


def test_pushing_the_same_segment_again_succeeds(archived, local_archive):
    cluster, name, copy, system = archived
    before = local_archive.store.read_bytes(archive.wal_key(system, name))
    again = run_hv("wal", "push", str(copy), "--env-file", str(local_archive.env_file), cwd=copy.parent.parent)
    assert again.returncode == 0, again.stderr
    assert "already archived (same content)" in again.stderr
    assert local_archive.store.read_bytes(archive.wal_key(system, name)) == before


def test_the_same_name_with_other_content_is_refused_and_nothing_is_overwritten(archived, local_archive):
    cluster, name, copy, system = archived
    key = archive.wal_key(system, name)
    before = local_archive.store.read_bytes(key)
    data = bytearray(copy.read_bytes())
    data[100_000] ^= 0xFF  # past the page header: still a segment of this cluster, by its name
    copy.write_bytes(bytes(data))
    pushed = run_hv("wal", "push", str(copy), "--env-file", str(local_archive.env_file), cwd=copy.parent.parent)
    assert pushed.returncode == 1
    assert pushed.stderr.startswith("error: ") and "already archived" in pushed.stderr
    assert "different content" in pushed.stderr and "Traceback" not in pushed.stderr
    assert local_archive.store.read_bytes(key) == before


def test_a_file_whose_header_contradicts_its_name_is_not_archived(archived, local_archive, scratch):
    cluster, name, copy, system = archived
    renamed = copy.with_name(name[:-1] + ("9" if name[-1] != "9" else "8"))
    copy.rename(renamed)
    pushed = run_hv("wal", "push", str(renamed), "--env-file", str(local_archive.env_file),
                    cwd=copy.parent.parent)
    assert pushed.returncode == 1 and "not what its name says" in pushed.stderr
    assert local_archive.store.head(archive.wal_key(system, renamed.name)) is None


def test_fetch_of_a_missing_segment_exits_1_and_writes_nothing(archived, local_archive, scratch):
    cluster, name, copy, system = archived
    missing = name[:-1] + "F"
    dest = scratch / "RECOVERYXLOG"
    fetched = run_hv("wal", "fetch", missing, str(dest), "--env-file", str(local_archive.env_file),
                     "--system-identifier", str(system), cwd=scratch)
    assert fetched.returncode == 1 and "is not in the archive" in fetched.stderr
    assert not dest.exists()


def test_fetch_refuses_an_authentic_segment_swapped_in_under_another_name(archived, local_archive, tmp_path):
    cluster, name, copy, system = archived
    other = switch_and_wait(cluster)
    store = local_archive.store
    store.put_bytes(archive.wal_key(system, other), store.read_bytes(archive.wal_key(system, name)))
    dest = tmp_path / "RECOVERYXLOG"
    with pytest.raises(IntegrityError, match=f"sealed as 'wal/{system}/{name}', not 'wal/{system}/{other}'"):
        archive.fetch(other, dest, store, local_archive.keyring, system)
    assert not dest.exists()


def test_fetch_refuses_a_segment_of_another_cluster(archived, local_archive, tmp_path):
    cluster, name, copy, system = archived
    store, impostor = local_archive.store, system + 1
    store.put_bytes(archive.wal_key(impostor, name), store.read_bytes(archive.wal_key(system, name)))
    with pytest.raises(IntegrityError, match=f"sealed as 'wal/{system}/{name}', not 'wal/{impostor}/{name}'"):
        archive.fetch(name, tmp_path / "RECOVERYXLOG", store, local_archive.keyring, impostor)
    assert not (tmp_path / "RECOVERYXLOG").exists()


@pytest.mark.parametrize("offset", [-1, 5000])  # the last chunk's tag, a byte in the first chunk
def test_fetch_refuses_a_flipped_byte_and_writes_nothing(archived, local_archive, tmp_path, offset):
    cluster, name, copy, system = archived
    key = archive.wal_key(system, name)
    data = bytearray(local_archive.store.read_bytes(key))
    data[offset] ^= 0x01
    local_archive.store.put_bytes(key, bytes(data))
    dest = tmp_path / "RECOVERYXLOG"
    with pytest.raises(IntegrityError, match=key):
        archive.fetch(name, dest, local_archive.store, local_archive.keyring, system)
    assert not dest.exists() and not list(tmp_path.glob(".*hv-fetch"))


def test_an_env_file_others_can_read_is_refused(archived, local_archive):
    cluster, name, copy, system = archived
    os.chmod(local_archive.env_file, 0o644)
    pushed = run_hv("wal", "push", str(copy), "--env-file", str(local_archive.env_file), cwd=copy.parent.parent)
    assert pushed.returncode == 1 and "chmod 600" in pushed.stderr
    assert local_archive.key_hex not in pushed.stderr


def test_a_segment_is_bound_to_its_content_hash(archived, local_archive):
    cluster, name, copy, system = archived
    binding = archive.sealed.authenticate(local_archive.store, archive.wal_key(system, name),
                                          local_archive.keyring, archive.wal_context(system, name))
    assert binding["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert binding["system_identifier"] == str(system)


def test_fetch_with_the_wrong_key_or_a_truncated_object_says_what_to_do(archived, local_archive, scratch):
    cluster, name, copy, system = archived
    key = archive.wal_key(system, name)
    dest = scratch / "RECOVERYXLOG"
    with pytest.raises(IntegrityError, match="not in the keyring: set ENCRYPTION_KEY"):
        archive.fetch(name, dest, local_archive.store, Keyring.from_hex(generate_hex_key()), system)
    data = local_archive.store.read_bytes(key)
    local_archive.store.put_bytes(key, data[:-40])
    with pytest.raises(IntegrityError, match=f"{key}: .*(truncated|failed authentication)"):
        archive.fetch(name, dest, local_archive.store, local_archive.keyring, system)
    assert not dest.exists()


def test_restore_command_is_answered_by_the_restoring_process_and_falls_back_to_hv_wal_fetch(archived, local_archive,
                                                                                           scratch):
    cluster, name, copy, system = archived
    fallback = scratch / "fallback.sh"
    calls = scratch / "fallback-calls"
    fallback.write_text(f"#!/bin/sh\necho \"$1\" >> {calls}\nexit 3\n")
    fallback.chmod(0o755)
    spool_dir = scratch / "restored" / spool.SPOOL
    command = spool.restore_command(spool_dir, f"{fallback} %f")

    def restore_command(wanted: str) -> tuple[int, Path]:
        dest = scratch / "RECOVERYXLOG"
        dest.unlink(missing_ok=True)
        shell = command.replace("%f", wanted).replace("%p", str(dest))
        return subprocess.run(["sh", "-c", shell], timeout=60, **as_server_user()).returncode, dest

    assert restore_command(name)[0] == 3  # no restoring process: hv wal fetch
    with spool.Prefetcher(local_archive.store, local_archive.keyring, str(system), [], spool_dir) as prefetcher:
        code, dest = restore_command(name)  # not prefetched: fetched when asked
        assert code == 0 and dest.read_bytes() == copy.read_bytes()
        assert dest.stat().st_uid == scratch.stat().st_uid  # the server's to read: handed over before it appeared
        assert restore_command("00000002.history")[0] == 1  # not archived: recovery ends there
        key = archive.wal_key(system, name)
        data = bytearray(local_archive.store.read_bytes(key))
        data[len(data) // 2] ^= 1
        local_archive.store.put_bytes(key, bytes(data))
        assert restore_command(name)[0] == 3  # tampered: hv wal fetch meets it and reports it (exit 126)
    assert prefetcher.answered == 1
    assert calls.read_text().split() == [name, name]
    assert not spool_dir.exists()


def test_a_spool_written_in_another_boot_is_not_used_and_hv_wal_fetch_answers(archived, local_archive, scratch):
    """Spooled segments are not fsynced: after an OS crash one could be torn. A spool whose boot id is not
    the running kernel's (written before a reboot) is ignored, even holding the very file asked for."""
    cluster, name, copy, system = archived
    fallback = scratch / "fallback.sh"
    calls = scratch / "fallback-calls"
    fallback.write_text(f"#!/bin/sh\necho \"$1\" >> {calls}\nexit 3\n")
    fallback.chmod(0o755)
    spool_dir = scratch / "restored" / spool.SPOOL
    command = spool.restore_command(spool_dir, f"{fallback} %f")
    dest = scratch / "RECOVERYXLOG"
    shell = command.replace("%f", name).replace("%p", str(dest))
    with spool.Prefetcher(local_archive.store, local_archive.keyring, str(system), [name], spool_dir):
        deadline = time.monotonic() + 30
        while not (spool_dir / name).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (spool_dir / name).read_bytes() == copy.read_bytes()  # prefetched, whole
        assert (spool_dir / spool.BOOT).read_text() == spool.BOOT_ID.read_text()
        (spool_dir / spool.BOOT).write_text("00000000-0000-0000-0000-000000000000\n")  # as if rebooted since
        assert subprocess.run(["sh", "-c", shell], timeout=60, **as_server_user()).returncode == 3
        assert not dest.exists() and (spool_dir / name).exists()  # the spooled file was not taken
        (spool_dir / spool.BOOT).write_text(spool.BOOT_ID.read_text())  # the same boot: it is
        assert subprocess.run(["sh", "-c", shell], timeout=60, **as_server_user()).returncode == 0
        assert dest.read_bytes() == copy.read_bytes()
    assert calls.read_text().split() == [name]
