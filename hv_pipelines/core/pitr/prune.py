"""`hv pitr prune`: delete base backups and WAL that no point in the recovery window needs.

To recover to any point of the last N days takes the newest base backup that ended before the
window opened (plus every later one) and every WAL segment from the oldest of those onward. The
newest base backup is always kept; timeline history files are tiny and always kept; an object under
Object Lock (a retention date not yet passed, or a legal hold) is never deleted: it stays, is
reported, and a later prune removes it once the lock is gone. A base backup goes only when neither
its descriptor nor its object is locked, the descriptor first, so a crash never leaves a descriptor
pointing at nothing. An object the store refuses to delete is reported and the prune goes on with
the rest: everything it deletes is outside the window either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import descriptor
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.inventory import read_state, resolve_system
from hv_pipelines.core.pitr.walfiles import parse_lsn, segment_of
from hv_pipelines.core.storage import ObjectStore, StoredObject

DEFAULT_RECOVERY_WINDOW_DAYS = 14
ORPHAN_AGE = timedelta(days=1)


@dataclass
class PitrPruneResult:
    kept_backups: list[str] = field(default_factory=list)
    deleted_backups: list[str] = field(default_factory=list)
    deleted_wal: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "key (error class)": the store refused the delete
    oldest_needed_wal: str | None = None


def is_locked(head: StoredObject | None, now: datetime) -> bool:
    return head is not None and (head.legal_hold or (head.retain_until is not None and head.retain_until > now))


def needed_backups(backups: list[BaseBackup], window_start: datetime) -> list[BaseBackup]:
    """The base backups a recovery to any point after `window_start` may start from (oldest first)."""
    if not backups:
        return []
    before = [b for b in backups if b.completed_at < window_start]
    inside = [b for b in backups if b.completed_at >= window_start]
    return ([before[-1]] if before else []) + inside


def prune(store: ObjectStore, keyring: Keyring, *, recovery_window_days: int = DEFAULT_RECOVERY_WINDOW_DAYS,
          system_identifier: str | None = None, now: datetime | None = None,
          dry_run: bool = False) -> PitrPruneResult:
    system = resolve_system(store, system_identifier)
    state = read_state(store, keyring, system)
    result = PitrPruneResult()
    if not state.backups:
        return result  # nothing says which WAL is needed: keep all of it
    window_start = (now or datetime.now(UTC)) - timedelta(days=recovery_window_days)
    kept = needed_backups(state.backups, window_start)
    result.kept_backups = [b.backup_id for b in kept]
    first_needed = segment_of(parse_lsn(kept[0].start_lsn))
    now = now or datetime.now(UTC)

    def delete(*keys: str) -> bool:
        """Delete `keys` in order, or none of them when any is locked; False when kept or refused."""
        try:
            heads = {}
            for key in keys:
                heads[key] = store.head(key)
            locked = [k for k in keys if is_locked(heads[k], now)]
            if locked:
                result.locked.extend(locked)
                return False
            for key in keys:
                if not dry_run:
                    store.delete(key)
        except Exception as exc:  # noqa: BLE001 - any store's refusal (OSError, botocore): report it, go on
            result.failed.append(f"{key} ({type(exc).__name__})")
            return False
        return True

    for backup in state.backups:
        if backup.backup_id in result.kept_backups:
            continue
        if delete(descriptor.descriptor_key(system, backup.backup_id), backup.object_key):
            result.deleted_backups.append(backup.backup_id)
    described = {b.object_key for b in state.backups}
    for obj in store.list(descriptor.base_prefix(system)):
        # An object a failed or half-pruned backup left without a descriptor (a day old: not one being written).
        stale = obj.last_modified is not None and obj.last_modified < now - ORPHAN_AGE
        if obj.key.endswith(descriptor.OBJECT_SUFFIX) and obj.key not in described and stale and delete(obj.key):
            result.deleted_backups.append(obj.key)
    for obj in state.wal:
        if obj.wal.segment is None or obj.wal.segment >= first_needed:  # no segment: a timeline history file
            if result.oldest_needed_wal is None and obj.wal.is_segment:
                result.oldest_needed_wal = obj.wal.name
            continue
        if delete(obj.key):
            result.deleted_wal.append(obj.wal.name)
    return result
