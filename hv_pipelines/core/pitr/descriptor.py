"""A base backup's descriptor: what it holds and where its WAL starts, sealed with a MAC.

    basebackups/<system-identifier>/<backup-id>.tar.zst.enc      pg_basebackup's tar, sealed
    basebackups/<system-identifier>/<backup-id>.json             this descriptor, MAC-sealed

A base backup counts only once its descriptor exists (written after the upload completed). The MAC
covers every field, including the object key, the backup id and the system identifier, and a reader
checks those against the key it read the descriptor from: an authentic descriptor copied to
another name or cluster is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring

ROOT = "basebackups"
OBJECT_SUFFIX = ".tar.zst.enc"
DESCRIPTOR_SUFFIX = ".json"
FORMAT = "hv-base-backup/1"
_TIMES = ("started_at", "completed_at")


def base_prefix(system_identifier: int | str) -> str:
    return f"{ROOT}/{system_identifier}/"


def object_key(system_identifier: int | str, backup_id: str) -> str:
    return f"{base_prefix(system_identifier)}{backup_id}{OBJECT_SUFFIX}"


def object_context(system_identifier: int | str, backup_id: str) -> str:
    """What a base backup object is sealed as (the envelope's context): its cluster and id."""
    return f"basebackup/{system_identifier}/{backup_id}"


def descriptor_key(system_identifier: int | str, backup_id: str) -> str:
    return f"{base_prefix(system_identifier)}{backup_id}{DESCRIPTOR_SUFFIX}"


@dataclass(frozen=True)
class BaseBackup:
    backup_id: str
    system_identifier: str
    object_key: str
    object_bytes: int
    object_sha256: str
    tar_bytes: int
    manifest_sha256: str
    key_id: str
    timeline: int
    start_lsn: str
    stop_lsn: str
    start_wal: str
    started_at: datetime
    completed_at: datetime
    server_version: str
    pg_basebackup_version: str
    durations: dict[str, float]
    manifest_checksums: str = ""  # the manifest's checksum algorithm ("SHA256"); "" before it was recorded: CRC32C
    format: str = FORMAT
    mac_key_id: str = field(default="", compare=False)

    def seal(self, keyring: Keyring) -> bytes:
        body = asdict(self)
        for name in _TIMES:
            body[name] = body[name].isoformat()
        body["mac_key_id"] = keyring.active.key_id
        body["mac"] = keyring.mac(_canonical(body), keyring.active.key_id)
        return json.dumps(body, sort_keys=True, indent=2).encode()

    @classmethod
    def open(cls, data: bytes, keyring: Keyring, *, key: str) -> BaseBackup:
        """Parse and authenticate a descriptor read from `key`; IntegrityError names `key` if it fails."""
        try:
            body = json.loads(data)
            mac, mac_key_id = body.pop("mac"), body["mac_key_id"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise IntegrityError(f"{key} is not a base backup descriptor: it was damaged or replaced") from None
        if body.get("format") != FORMAT:
            raise IntegrityError(f"{key} has format {body.get('format')!r}; this release reads {FORMAT}")
        try:
            keyring.verify_mac(_canonical(body), mac, mac_key_id)
        except IntegrityError as exc:
            raise IntegrityError(f"{key}: {exc}") from None
        values = {k: v for k, v in body.items() if k in {f.name for f in fields(cls)}}
        for name in _TIMES:
            values[name] = datetime.fromisoformat(values[name])
        backup = cls(**values)
        if descriptor_key(backup.system_identifier, backup.backup_id) != key:
            raise IntegrityError(f"{key} is the authentic descriptor of backup {backup.backup_id} of cluster "
                                 f"{backup.system_identifier}, copied to another name: do not use it")
        return backup


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
