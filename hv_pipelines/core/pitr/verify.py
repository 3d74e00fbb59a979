"""`hv pitr verify` and `hv pitr status`: is every object authentic, is the chain whole, what is the RPO.

Verification reads every base backup and every WAL object from the oldest base backup's first
segment to the newest one: each is authenticated chunk by chunk under the context it must be sealed
as, decompressed to the end, and compared with the checksum its descriptor or binding names; the
chain of segments must have no gap (across timelines). The first problem is reported by object key.
"""

from __future__ import annotations

import hashlib
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hv_pipelines.core import db
from hv_pipelines.core.backup.streams import Meter, MeteredReader
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import archive, descriptor, sealed
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.inventory import ArchiveState, read_state, resolve_system
from hv_pipelines.core.pitr.walfiles import parse_lsn, segment_of
from hv_pipelines.core.storage import ObjectStore


@dataclass
class VerifyResult:
    system_identifier: str
    base_backups: int = 0
    wal_objects: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_base_backup(store: ObjectStore, keyring: Keyring, backup: BaseBackup) -> int:
    """Authenticate a base backup object end to end against its descriptor; return its size."""
    cipher = Meter(sha256=True)
    tar = Meter()
    with closing(store.open(backup.object_key)) as body:
        _, content = sealed.open_sealed(MeteredReader(body, cipher), keyring,
                                        descriptor.object_context(backup.system_identifier, backup.backup_id),
                                        what=backup.object_key)
        for piece in content:
            tar.add(piece)
    if (cipher.bytes, cipher.sha256, tar.bytes) != (backup.object_bytes, backup.object_sha256, backup.tar_bytes):
        raise IntegrityError(f"{backup.object_key} differs from its descriptor (size or sha256): do not use it")
    return cipher.bytes


def verify_wal_object(store: ObjectStore, keyring: Keyring, system_identifier: str, name: str, key: str) -> int:
    """Authenticate one archived WAL file end to end; return the plaintext size."""
    with closing(store.open(key)) as body:
        binding, content = sealed.open_sealed(body, keyring, archive.wal_context(system_identifier, name), what=key)
        digest, size = hashlib.sha256(), 0
        for piece in content:
            digest.update(piece)
            size += len(piece)
    if (digest.hexdigest(), size) != (binding.get("sha256"), binding.get("bytes")):
        raise IntegrityError(f"{key} decrypts to content whose checksum differs from its binding: do not use it")
    return size


def verify_archive(store: ObjectStore, keyring: Keyring, system_identifier: str | None = None, *,
                   progress=None) -> VerifyResult:
    """Verify every base backup and the WAL they need; `problems` holds the first failure per object."""
    system = resolve_system(store, system_identifier)
    state = read_state(store, keyring, system)
    result = VerifyResult(system, problems=list(state.problems))
    if not state.backups:
        result.problems.append(f"cluster {system} has no usable base backup: run `hv pitr base-backup`")
    for backup in state.backups:
        try:
            result.bytes += verify_base_backup(store, keyring, backup)
            result.base_backups += 1
        except HVError as exc:
            result.problems.append(str(exc))
    start = segment_of(parse_lsn(state.backups[0].start_lsn)) if state.backups else 0
    gap = state.first_gap(start) if state.backups else None
    if gap is not None:
        result.problems.append(f"WAL segment {gap} is missing from the archive "
                               f"({archive.wal_key(system, gap)}): no point after it is recoverable")
    for obj in state.wal:
        if obj.wal.segment is not None and obj.wal.segment < start:
            continue
        try:
            verify_wal_object(store, keyring, system, obj.wal.name, obj.key)
            result.wal_objects += 1
            result.bytes += obj.size
        except HVError as exc:
            result.problems.append(str(exc))
        if progress is not None:
            progress(obj.wal.name)
    return result


@dataclass(frozen=True)
class ServerArchiving:
    """What the server says about its archiving (pg_stat_archiver), when DATABASE_URL reaches it."""

    managed: str | None
    archive_mode: str
    last_archived_wal: str | None
    last_archived_at: datetime | None
    last_failed_wal: str | None
    last_failed_at: datetime | None
    failed_count: int


def server_archiving(database_url: str) -> ServerArchiving:
    with db.connect(database_url) as conn:
        managed = conn.execute(
            "SELECT CASE WHEN name LIKE 'rds.%' THEN 'Amazon RDS' ELSE 'Google Cloud SQL' END FROM pg_settings "
            "WHERE name LIKE 'rds.%' OR name LIKE 'cloudsql.%' LIMIT 1").fetchone()
        mode = conn.execute("SHOW archive_mode").fetchone()[0]
        row = conn.execute("SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time, "
                           "failed_count FROM pg_stat_archiver").fetchone()
    return ServerArchiving(managed[0] if managed else None, mode, *row)


@dataclass(frozen=True)
class Status:
    system_identifier: str
    earliest: datetime | None
    latest: datetime | None
    last_segment: str | None
    rpo_s: float | None
    base_backups: list[BaseBackup]
    gap: str | None
    problems: list[str]

    def as_dict(self) -> dict[str, object]:
        return {
            "system_identifier": self.system_identifier,
            "window": {"earliest": _iso(self.earliest), "latest": _iso(self.latest)},
            "last_archived_segment": self.last_segment,
            "last_segment_age_s": round(self.rpo_s, 1) if self.rpo_s is not None else None,
            "gap": self.gap,
            "base_backups": [{"backup_id": b.backup_id, "completed_at": _iso(b.completed_at), "timeline": b.timeline,
                              "start_lsn": b.start_lsn, "stop_lsn": b.stop_lsn, "bytes": b.object_bytes}
                             for b in self.base_backups],
            "problems": self.problems,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def status(store: ObjectStore, keyring: Keyring, system_identifier: str | None = None, *,
           now: datetime | None = None) -> Status:
    system = resolve_system(store, system_identifier)
    state: ArchiveState = read_state(store, keyring, system)
    newest = state.newest_segment
    now = now or datetime.now(UTC)
    rpo = (now - newest.archived_at).total_seconds() if newest and newest.archived_at else None
    gap = state.first_gap() if state.backups else None
    return Status(system, state.earliest, state.latest, newest.wal.name if newest else None, rpo,
                  state.backups, gap, state.problems)


@dataclass(frozen=True)
class Health:
    """The WAL archive's health as the asset check reports it."""

    healthy: bool
    reasons: list[str]
    status: Status


def archive_health(store: ObjectStore, keyring: Keyring, system_identifier: str | None = None, *,
                   max_segment_age_s: float, now: datetime | None = None) -> Health:
    """Healthy when a base backup exists, the chain has no gap and the newest segment is recent enough.

    An idle server still closes a segment every archive_timeout, so a newest segment older than a few
    of those means archiving has stopped (the store is down, the command fails): the RPO is growing.
    """
    try:
        state = status(store, keyring, system_identifier, now=now)
    except ConfigurationError as exc:  # nothing archived at all (or several clusters and none named)
        return Health(False, [str(exc)], Status(system_identifier or "none", None, None, None, None, [], None, []))
    reasons = list(state.problems)
    if not state.base_backups:
        reasons.append("no base backup: run `hv pitr base-backup`")
    if state.gap is not None:
        reasons.append(f"WAL segment {state.gap} is missing: points after it are not recoverable")
    if state.rpo_s is None:
        reasons.append("no WAL segment archived yet")
    elif state.rpo_s > max_segment_age_s:
        reasons.append(f"the newest archived segment is {state.rpo_s:.0f}s old (limit {max_segment_age_s:.0f}s): "
                       "archiving has stopped; check the server log for archive_command errors")
    return Health(not reasons, reasons, state)
