"""What backups the object store holds: manifests found, authenticated and matched with their dumps."""

from __future__ import annotations

from dataclasses import dataclass

from hv_pipelines.core.backup import layout
from hv_pipelines.core.backup.manifest import Manifest
from hv_pipelines.core.errors import HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore, StoredObject


class BackupNotFound(HVError):
    """No (verified) backup matches what was asked for."""


OK = "ok"
INCOMPLETE = "incomplete"  # a dump without a manifest: failed or still running
UNAUTHENTIC = "unauthentic"  # the manifest fails its MAC (edited, or sealed by an unknown key)
DUMP_MISSING = "dump-missing"  # an authentic manifest whose dump object is gone


@dataclass(frozen=True)
class BackupEntry:
    """One backup id in the store: its state, authenticated manifest (if any) and dump object (if any)."""

    database: str
    backup_id: str
    status: str
    manifest: Manifest | None
    dump: StoredObject | None
    problem: str | None = None

    @property
    def counts(self) -> bool:
        """A backup counts when its manifest authenticates and its dump object is there."""
        return self.status == OK


def _objects_by_backup(store: ObjectStore, prefix: str) -> dict[tuple[str, str], dict[str, StoredObject]]:
    found: dict[tuple[str, str], dict[str, StoredObject]] = {}
    for item in store.list(prefix):
        parsed = layout.parse_key(item.key)
        if parsed:
            found.setdefault((parsed[0], parsed[1]), {})[parsed[2]] = item
    return found


def _entry(store: ObjectStore, keyring: Keyring, database: str, backup_id: str,
           objects: dict[str, StoredObject]) -> BackupEntry:
    manifest_obj, dump = objects.get(layout.MANIFEST_SUFFIX), objects.get(layout.DUMP_SUFFIX)
    if manifest_obj is None:
        return BackupEntry(database, backup_id, INCOMPLETE, None, dump, "no manifest (failed or running backup)")
    try:
        manifest = Manifest.open(store.read_bytes(manifest_obj.key), keyring, key=manifest_obj.key)
    except IntegrityError as exc:
        return BackupEntry(database, backup_id, UNAUTHENTIC, None, dump, str(exc))
    if dump is None:
        return BackupEntry(database, backup_id, DUMP_MISSING, manifest, None, "manifest without its dump object")
    return BackupEntry(database, backup_id, OK, manifest, dump)


def list_backups(store: ObjectStore, keyring: Keyring, database: str | None = None) -> list[BackupEntry]:
    """Every backup id under `backups/` (or one database's), oldest first."""
    prefix = layout.database_prefix(database) if database else layout.ROOT + "/"
    grouped = _objects_by_backup(store, prefix)
    entries = [_entry(store, keyring, db_name, backup_id, objects) for (db_name, backup_id), objects in grouped.items()]
    # Ids carry whole seconds; the manifest's creation time orders two backups taken within one second.
    return sorted(entries, key=lambda e: (e.manifest.created_at if e.manifest else layout.started_at(e.backup_id),
                                          e.backup_id))


def find_backup(store: ObjectStore, keyring: Keyring, backup_id: str) -> Manifest:
    """The authenticated manifest of `backup_id`, whichever database it belongs to."""
    layout.started_at(backup_id)  # reject a malformed id before listing the store
    for (db_name, found_id), objects in _objects_by_backup(store, layout.ROOT + "/").items():
        if found_id == backup_id:
            entry = _entry(store, keyring, db_name, backup_id, objects)
            fallback = ("; its object alone restores with `hv backup restore --no-manifest` (checked against "
                        "the id, not the manifest)" if entry.dump is not None else "")
            if entry.status == UNAUTHENTIC:
                raise IntegrityError(f"backup {backup_id} cannot be trusted: {entry.problem}{fallback}")
            if not entry.counts:
                raise BackupNotFound(f"backup {backup_id} does not count: {entry.problem}{fallback}")
            return entry.manifest
    raise BackupNotFound(f"backup {backup_id} not found in {store.url}: see `hv backup list`")


def find_dump_key(store: ObjectStore, backup_id: str) -> str:
    """The key of `backup_id`'s encrypted object, found by listing, without reading its manifest."""
    layout.started_at(backup_id)
    for (_, found_id), objects in _objects_by_backup(store, layout.ROOT + "/").items():
        if found_id == backup_id and layout.DUMP_SUFFIX in objects:
            return objects[layout.DUMP_SUFFIX].key
    raise BackupNotFound(f"backup {backup_id} has no object in {store.url}: see `hv backup list`")


def latest_backup(store: ObjectStore, keyring: Keyring, database: str) -> Manifest:
    """The newest backup of `database` that counts (authenticated manifest, dump present)."""
    counted = [e.manifest for e in list_backups(store, keyring, database) if e.counts]
    if not counted:
        raise BackupNotFound(f"no verified backup of database {database} in {store.url}: "
                             "run `hv backup create` first")
    return counted[-1]
