import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from hv_pipelines.core.errors import StorageError
from hv_pipelines.core.storage import S3_PART_SIZE, STALE_UPLOAD_AGE, LocalStore, open_store


def test_object_round_trips_through_each_backend(any_store):
    payload = [b"alpha" * 1000, b"", b"omega"]
    stored = any_store.put_stream("backups/db/2026/01/01/x.dump.enc", iter(payload))
    assert stored.size == sum(map(len, payload))
    assert any_store.read_bytes("backups/db/2026/01/01/x.dump.enc") == b"".join(payload)
    assert [o.key for o in any_store.list("backups/db/")] == ["backups/db/2026/01/01/x.dump.enc"]
    assert any_store.head("backups/db/2026/01/01/x.dump.enc").size == stored.size
    any_store.delete("backups/db/2026/01/01/x.dump.enc")
    assert any_store.head("backups/db/2026/01/01/x.dump.enc") is None


def test_s3_multipart_upload_spans_several_parts(s3_store, s3_client):
    blob = bytes(range(256)) * (S3_PART_SIZE // 256) + b"tail"
    chunks = (blob[i:i + 1_000_003] for i in range(0, len(blob), 1_000_003))
    s3_store.put_stream("big.bin", chunks)
    head = s3_client.head_object(Bucket=s3_store.bucket, Key="hv/big.bin")
    assert head["ContentLength"] == len(blob)
    assert head["ServerSideEncryption"] == "AES256"
    assert s3_store.read_bytes("big.bin") == blob


def _failing_stream():
    yield b"x" * (S3_PART_SIZE + 10)
    raise RuntimeError("pg_dump died")


def test_failed_upload_leaves_no_object(any_store):
    with pytest.raises(RuntimeError):
        any_store.put_stream("half.bin", _failing_stream())
    assert any_store.head("half.bin") is None
    assert list(any_store.list("")) == []


def test_s3_aborts_multipart_upload_on_failure(s3_store, s3_client):
    with pytest.raises(RuntimeError):
        s3_store.put_stream("half.bin", _failing_stream())
    assert s3_client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", []) == []


def test_object_lock_is_detected_and_applied(s3_locked_store, s3_store, s3_client):
    from datetime import UTC, datetime, timedelta

    assert s3_locked_store.supports_object_lock() and not s3_store.supports_object_lock()
    until = datetime.now(UTC) + timedelta(days=1)
    s3_locked_store.put_bytes("locked.bin", b"data", retain_until=until)
    head = s3_client.head_object(Bucket=s3_locked_store.bucket, Key="hv/locked.bin")
    assert head["ObjectLockMode"] == "GOVERNANCE"


def test_move_publishes_the_object_under_its_new_key_only(any_store):
    any_store.put_bytes("documents/incoming/x", b"sealed bytes")
    any_store.move("documents/incoming/x", "documents/ab/abcdef")
    assert any_store.read_bytes("documents/ab/abcdef") == b"sealed bytes"
    assert any_store.head("documents/incoming/x") is None
    assert [o.key for o in any_store.list("documents/")] == ["documents/ab/abcdef"]


def test_missing_object_names_the_key(any_store):
    with pytest.raises(StorageError, match="nothing.bin"):
        any_store.read_bytes("nothing.bin")


def test_open_store_refuses_unknown_scheme():
    with pytest.raises(Exception, match="unsupported object store URL scheme"):
        open_store("ftp://example/x")


def leave_upload(store: LocalStore, key: str, age: timedelta) -> Path:
    """What a process killed mid-upload leaves: a `.upload-*` file of ciphertext, last written `age` ago."""
    path = store.root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(4096))
    stamp = time.time() - age.total_seconds()
    os.utime(path, (stamp, stamp))
    return path


def test_opening_a_local_store_sweeps_stale_uploads_of_killed_processes(tmp_path):
    store = LocalStore(tmp_path / "objects")
    store.put_bytes("backups/db/2025/01/02/kept.dump.enc", b"published")
    stale = leave_upload(store, "backups/db/2025/01/02/.upload-killed", STALE_UPLOAD_AGE + timedelta(minutes=1))
    live = leave_upload(store, "audit/2025/.upload-running", STALE_UPLOAD_AGE - timedelta(minutes=5))

    open_store(str(store.root))

    assert not stale.exists(), "an upload untouched for longer than the safe age is a killed one"
    assert live.exists(), "an upload written recently may still be running"
    assert store.read_bytes("backups/db/2025/01/02/kept.dump.enc") == b"published"


def test_s3_sweep_aborts_stale_multipart_uploads(s3_store, s3_client):
    """(moto reports every upload as initiated in 2010, so a recent one cannot be told apart here.)"""
    started = s3_client.create_multipart_upload(Bucket=s3_store.bucket, Key=s3_store._full("backups/db/killed"))
    s3_client.create_multipart_upload(Bucket=s3_store.bucket, Key=s3_store._full("audit/elsewhere"))
    assert s3_store.sweep_stale_uploads("backups/") == ["backups/db/killed"]
    uploads = s3_client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", [])
    assert started["UploadId"] not in [u["UploadId"] for u in uploads] and len(uploads) == 1


def test_an_s3_sweep_that_is_not_allowed_warns_and_removes_nothing(s3_client, caplog):
    from hv_pipelines.core.storage import S3Store

    missing = S3Store("no-such-bucket-for-sweep", client=s3_client)
    assert missing.sweep_stale_uploads("backups/") == []
    assert "could not sweep incomplete uploads" in caplog.text and "AbortIncompleteMultipartUpload" in caplog.text
