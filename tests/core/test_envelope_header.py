"""The envelope header's own refusals and limits, each fed the header it guards against (mutmut found
them unheld by tests/core/test_envelope.py: the chunk-size bounds, the header's error messages, and
reading an object sealed without a context)."""

from __future__ import annotations

import io
import struct

import pytest

from hv_pipelines.core.envelope import (
    MAGIC,
    MAX_CHUNK_SIZE,
    NONCE_PREFIX_SIZE,
    decrypt_stream,
    encrypt_stream,
    open_stream,
    read_header,
)
from hv_pipelines.core.errors import IntegrityError

CHUNK_SIZE_AT = len(MAGIC) + 1  # after the magic and the version byte
KEY_ID_LENGTH_AT = CHUNK_SIZE_AT + 4 + NONCE_PREFIX_SIZE  # after the chunk size and the nonce prefix


def sealed(keyring, data: bytes = b"payload", **kwargs) -> bytes:
    return b"".join(encrypt_stream([data], keyring, **kwargs))


@pytest.mark.parametrize("chunk_size", [1, MAX_CHUNK_SIZE])
def test_the_smallest_and_the_largest_chunk_size_round_trip(keyring, chunk_size):
    data = b"abc"
    obj = sealed(keyring, data, chunk_size=chunk_size)
    assert read_header(io.BytesIO(obj)).chunk_size == chunk_size
    assert b"".join(decrypt_stream(io.BytesIO(obj), keyring)) == data


@pytest.mark.parametrize("chunk_size", [0, MAX_CHUNK_SIZE + 1])
def test_a_header_claiming_an_impossible_chunk_size_is_refused(keyring, chunk_size):
    obj = bytearray(sealed(keyring))
    struct.pack_into(">I", obj, CHUNK_SIZE_AT, chunk_size)
    with pytest.raises(IntegrityError, match=rf"^encrypted object header is corrupt \(chunk size {chunk_size}\)$"):
        read_header(io.BytesIO(bytes(obj)))


def test_a_header_cut_inside_the_master_key_id_is_refused_as_truncated(keyring):
    obj = sealed(keyring)
    with pytest.raises(IntegrityError, match="^encrypted object header is truncated$"):
        read_header(io.BytesIO(obj[:KEY_ID_LENGTH_AT + 3]))


def test_a_master_key_id_that_is_not_ascii_is_refused(keyring):
    obj = bytearray(sealed(keyring))
    length = obj[KEY_ID_LENGTH_AT]
    obj[KEY_ID_LENGTH_AT + 1:KEY_ID_LENGTH_AT + 1 + length] = b"\xff" * length
    with pytest.raises(IntegrityError, match=r"^encrypted object header is corrupt \(master key id or context\)$"):
        read_header(io.BytesIO(bytes(obj)))


def test_an_object_sealed_without_a_context_opens_without_one(keyring):
    header, chunks = open_stream(io.BytesIO(sealed(keyring)), keyring)
    assert header.context == "" and b"".join(chunks) == b"payload"
