"""Zip members inflated with zlib-ng read exactly as zipfile reads them, and fail as it does."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from hv_pipelines.core.terminology.inflate import open_member
from hv_pipelines.core.terminology.release import ReleaseError, ReleaseFiles

# Compressible text and incompressible bytes, larger than the reader's chunks.
TEXT = b"".join(b"%d|ENG|RXNORM|has_ingredient|\xc3\xa9t\xc3\xa9|\n" % i for i in range(150_000))
NOISE = os.urandom(3 * 1024 * 1024 + 17)


def _zip(path: Path, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("rrf/TEXT.RRF", TEXT)
        archive.writestr("rrf/NOISE.bin", NOISE)
        archive.writestr("rrf/EMPTY.RRF", b"")
    return path


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_members_read_the_same_bytes_as_zipfile(tmp_path, compression) -> None:
    path = _zip(tmp_path / "release.zip", compression)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with open_member(archive, info) as stream:
                assert stream.read() == archive.read(info)
            with open_member(archive, info) as stream:  # small reads and lines, as the parsers do
                pieces = [stream.readline(), stream.read(7), *iter(lambda: stream.read(65_537), b"")]
            assert b"".join(pieces) == archive.read(info)


def _read(path: Path, name: str) -> bytes:
    files = ReleaseFiles([path])
    [member] = files.matching(name)
    with files.open(member) as stream:
        return stream.read()


def _corrupt(path: Path, member: str, offset: int) -> None:
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + offset] ^= 0x55
    path.write_bytes(bytes(raw))


def test_a_damaged_member_fails_when_read_like_zipfile(tmp_path) -> None:
    path = _zip(tmp_path / "release.zip")
    _corrupt(path, "rrf/NOISE.bin", 2 * 1024 * 1024)  # stored blocks in the deflate stream: only the CRC sees it
    with zipfile.ZipFile(path) as archive, open_member(archive, archive.getinfo("rrf/NOISE.bin")) as stream, \
            pytest.raises(zipfile.BadZipFile, match="CRC"):
        while stream.read(io.DEFAULT_BUFFER_SIZE):
            pass
    with pytest.raises(ReleaseError, match="NOISE.bin in release.zip cannot be read.*download the release again"):
        _read(path, "noise.bin")


def test_a_member_cut_short_fails(tmp_path) -> None:
    path = _zip(tmp_path / "release.zip")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("rrf/TEXT.RRF")
        info.compress_size -= 100  # the directory now claims fewer compressed bytes than the stream has
        with open_member(archive, info) as stream, pytest.raises(zipfile.BadZipFile, match="cut short"):
            stream.read()


def test_a_broken_deflate_stream_fails_as_a_damaged_zip(tmp_path) -> None:
    path = _zip(tmp_path / "release.zip")
    _corrupt(path, "rrf/TEXT.RRF", 0)  # the first block's header
    with pytest.raises(ReleaseError, match="TEXT.RRF in release.zip cannot be read"):
        _read(path, "text.rrf")
