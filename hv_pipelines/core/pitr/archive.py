"""The WAL archive: `hv wal push` (archive_command) and `hv wal fetch` (restore_command).

    wal/<system-identifier>/<timeline>/<file name>.zst.enc

PostgreSQL calls archive_command once per finished segment (and per timeline history or backup
history file) and keeps the file until the command exits 0, retrying a failure; so `push` exits 0
only once the object is completely and durably stored, and a second push of a file already archived
with the same content succeeds. The same name with other content is the classic archive_command
bug (two servers writing one archive, a restored copy that kept archiving): it is refused, loudly,
and nothing is overwritten.

A segment names its cluster itself (the system identifier in its first page's header), which is
checked against its file name; history files are small text, and take the identifier from the
data directory's `global/pg_control`. Each object is sealed as `wal/<system-identifier>/<name>`
(see sealed.py): `fetch` refuses an object sealed as anything else, authenticates the whole file,
checks its SHA-256, and only then writes DEST.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hv_pipelines.core.errors import HVError, IntegrityError, StorageError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import sealed
from hv_pipelines.core.pitr.walfiles import (
    control_system_identifier,
    parse_name,
    read_segment_header,
)
from hv_pipelines.core.storage import ObjectStore

ROOT = "wal"
SUFFIX = ".zst.enc"
KIND = "hv-wal/1"
WAL_COMPRESSION_LEVEL = 1  # a busy server archives a segment every few seconds: speed over ratio


class WalNotFound(HVError):
    """The archive has no object for the requested file (recovery ends there)."""


class ArchiveConflict(IntegrityError):
    """An object of the same name, with other content, is already archived."""


def wal_prefix(system_identifier: int | str) -> str:
    return f"{ROOT}/{system_identifier}/"


def wal_key(system_identifier: int | str, name: str) -> str:
    return f"{wal_prefix(system_identifier)}{parse_name(name).timeline:08X}/{name}{SUFFIX}"


def wal_context(system_identifier: int | str, name: str) -> str:
    """What a WAL object is sealed as: an authentic object under any other name or cluster is refused."""
    return f"{ROOT}/{system_identifier}/{name}"


def name_of_key(key: str) -> str | None:
    """The WAL file name an archive key holds, or None for anything else."""
    if not key.startswith(ROOT + "/") or not key.endswith(SUFFIX):
        return None
    name = key.rsplit("/", 1)[-1][: -len(SUFFIX)]
    try:
        parse_name(name)
    except ValueError:
        return None
    return name


@dataclass(frozen=True)
class PushResult:
    name: str
    key: str
    system_identifier: int
    bytes: int
    already_archived: bool
    seconds: float


def system_identifier_of(path: Path, content: bytes) -> int:
    """The cluster a WAL file belongs to: a segment says so itself; other files ask pg_control."""
    wal = parse_name(path.name)
    if wal.kind in ("segment", "partial"):
        return read_segment_header(content[:64], path.name).system_identifier
    return control_system_identifier(path.resolve().parent.parent)


def push(path: Path, store: ObjectStore, keyring: Keyring) -> PushResult:
    """Archive one WAL file; idempotent for the same content, ArchiveConflict for different content."""
    started = time.monotonic()
    try:
        parse_name(path.name)
    except ValueError as exc:
        raise IntegrityError(f"{exc}: archive_command must be `hv wal push %p ...`") from None
    try:
        content = path.read_bytes()  # one segment (16 MiB) at most: hashed before it is sealed
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}; archive_command runs in the data directory "
                           "as the server's OS user, which must be able to read %p") from None
    system_identifier = system_identifier_of(path, content)
    key = wal_key(system_identifier, path.name)
    digest = hashlib.sha256(content).hexdigest()
    binding = {"kind": KIND, "name": path.name, "system_identifier": str(system_identifier), "sha256": digest,
               "bytes": len(content), "archived_at": datetime.now(UTC).isoformat(timespec="seconds")}
    with _store_errors(f"archiving {path.name} to {store.url}", "PostgreSQL keeps the file and retries"):
        if store.head(key) is not None:
            _check_same(store, key, keyring, binding)
            return PushResult(path.name, key, system_identifier, len(content), True, time.monotonic() - started)
        store.put_stream(key, sealed.seal(wal_context(system_identifier, path.name), binding, [content], keyring,
                                          level=WAL_COMPRESSION_LEVEL))
    return PushResult(path.name, key, system_identifier, len(content), False, time.monotonic() - started)


@contextmanager
def _store_errors(what: str, consequence: str) -> Iterator[None]:
    """Turn an object store's own exception (connection refused, 503) into one StorageError line."""
    try:
        yield
    except HVError:
        raise
    except Exception as exc:
        raise StorageError(f"{what} failed ({type(exc).__name__}): {consequence}; check the object store") from exc


def _check_same(store: ObjectStore, key: str, keyring: Keyring, binding: dict) -> None:
    stored = sealed.authenticate(store, key, keyring, wal_context(binding["system_identifier"], binding["name"]))
    if (stored.get("sha256"), stored.get("bytes")) != (binding["sha256"], binding["bytes"]):
        raise ArchiveConflict(
            f"{binding['name']} is already archived at {key} with different content (sha256 "
            f"{str(stored.get('sha256'))[:12]}…, this file {binding['sha256'][:12]}…): two servers are archiving "
            "into one place, or a restored copy kept archiving. Nothing was overwritten; give each cluster its "
            "own archive (or stop the other server) before archiving resumes")


def fetch(name: str, dest: Path, store: ObjectStore, keyring: Keyring, system_identifier: int | str, *,
          sync: bool = True) -> int:
    """Write archived `name` to `dest` once every byte has been authenticated; return its size.
    `sync=False` skips the fsync: the restore's own spool, used only within the boot it was written in."""
    key = wal_key(system_identifier, name)
    with _store_errors(f"fetching {name} from {store.url}", "recovery cannot go on past this file"):
        if store.head(key) is None:
            raise WalNotFound(f"{name} is not in the archive ({key})")
        with closing(store.open(key)) as body:
            binding, content = sealed.open_sealed(body, keyring, wal_context(system_identifier, name), what=key)
            data = b"".join(content)  # one segment at most; DEST sees nothing until all of it is authentic
    if hashlib.sha256(data).hexdigest() != binding.get("sha256") or len(data) != binding.get("bytes"):
        raise IntegrityError(f"{key} decrypts to content whose checksum differs from its binding; do not use it")
    _write_durably(dest, data, sync=sync)
    return len(data)


def _write_durably(dest: Path, data: bytes, *, sync: bool = True) -> None:
    tmp = dest.with_name(f".{dest.name}.hv-fetch")
    try:
        with tmp.open("wb") as out:
            out.write(data)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
