"""A restored base backup's files against its authentic backup_manifest (restore.verify_files), in-process: a data
directory and a manifest written here as pg_basebackup 16 writes one (its own checksum included), checked by the
real pg_verifybackup. No cluster: each comparison is fed the one difference it alone catches, in a second.
(test_pitr_restore.py drives the same checks through a real base backup and a running cluster.)
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.pitr import manifest, restore
from hv_pipelines.core.pitr.descriptor import BaseBackup

from .test_sealed_objects import a_backup

FILES = {
    "PG_VERSION": b"16\n",
    "global/pg_control": bytes(range(256)) * 32,
    "base/1/16384": b"\0" * 8000 + b"a row",
    "base/1/16385": b"another relation " * 100,
}


def manifest_of(files: dict[str, bytes]) -> bytes:
    """A SHA-256 backup_manifest (version 1) for `files`, laid out as pg_basebackup writes it; its
    Manifest-Checksum covers every line before its own, as pg_verifybackup checks."""
    entries = ",\n".join(
        f'{{ "Path": "{path}", "Size": {len(content)}, "Last-Modified": "2026-12-05 03:15:00 GMT", '
        f'"Checksum-Algorithm": "SHA256", "Checksum": "{hashlib.sha256(content).hexdigest()}" }}'
        for path, content in files.items())
    body = ('{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n' + entries + "\n],\n"
            '"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n')
    return (body + f'"Manifest-Checksum": "{hashlib.sha256(body.encode()).hexdigest()}"}}\n').encode()


def streamed_digests(files: dict[str, bytes]) -> dict[str, str]:
    """What untar's member check records as each file streams to tar."""
    return {path: hashlib.sha256(content).hexdigest() for path, content in files.items()}


@pytest.fixture
def restored(tmp_path) -> tuple[BaseBackup, Path, bytes]:
    """A data directory as tar left it, its backup_manifest, and the descriptor naming that manifest."""
    data_dir = tmp_path / "data"
    for path, content in FILES.items():
        (data_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / path).write_bytes(content)
    manifest_bytes = manifest_of(FILES)
    (data_dir / "backup_manifest").write_bytes(manifest_bytes)
    backup = a_backup(manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
                      manifest_checksums=manifest.BACKUP_CHECKSUMS)
    return backup, data_dir, manifest_bytes


def refusal(backup: BaseBackup, *lines: str) -> str:
    return f"pg_verifybackup refused base backup {backup.backup_id}: {' | '.join(lines)}; use another backup"


@pytest.mark.parametrize("digests", [streamed_digests(FILES), {}], ids=["checked-as-streamed", "read-back"])
def test_a_backup_whose_every_file_is_its_manifests_verifies(restored, digests):
    backup, data_dir, manifest_bytes = restored
    assert restore.verify_files(backup, data_dir, manifest_bytes, digests) is None


def test_a_file_whose_streamed_content_differs_from_the_manifest_is_refused_naming_it(restored):
    backup, data_dir, manifest_bytes = restored
    digests = {**streamed_digests(FILES), "base/1/16384": hashlib.sha256(b"other content").hexdigest()}
    with pytest.raises(manifest.FileDiffers) as refused:
        restore.verify_files(backup, data_dir, manifest_bytes, digests)
    assert str(refused.value) == (f"{backup.object_key}: the content of base/1/16384 differs from its backup_manifest "
                                  "(SHA256); do not use this backup, restore from another one")


def test_a_manifest_entry_no_file_of_the_tar_matched_is_refused_naming_it(restored):
    backup, data_dir, manifest_bytes = restored
    digests = streamed_digests(FILES)
    del digests["base/1/16385"]
    with pytest.raises(manifest.FileDiffers) as refused:
        restore.verify_files(backup, data_dir, manifest_bytes, digests)
    assert str(refused.value) == (f"{backup.object_key}: base/1/16385 is listed in its backup_manifest but is not in "
                                  "the backup; do not use this backup, restore from another one")


def test_files_checked_as_they_streamed_are_not_read_back(restored):
    """The restore's speed: a file is hashed once, on its way to tar, and pg_verifybackup is told to skip the
    checksums. Shown by a byte changed on disk after it streamed (its size kept), which no read-back saw."""
    backup, data_dir, manifest_bytes = restored
    (data_dir / "base/1/16384").write_bytes(b"\0" * 8000 + b"A row")
    restore.verify_files(backup, data_dir, manifest_bytes, streamed_digests(FILES))


@pytest.mark.parametrize(("digests", "checksums"), [
    ({}, "SHA256"),                        # no digest taken as the files streamed
    (streamed_digests(FILES), ""),         # a descriptor that records no algorithm (older ones: CRC32C)
], ids=["no-digests", "older-descriptor"])
def test_a_file_not_checked_as_it_streamed_is_read_back_by_pg_verifybackup(restored, digests, checksums):
    backup, data_dir, manifest_bytes = restored
    backup = replace(backup, manifest_checksums=checksums)
    (data_dir / "base/1/16384").write_bytes(b"\0" * 8000 + b"A row")
    with pytest.raises(IntegrityError) as refused:
        restore.verify_files(backup, data_dir, manifest_bytes, digests)
    assert str(refused.value) == refusal(backup, 'pg_verifybackup: error: checksum mismatch for file "base/1/16384"')


def test_a_file_gone_from_the_directory_is_refused(restored):
    backup, data_dir, manifest_bytes = restored
    (data_dir / "base/1/16385").unlink()
    with pytest.raises(IntegrityError) as refused:
        restore.verify_files(backup, data_dir, manifest_bytes, streamed_digests(FILES))
    assert str(refused.value) == refusal(
        backup, 'pg_verifybackup: error: "base/1/16385" is present in the manifest but not on disk')


def test_a_file_of_another_size_is_refused_though_its_checksum_was_skipped(restored):
    backup, data_dir, manifest_bytes = restored
    with (data_dir / "PG_VERSION").open("ab") as grown:
        grown.write(b"\n")
    with pytest.raises(IntegrityError) as refused:
        restore.verify_files(backup, data_dir, manifest_bytes, streamed_digests(FILES))
    assert str(refused.value) == refusal(
        backup, 'pg_verifybackup: error: "PG_VERSION" has size 4 on disk but size 3 in the manifest')


def test_files_the_manifest_does_not_list_are_refused_with_the_last_three_complaints(restored, monkeypatch):
    """Four extra files: pg_verifybackup names each on a line of its own, and the refusal keeps the last three, as
    plain text whatever colours our own environment asks of PostgreSQL's tools (the child gets none of it)."""
    backup, data_dir, manifest_bytes = restored
    extra = [f"base/1/9999{n}" for n in range(4)]
    for name in extra:
        (data_dir / name).write_bytes(b"not in the manifest")
    monkeypatch.setenv("PG_COLOR", "always")
    with pytest.raises(IntegrityError) as refused:
        restore.verify_files(backup, data_dir, manifest_bytes, streamed_digests(FILES))
    prefix, lines = f"pg_verifybackup refused base backup {backup.backup_id}: ", str(refused.value)
    assert lines.startswith(prefix) and lines.endswith("; use another backup")
    complaints = lines.removeprefix(prefix).removesuffix("; use another backup").split(" | ")
    assert len(complaints) == 3
    assert set(complaints) < {f'pg_verifybackup: error: "{name}" is present on disk but not in the manifest'
                              for name in extra}


def test_a_manifest_other_than_the_descriptors_is_refused_before_any_file_is_compared(restored):
    """Even one whose own checksum is right and whose every file matches: it is not the one the backup sealed."""
    backup, data_dir, _ = restored
    other = manifest_of({**FILES, "base/1/16386": b"a file added by whoever wrote this manifest"})
    with pytest.raises(IntegrityError) as refused:
        restore.verify_files(backup, data_dir, other, streamed_digests(FILES))
    assert str(refused.value) == (f"{backup.object_key}: its backup_manifest differs from the one its descriptor "
                                  "names; do not use this backup")
