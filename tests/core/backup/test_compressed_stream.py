"""A zstd frame cut short inside an authentic envelope is refused: zstd itself says nothing.

A frame that ends before its last block, or before its content checksum, decompresses without an
error; the plaintext just stops. The envelope cannot see it either when the short frame was sealed
as it is (a bug in the writer, or a backup tool re-sealing what it was handed). Only the
decompressor's end-of-frame check tells "the whole dump" from "a dump that stopped early".
"""

from __future__ import annotations

from contextlib import closing

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.backup import catalog, layout, restore_backup
from hv_pipelines.core.envelope import decrypt_stream, encrypt_stream
from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.zstd_frames import compress, decompress

CHECKSUM = 4  # a frame written with write_checksum=True ends in the 4-byte XXH64 of its content


def _frame(plaintext: bytes) -> bytes:
    return b"".join(compress([plaintext], level=3))


def test_a_frame_without_its_checksum_is_refused_after_all_its_plaintext():
    plaintext = b"".join(b"row %d of the dump\n" % i for i in range(50_000))
    frame = _frame(plaintext)
    produced = bytearray()

    with pytest.raises(IntegrityError, match="^the compressed dump inside the backup is incomplete$"):
        for piece in decompress([frame[:-CHECKSUM]]):
            produced += piece

    assert bytes(produced) == plaintext, "every byte came out: only the end-of-frame check can tell"
    assert b"".join(decompress([frame])) == plaintext


def test_a_frame_cut_inside_a_block_is_refused():
    plaintext = bytes(range(256)) * 4096
    frame = _frame(plaintext)
    with pytest.raises(IntegrityError, match="incomplete"):
        b"".join(decompress([frame[:len(frame) // 2]]))


def test_a_frame_with_no_block_at_all_is_refused():
    frame = _frame(b"x" * 1000)
    with pytest.raises(IntegrityError, match="incomplete"):
        b"".join(decompress([frame[:6]]))  # magic number and the start of the frame header


def test_a_frame_with_a_damaged_block_is_refused_as_corrupt():
    plaintext = b"".join(b"row %d of the dump\n" % i for i in range(50_000))
    frame = bytearray(_frame(plaintext))
    frame[len(frame) // 2] ^= 0xFF  # inside the compressed block: its content checksum no longer matches
    with pytest.raises(IntegrityError, match="^the compressed dump inside the backup is corrupt$"):
        b"".join(decompress([bytes(frame)]))


def _frame_and_reseal(stored, keyring):
    """The stored object's zstd frame, and a function that replaces the object with a frame sealed again
    by the real envelope under the backup's own name: authentic, and bound to the backup it claims to be."""
    result, store = stored
    key, context = result.manifest.object_key, layout.envelope_context(result.manifest.backup_id)
    with closing(store.open(key)) as body:
        frame = b"".join(decrypt_stream(body, keyring, context=context))
    return frame, lambda data: store.put_bytes(key, b"".join(encrypt_stream([data], keyring, context=context)))


def _is_empty(url: str) -> bool:
    with db.connect(url) as conn:
        return catalog.is_empty(conn)


def test_a_resealed_dump_missing_its_frame_end_is_refused_and_the_target_untouched(backup_copy, module_keyring,
                                                                                  empty_db):
    # Every byte of the pg_dump archive is inside the short frame: pg_restore alone would commit it.
    # Without the manifest (lost), the object and the key are all a restore has to go by.
    result, store = backup_copy
    backup_id = result.manifest.backup_id
    frame, reseal = _frame_and_reseal(backup_copy, module_keyring)
    reseal(frame[:-CHECKSUM])
    with pytest.raises(IntegrityError, match="incomplete"):
        restore_backup(store, module_keyring, backup_id, empty_db, use_manifest=False, audit_target=False)
    assert _is_empty(empty_db), "the restore was refused before pg_restore saw the end of its input"

    reseal(frame)  # the same frame, whole: restores
    restored = restore_backup(store, module_keyring, backup_id, empty_db, use_manifest=False, audit_target=False)
    assert restored.dump_bytes == result.manifest.dump_bytes and not _is_empty(empty_db)
