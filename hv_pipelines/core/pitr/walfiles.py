"""What PostgreSQL puts in its WAL archive, read without a server: file names, LSNs, page headers.

An archive holds four kinds of file, all named by PostgreSQL:

    000000010000000000000003                    a segment: timeline, then the segment number (log, seg)
    00000002.history                            a timeline's history (which parent, switched at which LSN)
    000000010000000000000003.00000028.backup    a base backup's history file
    000000010000000000000003.partial            the last, incomplete segment of a timeline that was left

A segment's first page carries a long header with the cluster's system identifier, its timeline
and the LSN the page starts at, so `hv wal push` checks that a file is what its name says and learns
which cluster wrote it, without asking the server.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from hv_pipelines.core.errors import IntegrityError

SEGMENT = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$")
HISTORY = re.compile(r"^([0-9A-F]{8})\.history$")
BACKUP_HISTORY = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.[0-9A-F]{8}\.backup$")
PARTIAL = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$")
XLP_LONG_HEADER = 0x0002
# XLogLongPageHeaderData: magic u16, info u16, tli u32, pageaddr u64, rem_len u32, (pad), sysid u64,
# seg_size u32, blcksz u32 — little-endian on every platform PostgreSQL archives from here.
_LONG_HEADER = struct.Struct("<HHIQI4xQII")
SEGMENT_SIZE = 16 * 1024 * 1024
SEGMENTS_PER_XLOGID_16MB = 0x100000000 // SEGMENT_SIZE


@dataclass(frozen=True)
class WalName:
    """A parsed archive file name: its kind, timeline and (for segment-like files) segment number."""

    name: str
    kind: str  # "segment", "history", "backup", "partial"
    timeline: int
    segment: int | None = None  # absolute segment number (log * segments_per_id + seg), 16 MiB segments

    @property
    def is_segment(self) -> bool:
        return self.kind == "segment"


def parse_name(name: str) -> WalName:
    """Parse an archive file name; ValueError for anything PostgreSQL would not archive."""
    for kind, pattern in (("segment", SEGMENT), ("backup", BACKUP_HISTORY), ("partial", PARTIAL)):
        match = pattern.match(name)
        if match:
            tli, log, seg = (int(g, 16) for g in match.groups())
            return WalName(name, kind, tli, log * SEGMENTS_PER_XLOGID_16MB + seg)
    match = HISTORY.match(name)
    if match:
        return WalName(name, "history", int(match.group(1), 16))
    raise ValueError(f"{name!r} is not a WAL segment, timeline history or backup history file name")


def segment_name(timeline: int, segment: int) -> str:
    return f"{timeline:08X}{segment // SEGMENTS_PER_XLOGID_16MB:08X}{segment % SEGMENTS_PER_XLOGID_16MB:08X}"


def parse_lsn(text: str) -> int:
    """`16/B374D848` -> the 64-bit position."""
    high, _, low = text.partition("/")
    try:
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        raise ValueError(f"{text!r} is not an LSN (like 0/3000028)") from None


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def segment_of(lsn: int) -> int:
    return lsn // SEGMENT_SIZE


@dataclass(frozen=True)
class SegmentHeader:
    system_identifier: int
    timeline: int
    page_address: int
    segment_size: int


def read_segment_header(first_page: bytes, name: str) -> SegmentHeader:
    """The long page header at the start of segment `name`; IntegrityError when it contradicts the name."""
    if len(first_page) < _LONG_HEADER.size:
        raise IntegrityError(f"{name} is too short to be a WAL segment")
    _magic, info, tli, pageaddr, _rem, sysid, seg_size, _blcksz = _LONG_HEADER.unpack_from(first_page)
    if not info & XLP_LONG_HEADER or seg_size == 0:
        raise IntegrityError(f"{name} does not start with a WAL segment header: it is not a WAL segment")
    if seg_size != SEGMENT_SIZE:
        raise IntegrityError(f"{name} is from a cluster with {seg_size}-byte WAL segments; hv archives the "
                             "default 16 MiB segments only (initdb --wal-segsize=16)")
    wal = parse_name(name)
    if tli != wal.timeline or pageaddr != wal.segment * SEGMENT_SIZE:
        raise IntegrityError(f"{name} holds WAL of timeline {tli} at {format_lsn(pageaddr)}, not what its name "
                             "says: the file was renamed or copied over; do not archive it")
    return SegmentHeader(sysid, tli, pageaddr, seg_size)


def control_system_identifier(data_dir: Path) -> int:
    """The system identifier in `global/pg_control` (its first eight bytes)."""
    try:
        with (data_dir / "global" / "pg_control").open("rb") as control:
            raw = control.read(8)
    except OSError:
        raise IntegrityError(f"cannot read {data_dir}/global/pg_control to learn the cluster's system identifier: "
                             "run `hv wal push` from the data directory, as archive_command does") from None
    return struct.unpack("<Q", raw)[0]
