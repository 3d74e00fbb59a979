"""One zstd frame, streamed in bounded pieces both ways.

Its own module (not core.backup.streams) so that `hv wal push`, which PostgreSQL starts once per WAL
segment, imports zstd without the backup package's database stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import zstandard

from hv_pipelines.core.errors import IntegrityError

PIECE_SIZE = 1024 * 1024
_DECOMPRESS_SLICE = 128 * 1024  # bounds the plaintext one decompress call can produce


def compress(pieces: Iterable[bytes], *, level: int) -> Iterator[bytes]:
    """One zstd frame (with content checksum) of `pieces`, emitted in 1 MiB pieces."""
    chunker = zstandard.ZstdCompressor(level=level, write_checksum=True).chunker(chunk_size=PIECE_SIZE)
    for piece in pieces:
        yield from chunker.compress(piece)
    yield from chunker.finish()


def decompress(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Plaintext of one zstd frame; IntegrityError if the frame is cut short (zstd itself won't say)."""
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    for piece in pieces:
        view = memoryview(piece)
        for start in range(0, len(view), _DECOMPRESS_SLICE):
            try:
                out = decompressor.decompress(view[start:start + _DECOMPRESS_SLICE])
            except zstandard.ZstdError:
                raise IntegrityError("the compressed dump inside the backup is corrupt") from None
            if out:
                yield out
    if not decompressor.eof:
        raise IntegrityError("the compressed dump inside the backup is incomplete")
