"""A damaged backup is refused loudly (naming the chunk) and leaves the restore target untouched;
a backup that fails part-way leaves nothing that counts."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.backup import (
    ToolError,
    catalog,
    create_backup,
    list_backups,
    restore_backup,
    verify_backup,
)
from hv_pipelines.core.envelope import TAG_SIZE, read_header
from hv_pipelines.core.errors import IntegrityError, StorageError
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.storage import LocalStore
from hv_pipelines.core.zstd_frames import compress
from tests.core.backup.faulty_stores import FlippingStore, ResealingStore

CHUNK = 64 * 1024
BULK_ROWS = 60_000  # ~4 MB of the module's backup is table data, well past pg_restore's DDL


@pytest.fixture
def stored_backup(backup_copy, module_keyring):
    """A copy of the module's verified backup (many chunks), the path of its object, and the key."""
    result, store = backup_copy
    manifest = result.manifest
    assert manifest.object_bytes > 20 * CHUNK
    return manifest, store.root / manifest.object_key, store, module_keyring


def late_chunk(data: bytes) -> int:
    """A chunk near the end: pg_restore has already run DDL and COPY by the time it would arrive."""
    return (len(data) - read_header(io.BytesIO(data)).size) // (CHUNK + TAG_SIZE) - 2


def chunk_span(data: bytes, index: int) -> slice:
    start = read_header(io.BytesIO(data)).size + index * (CHUNK + TAG_SIZE)
    return slice(start, start + CHUNK + TAG_SIZE)


def assert_untouched(url: str) -> None:
    with db.connect(url) as conn:
        assert catalog.is_empty(conn), "a refused restore must leave the target as it was"


def test_flipped_byte_makes_restore_refuse_and_name_the_chunk(stored_backup, empty_db):
    manifest, path, local_store, keyring = stored_backup
    data = bytearray(path.read_bytes())
    index = late_chunk(bytes(data))
    data[chunk_span(bytes(data), index).start + 100] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(IntegrityError, match=rf"chunk {index} .*failed authentication"):
        restore_backup(local_store, keyring, manifest.backup_id, empty_db)
    assert_untouched(empty_db)
    with pytest.raises(IntegrityError, match=f"chunk {index}"):
        verify_backup(local_store, keyring, manifest.backup_id)


def test_truncated_object_makes_restore_refuse(stored_backup, empty_db):
    manifest, path, local_store, keyring = stored_backup
    data = path.read_bytes()
    index = late_chunk(data)
    path.write_bytes(data[:chunk_span(data, index).stop])

    with pytest.raises(IntegrityError, match="differs from its manifest in size"):
        restore_backup(local_store, keyring, manifest.backup_id, empty_db)
    assert_untouched(empty_db)
    with pytest.raises(IntegrityError, match=f"truncated after chunk {index}"):
        restore_backup(local_store, keyring, manifest.backup_id, empty_db, use_manifest=False)
    assert_untouched(empty_db)


def test_swapped_chunks_make_restore_refuse(stored_backup, empty_db):
    manifest, path, local_store, keyring = stored_backup
    data = path.read_bytes()
    index = late_chunk(data) - 1
    one, two = chunk_span(data, index), chunk_span(data, index + 1)
    path.write_bytes(data[:one.start] + data[two] + data[one] + data[two.stop:])

    with pytest.raises(IntegrityError, match=rf"chunk {index} .*reordered"):
        restore_backup(local_store, keyring, manifest.backup_id, empty_db)
    assert_untouched(empty_db)


def test_wrong_key_makes_restore_refuse(stored_backup, empty_db):
    manifest, _, local_store, keyring = stored_backup
    stranger = Keyring.from_hex(generate_hex_key())
    with pytest.raises(IntegrityError, match=f"{keyring.active_key_id} is not in the keyring"):
        restore_backup(local_store, stranger, manifest.backup_id, empty_db)
    assert_untouched(empty_db)


def test_edited_manifest_is_not_trusted(stored_backup):
    manifest, path, local_store, keyring = stored_backup
    manifest_path = path.with_name(f"{manifest.backup_id}.manifest.json")
    manifest_path.write_text(manifest_path.read_text().replace('"public.customers": 120', '"public.customers": 121'))
    with pytest.raises(IntegrityError, match="manifest .* authentication failed"):
        verify_backup(local_store, keyring, manifest.backup_id)
    assert [e.status for e in list_backups(local_store, keyring)] == ["unauthentic"]


FAILING_PG_DUMP = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {major}.99"; exit 0; fi
head -c 3000000 /dev/urandom
echo 'pg_dump: error: Dumping the contents of table "customers" failed: PQgetResult() failed.' >&2
echo 'DETAIL:  Key (email)=(jane.doe@example.test) already exists.' >&2
exit 1
"""


def test_pg_dump_failing_midway_leaves_no_object_and_no_manifest(populated_db, any_store, keyring, tmp_path,
                                                                  monkeypatch):
    with db.connect(populated_db) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    fake = tmp_path / "fake-bin" / "pg_dump"
    fake.parent.mkdir()
    fake.write_text(FAILING_PG_DUMP.format(major=major))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("HV_PG_BIN", str(fake.parent))

    with pytest.raises(ToolError, match=r'pg_dump exited with status 1: .*table "customers" failed') as failure:
        create_backup(populated_db, any_store, keyring)
    assert "jane.doe" not in str(failure.value)
    assert list(any_store.list("backups/")) == []
    if hasattr(any_store, "bucket"):
        assert "Uploads" not in any_store.client.list_multipart_uploads(Bucket=any_store.bucket)
    with db.connect(populated_db) as conn:
        assert conn.execute("SELECT severity FROM audit_logs WHERE action = 'BACKUP_FAILED'").fetchall() == [
            ("ERROR",)]


def test_upload_failing_midway_aborts_the_multipart_upload(populated_db, s3_store, keyring, monkeypatch):
    from hv_pipelines.core import storage

    monkeypatch.setattr(storage, "S3_PART_SIZE", 5 * 1024 * 1024)  # S3's minimum, so a small dump has parts
    with db.connect(populated_db) as conn:  # ~12 MB of poorly compressible text: several parts
        conn.execute("CREATE TABLE bulk_notes AS SELECT g AS id, md5(random()::text) || md5(random()::text) "
                     "AS body FROM generate_series(1, 180000) AS g")
    uploaded_parts = []

    def drop_connection_on_second_part(params, **_):
        uploaded_parts.append(params["PartNumber"])
        if params["PartNumber"] == 2:
            raise ConnectionResetError("simulated network failure")

    s3_store.client.meta.events.register("provide-client-params.s3.UploadPart", drop_connection_on_second_part)

    with pytest.raises(StorageError, match="upload .* failed .*aborted"):
        create_backup(populated_db, s3_store, keyring)
    assert uploaded_parts == [1, 2]
    assert list(s3_store.list("backups/")) == []
    assert "Uploads" not in s3_store.client.list_multipart_uploads(Bucket=s3_store.bucket)


def stored_files(store) -> list[Path]:
    return [p for p in Path(store.root).rglob("*") if p.is_file()]


def test_a_read_back_with_a_flipped_byte_fails_the_backup_and_leaves_nothing(populated_db, tmp_path, keyring):
    store = FlippingStore(tmp_path / "objects")
    with pytest.raises(IntegrityError, match="chunk .*failed authentication"):
        create_backup(populated_db, store, keyring)
    assert stored_files(store) == []


def test_a_read_back_of_another_authentic_encryption_fails_the_backup(populated_db, tmp_path, keyring):
    """Every chunk of the read-back authenticates: only its comparison with what was uploaded refuses it."""
    store = ResealingStore(tmp_path / "objects", keyring)
    with pytest.raises(IntegrityError, match="stored object differs from what was uploaded"):
        create_backup(populated_db, store, keyring)
    assert stored_files(store) == []
    with db.connect(populated_db) as conn:
        assert conn.execute("SELECT count(*) FROM audit_logs WHERE action = 'BACKUP_CREATED'").fetchone()[0] == 0


def assert_nothing_counts(url: str, store) -> None:
    assert stored_files(store) == []
    with db.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM audit_logs WHERE action = 'BACKUP_CREATED'").fetchone()[0] == 0


def test_a_compressor_that_cuts_its_frame_short_fails_the_backup(populated_db, tmp_path, keyring, monkeypatch):
    """The read-back decompresses the stored frame to its end: one that stops before its content checksum
    (which zstd itself decompresses without a word) fails the backup, and nothing of it counts."""
    def cut_short(pieces, *, level):
        frame = b"".join(compress(pieces, level=level))
        yield frame[:-4]

    monkeypatch.setattr("hv_pipelines.core.backup.create.compress", cut_short)
    store = LocalStore(tmp_path / "objects")
    with pytest.raises(IntegrityError, match="^the compressed dump inside the backup is incomplete$"):
        create_backup(populated_db, store, keyring)
    assert_nothing_counts(populated_db, store)


@pytest.mark.parametrize("output", ["head -c 3000000 /dev/urandom", ""], ids=["random bytes", "nothing"])
def test_a_pg_dump_that_writes_no_archive_fails_the_backup(populated_db, tmp_path, keyring, monkeypatch, output):
    """A pg_dump that exits 0 without writing an archive: its frame decompresses cleanly (an empty one too),
    so only the read-back's look at what it decompresses to refuses it."""
    with db.connect(populated_db) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    fake = tmp_path / "fake-bin" / "pg_dump"
    fake.parent.mkdir()
    fake.write_text(FAILING_PG_DUMP.format(major=major).replace("exit 1", "exit 0")
                    .replace("head -c 3000000 /dev/urandom", output))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("HV_PG_BIN", str(fake.parent))
    store = LocalStore(tmp_path / "objects")
    with pytest.raises(IntegrityError, match="does not decompress to a pg_dump archive"):
        create_backup(populated_db, store, keyring)
    assert_nothing_counts(populated_db, store)
