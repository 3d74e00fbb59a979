"""A release exactly as its publisher ships it: a zip, an extracted folder, or a single file.

Parsers never care which: they ask for a member by file-name pattern and get a binary stream
(zip members are decompressed as they are read, never extracted to disk; see `inflate`). Everything here fails
with `ReleaseError` before any database work starts, saying what was expected.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.terminology.inflate import open_member

CHUNK = 1024 * 1024
Progress = Callable[[int], None]


class ReleaseError(HVError):
    """The input is not the release it claims to be (wrong kind, truncated, missing files)."""


@dataclass(frozen=True)
class Member:
    """One file inside a release: `name` is its path inside the zip or folder."""

    name: str
    size: int
    source: Path
    in_zip: bool

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name


class ReleaseFiles:
    """The files of one release: one or more zips, folders or single files, seen as one listing."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self.members: list[Member] = []
        for path in self.paths:
            self.members.extend(_list_members(path))

    @property
    def label(self) -> str:
        return ", ".join(p.name for p in self.paths)

    def matching(self, pattern: str) -> list[Member]:
        """The members whose base names match the glob `pattern` (case-insensitive)."""
        return [m for m in self.members if fnmatch.fnmatch(m.basename.lower(), pattern.lower())]

    def find(self, pattern: str) -> Member | None:
        """The one member whose base name matches `pattern`; None if absent, an error if ambiguous."""
        matches = self.matching(pattern)
        if len(matches) > 1:
            raise ReleaseError(
                f"{len(matches)} files match {pattern} in {self.label} "
                f"({', '.join(m.name for m in matches[:3])}): give one release at a time")
        return matches[0] if matches else None

    def require(self, pattern: str, what: str) -> Member:
        member = self.find(pattern)
        if member is None:
            raise ReleaseError(f"{pattern} not found in {self.label}: expected {what}")
        return member

    @contextmanager
    def open(self, member: Member, progress: Progress | None = None) -> Iterator[BinaryIO]:
        """A binary stream of `member`; `progress(n)` is told of every n bytes read."""
        try:
            if member.in_zip:
                with zipfile.ZipFile(member.source) as archive, \
                        open_member(archive, archive.getinfo(member.name)) as raw:
                    yield _counted(raw, progress)
            else:
                with member.source.open("rb") as raw:
                    yield _counted(raw, progress)
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
            raise ReleaseError(
                f"{member.name} in {member.source.name} cannot be read ({type(exc).__name__}): the zip is "
                "damaged or truncated; download the release again") from None

    def sha256(self) -> dict[str, str]:
        """SHA-256 of every input file (the zip itself, or each file of a folder), by file name."""
        digests = {}
        for path in self.paths:
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                digest = hashlib.sha256()
                with file.open("rb") as stream:
                    while chunk := stream.read(CHUNK):
                        digest.update(chunk)
                name = file.relative_to(path).as_posix() if path.is_dir() else file.name
                digests[name] = digest.hexdigest()
        return digests


def _list_members(path: Path) -> list[Member]:
    if not path.exists():
        raise ReleaseError(f"{path} does not exist: give the release zip, its extracted folder or the file")
    if path.is_dir():
        return [Member(p.relative_to(path).as_posix(), p.stat().st_size, p, in_zip=False)
                for p in sorted(path.rglob("*")) if p.is_file()]
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return [Member(info.filename, info.file_size, path, in_zip=True)
                        for info in archive.infolist() if not info.is_dir()]
        except zipfile.BadZipFile as exc:
            raise ReleaseError(f"{path.name} is not a readable zip ({exc}): download the release again") from None
    if path.suffix.lower() == ".zip":
        raise ReleaseError(f"{path.name} is not a complete zip archive (truncated or damaged): "
                           "download the release again")
    return [Member(path.name, path.stat().st_size, path, in_zip=False)]


class _Counting(io.RawIOBase):
    """A raw stream that reports bytes read, for progress bars; wrapped in a BufferedReader so
    line iteration and text decoding stay fast and every byte is counted once."""

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._progress(len(data))
        return len(data)


def _counted(raw: BinaryIO, progress: Progress | None) -> BinaryIO:
    return io.BufferedReader(_Counting(raw, progress), CHUNK) if progress else raw
