"""Sealed PITR objects: zstd inside the envelope, with an authenticated binding in front.

Every WAL file and base backup is stored as

    envelope( BINDING_MAGIC | JSON binding | "\\n" | zstd(content) )

The binding names what the object claims to be (the WAL file name or backup id, and the cluster's
system identifier). It is inside the ciphertext, so the envelope authenticates it with the first
chunk; a reader states what it expects and is refused before it sees a byte of content if an
authentic object was swapped in from another name or another cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import closing

from hv_pipelines.core.backup.streams import compress, decompress
from hv_pipelines.core.envelope import DEFAULT_CHUNK_SIZE, Readable, decrypt_stream, encrypt_stream
from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

BINDING_MAGIC = b"HVPITR1\n"
MAX_BINDING = 64 * 1024


def seal(binding: dict[str, str | int], content: Iterable[bytes], keyring: Keyring, *, level: int = 3,
         chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """The sealed object's bytes: the binding, then `content` compressed, all under a fresh data key."""
    head = BINDING_MAGIC + json.dumps(binding, sort_keys=True).encode() + b"\n"

    def plaintext() -> Iterator[bytes]:
        yield head
        yield from compress(content, level=level)

    return encrypt_stream(plaintext(), keyring, chunk_size=chunk_size)


def open_sealed(source: Readable, keyring: Keyring, expected: dict[str, str | int], *,
                what: str) -> tuple[dict, Iterator[bytes]]:
    """(binding, content pieces) of a sealed object, after checking the binding says `expected`.

    `what` names the object in errors (its key). Content pieces are authenticated chunk by chunk;
    a failure part-way raises IntegrityError naming `what`.
    """
    plain = decrypt_stream(source, keyring)
    buffer = bytearray()
    try:
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
    wrong = {k: binding.get(k) for k, v in expected.items() if str(binding.get(k)) != str(v)}
    if wrong:
        claims = ", ".join(f"{k}={v}" for k, v in wrong.items())
        raise IntegrityError(f"{what} is an authentic object for {claims}, not for this name/cluster: it was "
                             "swapped in from elsewhere; do not use it")
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


def authenticate(store: ObjectStore, key: str, keyring: Keyring, expected: dict[str, str | int]) -> dict:
    """Read `key` to the end (every chunk authenticated, the zstd frame complete); return its binding."""
    with closing(store.open(key)) as body:
        binding, content = open_sealed(body, keyring, expected, what=key)
        for _ in content:
            pass
    return binding
