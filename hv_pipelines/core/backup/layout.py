"""Where backups live in the object store, and what their ids look like.

    backups/<database>/<YYYY>/<MM>/<DD>/<backup-id>.dump.enc       the encrypted pg_dump archive
    backups/<database>/<YYYY>/<MM>/<DD>/<backup-id>.manifest.json  what it holds, MAC-sealed

A backup id is its UTC start time plus random hex (`20250102T020000Z-3fa9c1d2`): sortable, unique
without coordination, and meaningful to an operator reading a listing.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from hv_pipelines.core.errors import ConfigurationError

ROOT = "backups"
DUMP_SUFFIX = ".dump.enc"
MANIFEST_SUFFIX = ".manifest.json"
_ID = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{8}$")
_DATABASE = re.compile(r"^[A-Za-z0-9_.-]+$")


def new_backup_id(started: datetime) -> str:
    return f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-{os.urandom(4).hex()}"


def started_at(backup_id: str) -> datetime:
    match = _ID.match(backup_id)
    if not match:
        raise ConfigurationError(f"{backup_id!r} is not a backup id (like 20250102T020000Z-3fa9c1d2): "
                                 "see `hv backup list`")
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def database_prefix(database: str) -> str:
    if not _DATABASE.match(database):
        raise ConfigurationError(f"database name {database!r} cannot be used in an object key")
    return f"{ROOT}/{database}/"


def backup_prefix(database: str, backup_id: str) -> str:
    return f"{database_prefix(database)}{started_at(backup_id):%Y/%m/%d}/{backup_id}"


def envelope_context(backup_id: str) -> str:
    """What a backup's encrypted object is sealed as (core.envelope): its header names the backup id."""
    return f"backup/{backup_id}"


def dump_key(database: str, backup_id: str) -> str:
    return backup_prefix(database, backup_id) + DUMP_SUFFIX


def manifest_key(database: str, backup_id: str) -> str:
    return backup_prefix(database, backup_id) + MANIFEST_SUFFIX


def parse_key(key: str) -> tuple[str, str, str] | None:
    """(database, backup id, suffix) of a backup object key, or None for anything else."""
    parts = key.split("/")
    if len(parts) != 6 or parts[0] != ROOT:
        return None
    for suffix in (DUMP_SUFFIX, MANIFEST_SUFFIX):
        if parts[5].endswith(suffix):
            backup_id = parts[5][: -len(suffix)]
            return (parts[1], backup_id, suffix) if _ID.match(backup_id) else None
    return None
