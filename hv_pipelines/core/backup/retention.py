"""Retention: grandfather-father-son over verified backups, never touching what must survive.

Kept: the newest backup of each of the last `daily` days that have backups, of the last `weekly` ISO
weeks and of the last `monthly` months, and always the newest verified backup whatever its age.
Never deleted: anything still under Object Lock (or whose manifest records a retention date not yet
reached — the local backend cannot enforce it, so pruning does), and anything whose manifest fails
authentication (that needs a person, not a cron job). Incomplete backups — a dump without a
manifest, older than a grace period that covers a backup still running — are swept.

Temporary uploads of killed backups (a local `.upload-*` file, an incomplete S3 multipart upload)
older than the same grace are removed too: ciphertext that no listing shows would otherwise stay.

A backup is deleted manifest first: from that moment it no longer counts, and if the dump's deletion
fails it is an orphan the next prune sweeps, never a manifest pointing at nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hv_pipelines.core.backup import audit, inventory, layout
from hv_pipelines.core.backup.inventory import BackupEntry, list_backups
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    daily: int = 7
    weekly: int = 4
    monthly: int = 12
    orphan_grace: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        if min(self.daily, self.weekly, self.monthly) < 0:
            raise ValueError("retention counts cannot be negative")


@dataclass
class PruneResult:
    kept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)
    suspect: list[str] = field(default_factory=list)
    stale_uploads: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_metadata(self) -> dict[str, object]:
        return {"kept": len(self.kept), "deleted": len(self.deleted), "locked": len(self.locked),
                "orphans_deleted": len(self.orphans_deleted), "suspect": len(self.suspect),
                "stale_uploads_removed": len(self.stale_uploads)}


def select_kept(created: dict[str, datetime], policy: RetentionPolicy) -> set[str]:
    """The backup ids (from id → creation time) that grandfather-father-son keeps."""
    newest_first = sorted(created, key=lambda backup_id: created[backup_id], reverse=True)
    kept = set(newest_first[:1])
    buckets = (
        (policy.daily, lambda t: t.date()),
        (policy.weekly, lambda t: t.isocalendar()[:2]),
        (policy.monthly, lambda t: (t.year, t.month)),
    )
    for limit, bucket_of in buckets:
        seen: set = set()
        for backup_id in newest_first:
            bucket = bucket_of(created[backup_id].astimezone(UTC))
            if bucket not in seen and len(seen) < limit:
                seen.add(bucket)
                kept.add(backup_id)
    return kept


def prune_backups(store: ObjectStore, keyring: Keyring, database: str, policy: RetentionPolicy | None = None, *,
                  now: datetime | None = None, dry_run: bool = False, audit_url: str | None = None) -> PruneResult:
    """Delete what `policy` does not keep for `database`; return (and log) what was kept and deleted."""
    policy = policy or RetentionPolicy()
    now = now or datetime.now(UTC)
    entries = list_backups(store, keyring, database)
    counted = {e.backup_id: e.manifest.created_at for e in entries if e.counts}
    kept = select_kept(counted, policy)
    result = PruneResult(kept=sorted(kept), dry_run=dry_run)
    for entry in entries:
        if entry.backup_id in kept:
            continue
        if entry.status in (inventory.UNAUTHENTIC, inventory.DUMP_MISSING):
            result.suspect.append(entry.backup_id)
        elif entry.counts or now - layout.started_at(entry.backup_id) > policy.orphan_grace:
            if _locked(store, entry, now):
                result.locked.append(entry.backup_id)
                continue
            if not dry_run:
                _delete(store, entry)
            (result.deleted if entry.counts else result.orphans_deleted).append(entry.backup_id)
    if not dry_run:
        result.stale_uploads = store.sweep_stale_uploads(layout.database_prefix(database), policy.orphan_grace)
    for backup_id in result.deleted + result.orphans_deleted:
        log.info("%s backup %s of %s", "would delete" if dry_run else "deleted", backup_id, database)
    if audit_url and not dry_run and (result.deleted or result.orphans_deleted):
        audit.record(audit_url, action="BACKUP_PRUNED", backup_id="-", details={
            "database": database, "deleted": result.deleted, "orphans_deleted": result.orphans_deleted,
            "kept": len(result.kept), "locked": len(result.locked)})
    return result


def _locked(store: ObjectStore, entry: BackupEntry, now: datetime) -> bool:
    """Under retention per the store (Object Lock) or per the manifest's recorded date."""
    dates = [entry.manifest.retain_until] if entry.manifest and entry.manifest.retain_until else []
    for suffix in (layout.DUMP_SUFFIX, layout.MANIFEST_SUFFIX):
        head = store.head(layout.backup_prefix(entry.database, entry.backup_id) + suffix)
        if head is not None and head.retain_until is not None:
            dates.append(head.retain_until)
    return any(date > now for date in dates)


def _delete(store: ObjectStore, entry: BackupEntry) -> None:
    prefix = layout.backup_prefix(entry.database, entry.backup_id)
    store.delete(prefix + layout.MANIFEST_SUFFIX)
    store.delete(prefix + layout.DUMP_SUFFIX)
