"""The manifest: what a backup holds, sealed with a MAC so a listing can trust it.

A backup counts only once its manifest exists: the manifest is written after the encrypted object
has been uploaded and read back, so its presence means "complete and verified". It holds no PHI:
sizes, checksums, versions, table names and row counts, the master key id and timings. The MAC
(HMAC-SHA256 under a key derived from the master key, see core.keyring) covers every other field,
so neither the row counts a restore is checked against nor the object checksum can be edited.

A MAC only proves that the key holder wrote the manifest, not which backup it describes: an
authentic manifest copied over another backup's would otherwise be believed. So the manifest names
its backup id and object key, and the object's own header (its digest, data-key id and nonce
prefix, both unique per object), and `open` refuses a manifest found anywhere but at its own key.
Manifests of format 1 (before this binding) are refused with a message that says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from hv_pipelines.core.backup import layout
from hv_pipelines.core.errors import ConfigurationError, IntegrityError
from hv_pipelines.core.keyring import Keyring

FORMAT = "hv-backup-manifest/2"
UNBOUND_FORMATS = ("hv-backup-manifest/1",)  # before manifests named their object's header


@dataclass(frozen=True)
class Manifest:
    backup_id: str
    database: str
    created_at: datetime
    completed_at: datetime
    object_key: str
    object_bytes: int
    object_sha256: str
    dump_bytes: int
    compressed_bytes: int
    chunk_size: int
    key_id: str
    header_sha256: str
    data_key_id: str
    nonce_prefix: str
    pg_dump_version: str
    server_version: str
    alembic_revision: str | None
    schema_fingerprint: str
    table_rows: dict[str, int]
    durations: dict[str, float]
    verified_at: datetime
    retain_until: datetime | None = None
    partition: str | None = None
    compression: str = "zstd"
    format: str = FORMAT
    mac_key_id: str = field(default="", compare=False)

    @property
    def total_rows(self) -> int:
        return sum(self.table_rows.values())

    def _body(self) -> dict:
        body = asdict(self)
        for name in ("created_at", "completed_at", "verified_at", "retain_until"):
            body[name] = body[name].isoformat() if body[name] else None
        return body

    def seal(self, keyring: Keyring) -> bytes:
        """The manifest as JSON, with a MAC under the keyring's active master key."""
        body = {**self._body(), "mac_key_id": keyring.active.key_id}
        body["mac"] = keyring.mac(_canonical(body), keyring.active.key_id)
        return json.dumps(body, sort_keys=True, indent=2).encode()

    @classmethod
    def open(cls, data: bytes, keyring: Keyring, *, key: str) -> Manifest:
        """Parse and authenticate the sealed manifest read from `key`; IntegrityError says what fails.

        Beyond its MAC, the manifest must be the one of the backup `key` names: the backup id, the
        database and the date path in `key` must be its own, and so must its object key.
        """
        try:
            body = json.loads(data)
            mac, mac_key_id = body.pop("mac"), body["mac_key_id"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise IntegrityError(f"manifest {key} is not a backup manifest: it was damaged or replaced; "
                                 "restore from another backup") from None
        if body.get("format") in UNBOUND_FORMATS:
            raise IntegrityError(f"manifest {key} has the old format {body['format']!r}, which does not bind it to "
                                 "its backup: this release refuses it; take a new backup (the old one restores only "
                                 "with the release that wrote it)")
        if body.get("format") != FORMAT:
            raise IntegrityError(f"manifest {key} has format {body.get('format')!r}; this release reads "
                                 f"{FORMAT}: upgrade hv_pipelines")
        try:
            keyring.verify_mac(_canonical(body), mac, mac_key_id)
        except IntegrityError as exc:
            raise IntegrityError(f"manifest {key}: {exc}") from None
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in body.items() if k in known}
        for name in ("created_at", "completed_at", "verified_at", "retain_until"):
            values[name] = datetime.fromisoformat(values[name]) if values.get(name) else None
        manifest = cls(**values)
        manifest._check_bound_to(key)
        return manifest

    def _check_bound_to(self, key: str) -> None:
        try:
            own = layout.manifest_key(self.database, self.backup_id)
        except ConfigurationError:
            raise IntegrityError(f"manifest {key} names no valid backup id and database") from None
        if key != own or self.object_key != layout.dump_key(self.database, self.backup_id):
            raise IntegrityError(f"manifest {key} is the authentic manifest of backup {self.backup_id} "
                                 f"({own}), copied here: it says nothing about this backup; restore from "
                                 "another backup")


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
