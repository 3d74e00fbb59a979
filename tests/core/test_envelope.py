"""The streaming envelope: round trips, and every way an object can be damaged is refused by chunk."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest

from hv_pipelines.core import envelope
from hv_pipelines.core.envelope import TAG_SIZE, decrypt_stream, encrypt_stream, read_header
from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring, generate_hex_key

CHUNK = 64
VERSION1_OBJECT = Path(__file__).resolve().parents[1] / "fixtures" / "envelope" / "version1.enc"
VERSION1_KEY = "00" * 31 + "01"  # the test key the fixture was sealed under, by the release before contexts


def seal(plaintext: bytes, keyring: Keyring, chunk_size: int = CHUNK, piece: int = 37) -> bytes:
    pieces = (plaintext[i:i + piece] for i in range(0, len(plaintext), piece))
    return b"".join(encrypt_stream(pieces, keyring, chunk_size=chunk_size))


def open_all(sealed: bytes, keyring: Keyring) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(sealed), keyring))


def chunk_span(sealed: bytes, index: int, chunk_size: int = CHUNK) -> slice:
    start = read_header(io.BytesIO(sealed)).size + index * (chunk_size + TAG_SIZE)
    return slice(start, start + chunk_size + TAG_SIZE)


@pytest.mark.parametrize("length", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 17])
def test_round_trip_for_every_boundary_length(keyring, length):
    plaintext = os.urandom(length)
    sealed = seal(plaintext, keyring)
    assert open_all(sealed, keyring) == plaintext
    chunks = max(1, -(-length // CHUNK))
    assert len(sealed) == read_header(io.BytesIO(sealed)).size + length + chunks * TAG_SIZE


def test_decrypts_from_an_iterable_of_odd_pieces(keyring):
    plaintext = os.urandom(10 * CHUNK + 5)
    sealed = seal(plaintext, keyring)
    pieces = (sealed[i:i + 13] for i in range(0, len(sealed), 13))
    assert b"".join(decrypt_stream(pieces, keyring)) == plaintext


def test_one_huge_input_piece_is_cut_into_chunks(keyring):
    plaintext = os.urandom(1000 * CHUNK + 3)
    sealed = b"".join(encrypt_stream([plaintext], keyring, chunk_size=CHUNK))
    assert open_all(sealed, keyring) == plaintext


def test_same_plaintext_encrypts_differently_each_time(keyring):
    plaintext = b"patient row" * 50
    assert seal(plaintext, keyring) != seal(plaintext, keyring)
    assert plaintext not in seal(plaintext, keyring)


def test_header_names_the_master_key_and_chunk_size(keyring):
    header = read_header(io.BytesIO(seal(b"x" * 500, keyring)))
    assert header.key_id == keyring.active_key_id
    assert header.chunk_size == CHUNK
    assert header.version == envelope.VERSION
    assert len(header.nonce_prefix) == envelope.NONCE_PREFIX_SIZE


def test_read_header_consumes_only_the_header(keyring):
    sealed = seal(b"y" * 300, keyring)
    stream = io.BytesIO(sealed)
    header = read_header(stream)
    assert stream.tell() == header.size


def test_flipped_byte_names_the_chunk(keyring):
    sealed = bytearray(seal(os.urandom(6 * CHUNK), keyring))
    span = chunk_span(bytes(sealed), 3)
    sealed[span.start + 10] ^= 0x01
    with pytest.raises(IntegrityError, match=r"chunk 3 .*failed authentication"):
        open_all(bytes(sealed), keyring)


def test_flipped_tag_byte_names_the_chunk(keyring):
    sealed = bytearray(seal(os.urandom(6 * CHUNK), keyring))
    sealed[chunk_span(bytes(sealed), 0).stop - 1] ^= 0x80
    with pytest.raises(IntegrityError, match=r"chunk 0 "):
        open_all(bytes(sealed), keyring)


def test_plaintext_before_the_damage_is_authentic_and_nothing_after_is_yielded(keyring):
    plaintext = os.urandom(6 * CHUNK)
    sealed = bytearray(seal(plaintext, keyring))
    sealed[chunk_span(bytes(sealed), 4).start] ^= 0xFF
    received = []
    with pytest.raises(IntegrityError, match="chunk 4"):
        for part in decrypt_stream(io.BytesIO(bytes(sealed)), keyring):
            received.append(part)
    assert b"".join(received) == plaintext[:4 * CHUNK]


def test_swapped_chunks_are_refused(keyring):
    sealed = seal(os.urandom(6 * CHUNK), keyring)
    one, two = chunk_span(sealed, 1), chunk_span(sealed, 2)
    swapped = sealed[:one.start] + sealed[two] + sealed[one] + sealed[two.stop:]
    assert len(swapped) == len(sealed)
    with pytest.raises(IntegrityError, match=r"chunk 1 .*reordered"):
        open_all(swapped, keyring)


def test_truncation_at_a_chunk_boundary_is_reported_as_truncation(keyring):
    sealed = seal(os.urandom(6 * CHUNK), keyring)
    cut = sealed[:chunk_span(sealed, 3).stop]
    with pytest.raises(IntegrityError, match="truncated after chunk 3"):
        open_all(cut, keyring)


def test_truncation_inside_a_chunk_is_refused(keyring):
    sealed = seal(os.urandom(6 * CHUNK), keyring)
    with pytest.raises(IntegrityError, match="chunk 5"):
        open_all(sealed[:-5], keyring)


def test_truncation_to_the_header_is_refused(keyring):
    sealed = seal(os.urandom(6 * CHUNK), keyring)
    with pytest.raises(IntegrityError, match="truncated at chunk 0"):
        open_all(sealed[:read_header(io.BytesIO(sealed)).size], keyring)


def test_dropping_the_final_chunk_of_an_exact_multiple_is_refused(keyring):
    sealed = seal(os.urandom(4 * CHUNK), keyring)
    with pytest.raises(IntegrityError, match="truncated after chunk 2"):
        open_all(sealed[:chunk_span(sealed, 2).stop], keyring)


def test_appended_bytes_are_refused(keyring):
    sealed = seal(os.urandom(3 * CHUNK), keyring)
    with pytest.raises(IntegrityError, match="chunk 2"):
        open_all(sealed + b"\x00" * 20, keyring)


def test_a_chunk_from_another_object_is_refused(keyring):
    first, second = seal(os.urandom(4 * CHUNK), keyring), seal(os.urandom(4 * CHUNK), keyring)
    span = chunk_span(first, 1)
    spliced = first[:span.start] + second[span] + first[span.stop:]
    with pytest.raises(IntegrityError, match="chunk 1"):
        open_all(spliced, keyring)


def test_edited_header_fails_every_chunk(keyring):
    sealed = bytearray(seal(os.urandom(2 * CHUNK), keyring))
    sealed[len(envelope.MAGIC) + 5 + 1] ^= 0x01  # a nonce-prefix byte
    with pytest.raises(IntegrityError, match="chunk 0"):
        open_all(bytes(sealed), keyring)


def test_not_an_envelope_is_refused():
    with pytest.raises(IntegrityError, match="bad magic"):
        open_all(b"PGDMP plain dump bytes", Keyring.from_hex(generate_hex_key()))


def test_unknown_format_version_says_to_upgrade(keyring):
    sealed = bytearray(seal(b"z" * 10, keyring))
    sealed[len(envelope.MAGIC)] = 99
    with pytest.raises(IntegrityError, match="version 99.*upgrade"):
        open_all(bytes(sealed), keyring)


def test_wrong_master_key_is_refused_by_key_id(keyring):
    sealed = seal(b"secret" * 100, keyring)
    other = Keyring.from_hex(generate_hex_key())
    with pytest.raises(IntegrityError, match=f"master key {keyring.active_key_id} is not in the keyring"):
        open_all(sealed, other)


def test_forged_key_id_with_another_keys_wrapped_key_is_refused(keyring):
    """A header pointing at a key the reader has, but carrying a data key wrapped elsewhere, fails."""
    other = Keyring.from_hex(generate_hex_key())
    sealed = seal(b"q" * 200, other)
    header = read_header(io.BytesIO(sealed))
    forged_id = keyring.active_key_id.encode()
    forged = (sealed[:envelope._FIXED.size] + bytes([len(forged_id)]) + forged_id
              + sealed[envelope._FIXED.size + 1 + len(header.key_id):])
    with pytest.raises(IntegrityError, match="failed authentication"):
        open_all(forged, keyring)


def test_retired_key_still_opens_objects_sealed_before_rotation():
    old_hex, new_hex = generate_hex_key(), generate_hex_key()
    before = Keyring.from_hex(old_hex)
    sealed_before = seal(b"old backup" * 40, before)
    after = Keyring.from_hex(new_hex, [old_hex])
    sealed_after = seal(b"new backup" * 40, after)

    assert read_header(io.BytesIO(sealed_after)).key_id == after.active_key_id != before.active_key_id
    assert open_all(sealed_before, after) == b"old backup" * 40
    assert open_all(sealed_after, after) == b"new backup" * 40
    with pytest.raises(IntegrityError, match="HV_ENCRYPTION_KEYS_RETIRED"):
        open_all(sealed_before, Keyring.from_hex(new_hex))


def test_memory_stays_bounded_for_a_large_stream(keyring):
    """64 MiB through encrypt and decrypt never holds more than a few chunks at once."""
    chunk_size, piece, total = 256 * 1024, 64 * 1024, 64 * 1024 * 1024
    block = os.urandom(piece)
    digest_in, digest_out = hashlib.sha256(), hashlib.sha256()

    def source():
        for _ in range(total // piece):
            digest_in.update(block)
            yield block

    tracemalloc.start()
    try:
        for part in decrypt_stream(encrypt_stream(source(), keyring, chunk_size=chunk_size), keyring):
            digest_out.update(part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest_in.digest() == digest_out.digest()
    assert peak < 8 * chunk_size, f"peak {peak} bytes"


def test_chunk_size_is_validated(keyring):
    with pytest.raises(ValueError):
        list(encrypt_stream([b"x"], keyring, chunk_size=0))


def test_the_context_is_in_the_header_and_must_be_the_one_expected(keyring):
    sealed = b"".join(encrypt_stream([b"rows of backup A"], keyring, chunk_size=CHUNK, context="backup/A"))
    header = read_header(io.BytesIO(sealed))
    assert header.context == "backup/A" and len(header.sha256) == 64 and len(header.data_key_id) == 16
    assert b"".join(decrypt_stream(io.BytesIO(sealed), keyring, context="backup/A")) == b"rows of backup A"
    with pytest.raises(IntegrityError, match="sealed as 'backup/A', not 'backup/B'"):
        b"".join(decrypt_stream(io.BytesIO(sealed), keyring, context="backup/B"))
    with pytest.raises(IntegrityError, match="sealed as 'backup/A', not ''"):
        open_all(sealed, keyring)


def test_an_edited_context_fails_authentication(keyring):
    """Rewriting the context in the header to the expected one breaks every chunk (its digest is in the AAD)."""
    sealed = b"".join(encrypt_stream([os.urandom(3 * CHUNK)], keyring, chunk_size=CHUNK, context="backup/A"))
    forged = sealed.replace(b"backup/A", b"backup/B", 1)
    with pytest.raises(IntegrityError, match="chunk 0 .*failed authentication"):
        b"".join(decrypt_stream(io.BytesIO(forged), keyring, context="backup/B"))


def test_open_stream_returns_the_header_before_any_plaintext(keyring):
    sealed = b"".join(encrypt_stream([b"x" * 300], keyring, chunk_size=CHUNK, context="c"))
    header, plaintext = envelope.open_stream(io.BytesIO(sealed), keyring, context="c")
    assert header == read_header(io.BytesIO(sealed))
    assert b"".join(plaintext) == b"x" * 300


def test_a_version_1_object_still_opens_as_the_empty_context():
    """Audit archives and sealed columns written before the context field stay readable."""
    keyring = Keyring.from_hex(VERSION1_KEY)
    header = read_header(io.BytesIO(VERSION1_OBJECT.read_bytes()))
    assert (header.version, header.context) == (1, "")
    assert open_all(VERSION1_OBJECT.read_bytes(), keyring) == b"written before the context field existed\n" * 10
    with pytest.raises(IntegrityError, match="no context .*older release"):
        b"".join(decrypt_stream(io.BytesIO(VERSION1_OBJECT.read_bytes()), keyring, context="backup/A"))
