"""Read small members out of a tar stream as it passes, without buffering the stream.

pg_basebackup writes the base backup as one tar to stdout, with `backup_label` (start LSN, timeline,
start time) and `backup_manifest` (every file's checksum, the WAL range) inside it. The backup needs
both before it can describe itself, and the stream is far larger than memory: the tap follows the
512-byte tar headers and keeps only the contents of the members it was asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

BLOCK = 512
MAX_KEPT = 256 * 1024 * 1024  # a manifest of a huge cluster is tens of MB; refuse anything absurd


def _number(field: bytes, *, octal_only: bool = False) -> int:
    """A numeric header field read the way GNU tar reads it (`from_header` in its list.c), so that a
    check following the stream beside GNU tar sees the archive tar sees: one leading NUL and any white
    space skipped, then octal digits ended by the field's end, a NUL or white space; or, unless
    `octal_only`, base-256 after a 0x80 byte (sizes of 8 GiB and more, as pg_basebackup writes them).

    Anything else is a ValueError: a field of blanks, a stray character, a negative base-256 number.
    GNU tar takes such a field for -1, which is a mode with every bit set (set-id included) or a
    header it skips, reading the member's data as the next headers."""
    text = (field[1:] if field[:1] == b"\0" else field).lstrip()
    if not text:
        raise ValueError(f"blanks where a number is expected: {bytes(field)!r}")
    if text[0] == 0x80 and len(text) > 1 and not octal_only:
        return int.from_bytes(text[1:], "big")
    digits = text[:len(text) - len(text.lstrip(b"01234567"))]
    end = text[len(digits):len(digits) + 1]
    if end not in (b"", b"\0") and not end.isspace():
        raise ValueError(f"not a tar number: {bytes(field)!r}")
    return int(digits or b"0", 8)


def _size(header: bytes) -> int:
    return _number(header[124:136])


def _name(header: bytes) -> str:
    name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
    prefix = header[345:500].split(b"\0", 1)[0].decode("utf-8", "replace") if header[257:262] == b"ustar" else ""
    return f"{prefix}/{name}" if prefix else name


class TarTap:
    """Pass tar pieces through unchanged; `members[name]` holds each wanted member's bytes afterwards."""

    def __init__(self, wanted: Iterable[str]) -> None:
        self.wanted = set(wanted)
        self.members: dict[str, bytes] = {}
        self.bytes = 0
        self._header = bytearray()
        self._remaining = 0  # bytes of the current member's data (plus padding) still to come
        self._padding = 0
        self._current: str | None = None
        self._kept = bytearray()

    def through(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self._feed(memoryview(piece))
            self.bytes += len(piece)
            yield piece

    def _feed(self, view: memoryview) -> None:
        while view:
            if self._remaining:
                take = min(self._remaining, len(view))
                data = view[:min(take, max(self._remaining - self._padding, 0))]
                if data:
                    self._member_data(data)
                self._remaining -= take
                view = view[take:]
                if not self._remaining:
                    self._end_member()
                continue
            take = min(BLOCK - len(self._header), len(view))
            self._header += view[:take]
            view = view[take:]
            if len(self._header) == BLOCK:
                self._start_member(bytes(self._header))
                self._header.clear()

    def _member_data(self, data: memoryview) -> None:
        """The next bytes of the current member's content (never its padding)."""
        if self._current is not None:
            self._kept += data

    def _end_member(self) -> None:
        """The current member's content and padding have passed (not called for an empty member)."""
        if self._current is not None:
            self.members[self._current] = bytes(self._kept)
            self._current, self._kept = None, bytearray()

    def _start_member(self, header: bytes) -> None:
        if header == bytes(BLOCK):
            return  # end-of-archive blocks
        size = _size(header)
        self._padding = -size % BLOCK
        self._remaining = size + self._padding
        name = _name(header)
        if name in self.wanted and header[156:157] in (b"0", b"\0") and size <= MAX_KEPT:
            self._current = name
            self._kept = bytearray()
            if size == 0:
                self.members[name] = b""
                self._current = None
