"""A zstd frame cut short inside an authentic envelope is refused: zstd itself says nothing.

A frame that ends before its last block, or before its content checksum, decompresses without an
error; the plaintext just stops. The envelope cannot see it either when the short frame was sealed
as it is (a bug in the writer, or a backup tool re-sealing what it was handed). Only the
decompressor's end-of-frame check tells "the whole dump" from "a dump that stopped early".
"""

from __future__ import annotations

import io
from contextlib import closing

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.backup import catalog
from hv_pipelines.core.backup.restore import restore_stream
from hv_pipelines.core.backup.streams import compress, decompress
from hv_pipelines.core.backup.tools import server_major
from hv_pipelines.core.envelope import decrypt_stream, encrypt_stream
from hv_pipelines.core.errors import IntegrityError

CHECKSUM = 4  # a frame written with write_checksum=True ends in the 4-byte XXH64 of its content


def _frame(plaintext: bytes) -> bytes:
    return b"".join(compress([plaintext], level=3))


def test_a_frame_without_its_checksum_is_refused_after_all_its_plaintext():
    plaintext = b"".join(b"row %d of the dump\n" % i for i in range(50_000))
    frame = _frame(plaintext)
    produced = bytearray()

    with pytest.raises(IntegrityError, match="incomplete"):
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


def _sealed_dump(module_backup, keyring, cut: int) -> bytes:
    """The module backup's zstd frame less its last `cut` bytes, sealed again with the real envelope."""
    result, store = module_backup
    with closing(store.open(result.manifest.object_key)) as body:
        frame = b"".join(decrypt_stream(body, keyring))
    return b"".join(encrypt_stream([frame[:len(frame) - cut]], keyring))


def _is_empty(url: str) -> bool:
    with db.connect(url) as conn:
        return catalog.is_empty(conn)


def test_a_resealed_dump_missing_its_frame_end_leaves_the_target_untouched(module_backup, module_keyring,
                                                                          empty_db):
    # Every byte of the pg_dump archive is inside the short frame: pg_restore alone would commit it.
    truncated = _sealed_dump(module_backup, module_keyring, CHECKSUM)
    major = server_major(module_backup[0].manifest.pg_dump_version)
    with pytest.raises(IntegrityError, match="incomplete"):
        restore_stream(io.BytesIO(truncated), module_keyring, empty_db, pg_restore_major=major)
    assert _is_empty(empty_db), "the restore was stopped before pg_restore saw the end of its input"

    whole = _sealed_dump(module_backup, module_keyring, 0)
    restored = restore_stream(io.BytesIO(whole), module_keyring, empty_db, pg_restore_major=major)
    assert restored == module_backup[0].manifest.dump_bytes and not _is_empty(empty_db)
