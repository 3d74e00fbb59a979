"""Real object stores that misbehave on read, for the checks that must catch them (no function under test is patched).

Each is a `LocalStore` whose writes are honest and whose reads of a backup's encrypted object are not.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from hv_pipelines.core.backup import layout
from hv_pipelines.core.envelope import encrypt_stream, open_stream, read_header
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import LocalStore


class _MisreadingStore(LocalStore):
    """Reads of a dump object return `served(data)` instead of the stored bytes; other objects are honest."""

    def served(self, data: bytes) -> bytes:
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        data = self._path(key).read_bytes()
        return io.BytesIO(self.served(data) if key.endswith(layout.DUMP_SUFFIX) else data)

    def read_bytes(self, key: str) -> bytes:
        return self.open(key).read()


class FlippingStore(_MisreadingStore):
    """Every read of a dump object returns it with one byte flipped near its end (a bad disk or cache)."""

    def served(self, data: bytes) -> bytes:
        flipped = bytearray(data)
        flipped[-100] ^= 0x01
        return bytes(flipped)


class ResealingStore(_MisreadingStore):
    """Reads of a dump object return another authentic encryption of the same backup (a stale replica).

    Only someone holding the key can make one, so the test hands the store the keyring; every chunk of
    what it returns authenticates and names the right backup id, so only a comparison with what was
    uploaded (or with the manifest) can tell.
    """

    def __init__(self, root, keyring: Keyring) -> None:
        super().__init__(root)
        self.keyring = keyring

    def served(self, data: bytes) -> bytes:
        header = read_header(io.BytesIO(data))
        _, plaintext = open_stream(io.BytesIO(data), self.keyring, context=header.context)
        return b"".join(encrypt_stream(plaintext, self.keyring, chunk_size=header.chunk_size, context=header.context))


class ChangingStore(_MisreadingStore):
    """The dump object changes after it has been read `honest_reads` times (replaced between verify and restore)."""

    def __init__(self, root, tamper, honest_reads: int) -> None:
        super().__init__(root)
        self.tamper, self.honest_reads = tamper, honest_reads

    def served(self, data: bytes) -> bytes:
        self.honest_reads -= 1
        return data if self.honest_reads >= 0 else self.tamper(data)


class CountingStore(LocalStore):
    """An honest store that counts the bytes read from dump objects (to show what was refused unread)."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.dump_bytes_read = 0

    def open(self, key: str) -> BinaryIO:
        source = super().open(key)
        if not key.endswith(layout.DUMP_SUFFIX):
            return source
        store = self

        class Counted(io.RawIOBase):
            def readinto(self, buffer) -> int:
                data = source.read(len(buffer))
                buffer[:len(data)] = data
                store.dump_bytes_read += len(data)
                return len(data)

            def readable(self) -> bool:
                return True

            def close(self) -> None:
                source.close()
                super().close()

        return io.BufferedReader(Counted(), buffer_size=512)
