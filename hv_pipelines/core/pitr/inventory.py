"""What the store holds for one cluster: its base backups, its WAL, and the window they recover.

The window runs from the end of the oldest base backup (the first consistent point) to the time the
newest WAL segment was archived (nothing later can be replayed). The WAL is continuous when every
segment from the oldest base backup's first segment to the newest one is archived on some timeline
(a promoted server continues the same segment numbers on a higher timeline); the first missing
segment is a gap, and no point after it can be reached from a backup before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hv_pipelines.core.errors import ConfigurationError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import archive, descriptor
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.walfiles import WalName, parse_lsn, parse_name, segment_name, segment_of
from hv_pipelines.core.storage import ObjectStore


@dataclass(frozen=True)
class WalObject:
    wal: WalName
    key: str
    size: int
    archived_at: datetime | None


@dataclass
class ArchiveState:
    system_identifier: str
    backups: list[BaseBackup] = field(default_factory=list)  # oldest first
    wal: list[WalObject] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # descriptors that failed authentication, orphans

    @property
    def segments(self) -> dict[int, list[WalObject]]:
        """Segment number -> the archived segment objects with that number (one per timeline)."""
        out: dict[int, list[WalObject]] = {}
        for obj in self.wal:
            if obj.wal.is_segment:
                out.setdefault(obj.wal.segment, []).append(obj)
        return out

    @property
    def newest_segment(self) -> WalObject | None:
        segments = [o for o in self.wal if o.wal.is_segment]
        return max(segments, key=lambda o: (o.wal.segment, o.wal.timeline)) if segments else None

    @property
    def earliest(self) -> datetime | None:
        return min((b.completed_at for b in self.backups), default=None)

    @property
    def latest(self) -> datetime | None:
        newest = self.newest_segment
        return newest.archived_at if newest else None

    def first_gap(self, from_segment: int | None = None) -> str | None:
        """The name of the first segment missing between `from_segment` (default: the oldest backup's
        first) and the newest archived segment, or None when the chain is continuous."""
        segments = self.segments
        if from_segment is None:
            if not self.backups:
                return None
            from_segment = segment_of(parse_lsn(self.backups[0].start_lsn))
        newest = self.newest_segment
        if newest is None:
            return segment_name(self.backups[0].timeline if self.backups else 1, from_segment)
        timeline = self.backups[0].timeline if self.backups else 1
        for number in range(from_segment, newest.wal.segment + 1):
            if number not in segments:
                return segment_name(timeline, number)
            timeline = max(o.wal.timeline for o in segments[number])
        return None


def systems(store: ObjectStore) -> list[str]:
    """The system identifiers the store holds WAL or base backups of."""
    found = set()
    for root in (archive.ROOT, descriptor.ROOT):
        for obj in store.list(root + "/"):
            parts = obj.key.split("/")
            if len(parts) > 2 and parts[1].isdigit():
                found.add(parts[1])
    return sorted(found)


def resolve_system(store: ObjectStore, system_identifier: str | None) -> str:
    if system_identifier:
        return str(system_identifier)
    found = systems(store)
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigurationError(f"{store.url} holds no WAL archive or base backup: check HV_OBJECT_STORE_URL, or "
                                 "take a base backup (`hv pitr base-backup`) once archiving runs")
    raise ConfigurationError(f"{store.url} holds the archives of several clusters ({', '.join(found)}): pass "
                             "--system-identifier")


def read_state(store: ObjectStore, keyring: Keyring, system_identifier: str) -> ArchiveState:
    """List one cluster's archive; descriptors are authenticated, WAL objects only listed."""
    state = ArchiveState(system_identifier)
    objects = {o.key: o for o in store.list(descriptor.base_prefix(system_identifier))}
    for key in sorted(objects):
        if not key.endswith(descriptor.DESCRIPTOR_SUFFIX):
            continue
        try:
            backup = descriptor.BaseBackup.open(store.read_bytes(key), keyring, key=key)
        except IntegrityError as exc:
            state.problems.append(str(exc))
            continue
        if backup.object_key not in objects:
            state.problems.append(f"{backup.object_key} is missing: base backup {backup.backup_id} cannot be used")
            continue
        state.backups.append(backup)
    state.backups.sort(key=lambda b: b.completed_at)
    for obj in store.list(archive.wal_prefix(system_identifier)):
        name = archive.name_of_key(obj.key)
        if name is not None:
            state.wal.append(WalObject(parse_name(name), obj.key, obj.size, obj.last_modified))
    state.wal.sort(key=lambda o: (o.wal.segment or -1, o.wal.timeline, o.wal.name))
    return state
