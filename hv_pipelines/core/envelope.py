"""Streaming envelope encryption: AES-256-GCM in the STREAM construction, one data key per object.

Backups and audit archives are far larger than memory and must survive in a bucket long after the
database that produced them is gone, so each encrypted object carries everything needed to open it
except the master key:

    header  = MAGIC(6) | version(1) | chunk_size(u32) | nonce_prefix(7)
              | len(u8) master key id | len(u16) wrapped data key | len(u16) context
    body    = chunk_0 | chunk_1 | ... | chunk_n       each = AES-256-GCM(plaintext) || tag(16)

Chunk `i` is sealed under nonce `nonce_prefix || i (u32, big-endian) || last_flag (u8)` with the
associated data `SHA-256(header) || last_flag`. That is the STREAM construction used by age and
Tink: a chunk moved to another position fails (its counter is in the nonce), an object cut at a
chunk boundary fails (the new final chunk was not sealed as last), appended bytes fail (the real
last chunk is no longer last), and a header edit fails every chunk (its digest is in the AAD).
Every chunk but the last holds exactly `chunk_size` plaintext bytes; the last holds 1..chunk_size
(0 only for an empty stream), so the reader knows where chunks end without any length fields.

The context names what the object is (a backup's id, say): it is not secret, it sits in the header
and so in every chunk's associated data, and the reader states the context it expects. An authentic
object copied over another's place is then refused by name before a byte of it is decrypted, rather
than opened as what it is not. Version 1 headers (before the context) read as the empty context.

The data key is fresh for every object and wrapped by the keyring's active master key (or KMS);
the header names the master key id, so an object sealed before a key rotation still opens with the
retired key. Memory stays at a few chunks whatever the stream length.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring, WrappedKey

MAGIC = b"HVSTRM"
VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: no context field (read as "")
DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024  # refuse headers that would make a reader allocate more than this
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7
MAX_CHUNKS = 2**32  # the counter is 32 bits wide

_FIXED = struct.Struct(">6sBI7s")  # magic, version, chunk_size, nonce_prefix
_LAST, _NOT_LAST = b"\x01", b"\x00"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class EnvelopeHeader:
    """The plaintext header of an encrypted object: what is needed (besides the master key) to open it."""

    version: int
    chunk_size: int
    nonce_prefix: bytes
    key_id: str
    wrapped_key: bytes
    context: str
    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def sha256(self) -> str:
        """The digest every chunk's associated data carries: it pins the data key, nonce prefix and context."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def data_key_id(self) -> str:
        """A short, safe-to-print name of this object's (wrapped) data key: unique per object."""
        return hashlib.sha256(self.wrapped_key).hexdigest()[:16]

    def encode(self) -> bytes:
        return self.raw

    @classmethod
    def build(cls, chunk_size: int, nonce_prefix: bytes, wrapped: WrappedKey, context: str = "") -> EnvelopeHeader:
        key_id, named = wrapped.key_id.encode("ascii"), context.encode()
        if len(key_id) > 255 or len(wrapped.blob) > 65535 or len(named) > 65535:
            raise IntegrityError("master key id, wrapped data key or context too long for the envelope header")
        raw = (_FIXED.pack(MAGIC, VERSION, chunk_size, nonce_prefix)
               + struct.pack(">B", len(key_id)) + key_id
               + struct.pack(">H", len(wrapped.blob)) + wrapped.blob
               + struct.pack(">H", len(named)) + named)
        return cls(VERSION, chunk_size, nonce_prefix, wrapped.key_id, wrapped.blob, context, raw)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (_LAST if last else _NOT_LAST)


def _aad(header_digest: bytes, last: bool) -> bytes:
    return header_digest + (_LAST if last else _NOT_LAST)


def encrypt_stream(chunks: Iterable[bytes], keyring: Keyring, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                   context: str = "") -> Iterator[bytes]:
    """Yield the header, then each sealed chunk, for the plaintext pieces in `chunks` (any sizes).

    A fresh 256-bit data key is drawn and wrapped by `keyring`'s active key; `context` (what the
    object is, e.g. `backup/<id>`) goes into the header and so into every chunk's associated data.
    One chunk is held back until the next byte arrives, because only the end of the input says
    which chunk is last.
    """
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
    data_key = AESGCM.generate_key(bit_length=256)
    header = EnvelopeHeader.build(chunk_size, os.urandom(NONCE_PREFIX_SIZE), keyring.wrap(data_key), context)
    aead, digest, prefix = AESGCM(data_key), hashlib.sha256(header.raw).digest(), header.nonce_prefix
    yield header.raw

    pending = bytearray()
    index = 0
    for piece in chunks:
        pending += piece
        if len(pending) <= chunk_size:
            continue
        # Seal every full chunk that is certainly followed by more data; keep the remainder.
        view = memoryview(pending)
        offset = 0
        while len(pending) - offset > chunk_size:
            if index >= MAX_CHUNKS - 1:
                raise IntegrityError("stream too long for one envelope: use a larger chunk_size")
            yield aead.encrypt(_nonce(prefix, index, False), view[offset:offset + chunk_size],
                               _aad(digest, False))
            index += 1
            offset += chunk_size
        view.release()
        del pending[:offset]
    yield aead.encrypt(_nonce(prefix, index, True), bytes(pending), _aad(digest, True))


def _reader(source: Iterable[bytes] | Readable) -> Readable:
    return source if hasattr(source, "read") else IterReader(source)


class IterReader:
    """A file-like `read(n)` over an iterable of byte strings, buffering at most one piece beyond `n`."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = iter(pieces)
        self._buffer = bytearray()

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


def _read_exactly(reader: Readable, size: int) -> bytes:
    """Read `size` bytes, or fewer only at the end of the stream (files and HTTP bodies return short reads)."""
    parts, remaining = [], size
    while remaining > 0:
        part = reader.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _parse_header(reader: Readable) -> EnvelopeHeader:
    fixed = _read_exactly(reader, _FIXED.size + 1)
    if len(fixed) < _FIXED.size + 1 or fixed[:len(MAGIC)] != MAGIC:
        raise IntegrityError("not an hv_pipelines encrypted object (bad magic): is this the right key/object?")
    magic, version, chunk_size, nonce_prefix = _FIXED.unpack(fixed[:_FIXED.size])
    if version not in READABLE_VERSIONS:
        raise IntegrityError(f"encrypted object has format version {version}; this release reads "
                             f"{', '.join(map(str, READABLE_VERSIONS))}: upgrade hv_pipelines to open it")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise IntegrityError(f"encrypted object header is corrupt (chunk size {chunk_size})")
    key_id = _read_exactly(reader, fixed[-1])
    length = _read_exactly(reader, 2)
    if len(key_id) != fixed[-1]:
        raise IntegrityError("encrypted object header is truncated")
    wrapped = _read_length_prefixed(reader, length)
    raw = fixed + key_id + length + wrapped
    context = b""
    if version >= 2:
        context_length = _read_exactly(reader, 2)
        context = _read_length_prefixed(reader, context_length)
        raw += context_length + context
    try:
        return EnvelopeHeader(version, chunk_size, nonce_prefix, key_id.decode("ascii"), wrapped,
                              context.decode(), raw)
    except UnicodeDecodeError:
        raise IntegrityError("encrypted object header is corrupt (master key id or context)") from None


def _read_length_prefixed(reader: Readable, length: bytes) -> bytes:
    """The field whose u16 length was just read (as `length`), or IntegrityError if the header ends first."""
    if len(length) != 2:
        raise IntegrityError("encrypted object header is truncated")
    size = struct.unpack(">H", length)[0]
    field = _read_exactly(reader, size)
    if len(field) != size:
        raise IntegrityError("encrypted object header is truncated")
    return field


def read_header(source: Iterable[bytes] | BinaryIO | Readable) -> EnvelopeHeader:
    """Parse only the header (to learn the master key id or chunk size) without touching the chunks."""
    return _parse_header(_reader(source))


def open_stream(source: Iterable[bytes] | BinaryIO | Readable, keyring: Keyring, *,
                context: str = "") -> tuple[EnvelopeHeader, Iterator[bytes]]:
    """Read and check the header now; return it with an iterator of the plaintext, chunk by chunk.

    The header must name `context`: an object sealed as something else is refused before its data
    key is unwrapped. A caller that must compare the header with a record of it (a backup's
    manifest) does so here, before it hands a single byte of plaintext on.
    """
    reader = _reader(source)
    header = _parse_header(reader)
    if header.context != context:
        found = repr(header.context) if header.context else "no context (written by an older release)"
        raise IntegrityError(f"encrypted object is sealed as {found}, not {context!r}: it was copied from "
                             "somewhere else; do not use it")
    return header, _open_chunks(reader, header, keyring.unwrap(WrappedKey(header.key_id, header.wrapped_key)))


def decrypt_stream(source: Iterable[bytes] | BinaryIO | Readable, keyring: Keyring, *,
                   context: str = "") -> Iterator[bytes]:
    """Yield the plaintext of an encrypted object sealed as `context`, each chunk verified before it is yielded.

    Raises IntegrityError naming the first chunk that fails; plaintext already yielded was authentic
    but the stream as a whole must be discarded (consumers restore into scratch space first).
    """
    yield from open_stream(source, keyring, context=context)[1]


def _open_chunks(reader: Readable, header: EnvelopeHeader, data_key: bytes) -> Iterator[bytes]:
    aead, digest, prefix = AESGCM(data_key), hashlib.sha256(header.raw).digest(), header.nonce_prefix
    sealed_size = header.chunk_size + TAG_SIZE

    index = 0
    current = _read_exactly(reader, sealed_size)
    while True:
        following = _read_exactly(reader, sealed_size) if len(current) == sealed_size else b""
        last = not following
        if len(current) < TAG_SIZE:
            raise IntegrityError(f"encrypted object is truncated at chunk {index}: the object is incomplete; "
                                 "restore from another backup")
        try:
            yield aead.decrypt(_nonce(prefix, index, last), current, _aad(digest, last))
        except InvalidTag:
            raise IntegrityError(_diagnose(aead, prefix, digest, index, current, last)) from None
        if last:
            return
        index += 1
        current = following


def _diagnose(aead: AESGCM, prefix: bytes, digest: bytes, index: int, sealed: bytes, last: bool) -> str:
    """Say why chunk `index` failed: a chunk sealed as non-final at the end means the object was cut."""
    if last:
        try:
            aead.decrypt(_nonce(prefix, index, False), sealed, _aad(digest, False))
            return (f"encrypted object is truncated after chunk {index}: the object is incomplete; "
                    "restore from another backup")
        except InvalidTag:
            pass
    return (f"chunk {index} of the encrypted object failed authentication: it was altered, reordered, cut "
            "or sealed for another object; do not use this object — restore from another backup")
