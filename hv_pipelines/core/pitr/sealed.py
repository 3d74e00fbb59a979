"""Sealed PITR objects: zstd inside the envelope, sealed under a context, with a binding in front.

Every WAL file and base backup is stored as

    envelope[context]( BINDING_MAGIC | JSON binding | "\\n" | zstd(content) )

The envelope's context (in the header, so in every chunk's associated data) names what the object
is — `wal/<system-identifier>/<file name>` or `basebackup/<system-identifier>/<backup id>` — and
the reader states the context it expects: an authentic object swapped in from another name or
another cluster is refused before a byte of it is decrypted. The binding, authenticated with the
first chunk, carries what the content should hash to (and when it was archived).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import closing

from hv_pipelines.core.envelope import DEFAULT_CHUNK_SIZE, Readable, decrypt_stream, encrypt_stream
from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore
from hv_pipelines.core.zstd_frames import compress, decompress

BINDING_MAGIC = b"HVPITR1\n"
MAX_BINDING = 64 * 1024


def seal(context: str, binding: dict[str, str | int], content: Iterable[bytes], keyring: Keyring, *,
         level: int = 3, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """The sealed object's bytes: the binding, then `content` compressed, all under a fresh data key."""
    head = BINDING_MAGIC + json.dumps(binding, sort_keys=True).encode() + b"\n"

    def plaintext() -> Iterator[bytes]:
        yield head
        yield from compress(content, level=level)

    return encrypt_stream(plaintext(), keyring, chunk_size=chunk_size, context=context)


def open_sealed(source: Readable, keyring: Keyring, context: str, *, what: str) -> tuple[dict, Iterator[bytes]]:
    """(binding, content pieces) of an object sealed as `context`; IntegrityError naming `what` (its key)
    for another context, or for any chunk that fails authentication, even part-way through."""
    buffer = bytearray()
    try:
        plain = decrypt_stream(source, keyring, context=context)
        while b"\n" not in buffer[len(BINDING_MAGIC):] and len(buffer) < MAX_BINDING:
            piece = next(plain, None)
            if piece is None:
                break
            buffer += piece
    except IntegrityError as exc:
        raise IntegrityError(f"{what}: {exc}") from None
    if not buffer.startswith(BINDING_MAGIC) or b"\n" not in buffer[len(BINDING_MAGIC):]:
        raise IntegrityError(f"{what} is not a PITR object (no binding): it was replaced; do not use it")
    end = buffer.index(b"\n", len(BINDING_MAGIC))
    binding = json.loads(buffer[len(BINDING_MAGIC):end])
    rest = bytes(buffer[end + 1:])

    def content() -> Iterator[bytes]:
        def compressed() -> Iterator[bytes]:
            if rest:
                yield rest
            yield from plain

        try:
            yield from decompress(compressed())
        except IntegrityError as exc:
            raise IntegrityError(f"{what}: {exc}") from None

    return binding, content()


def authenticate(store: ObjectStore, key: str, keyring: Keyring, context: str) -> dict:
    """Read `key` to the end (every chunk authenticated, the zstd frame complete); return its binding."""
    with closing(store.open(key)) as body:
        binding, content = open_sealed(body, keyring, context, what=key)
        for _ in content:
            pass
    return binding
