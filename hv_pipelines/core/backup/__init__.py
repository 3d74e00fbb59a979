"""Encrypted, verified database backups: create, list, verify, restore, drill and prune.

    create.py      pg_dump (exported snapshot) → zstd → envelope → object store; read back; manifest
    restore.py     object → decrypt → decompress → pg_restore (single transaction); compare; drill
    retention.py   grandfather-father-son pruning that respects Object Lock
    inventory.py   what the store holds (manifests authenticated, matched with their dumps)
    manifest.py    the MAC-sealed description of one backup
    catalog.py     tables, row counts, schema fingerprint, Alembic revision of a database
    layout.py      object keys and backup ids
    streams.py     client-tool processes, compression, metering, prefetch
    tools.py       the pg_dump / pg_restore that match the server
    audit.py       audit_logs entries for backups and restores
"""

from hv_pipelines.core.backup.create import (
    DEFAULT_COMPRESSION_LEVEL,
    DEFAULT_LOCK_DAYS,
    BackupResult,
    create_backup,
    verify_against,
    verify_backup,
    verify_object,
)
from hv_pipelines.core.backup.inventory import (
    BackupEntry,
    BackupNotFound,
    find_backup,
    latest_backup,
    list_backups,
)
from hv_pipelines.core.backup.manifest import Manifest
from hv_pipelines.core.backup.restore import (
    DrillResult,
    RestoreResult,
    TargetNotEmpty,
    restore_backup,
    run_restore_drill,
)
from hv_pipelines.core.backup.retention import PruneResult, RetentionPolicy, prune_backups, select_kept
from hv_pipelines.core.backup.streams import ToolError

__all__ = [
    "DEFAULT_COMPRESSION_LEVEL", "DEFAULT_LOCK_DAYS", "BackupEntry", "BackupNotFound", "BackupResult", "DrillResult", "Manifest", "PruneResult", "RestoreResult",
    "RetentionPolicy", "TargetNotEmpty", "ToolError", "create_backup", "find_backup", "latest_backup",
    "list_backups", "prune_backups", "restore_backup", "run_restore_drill", "select_kept", "verify_against",
    "verify_backup", "verify_object",
]
