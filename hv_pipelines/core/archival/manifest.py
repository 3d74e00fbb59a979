"""Archive manifests and the hash chain that links them; purge tombstones.

Every archive run that uploads rows writes one manifest: the month, the rows' count, time range and
`hv-columns/1` hash, the columns, the master key id, and each part's key, size, object SHA-256 and rows
hash. Manifests are numbered in the order they were written and each carries the SHA-256 of the
previous manifest's bytes, so a manifest that is deleted, replaced or edited breaks the chain at
the next one; an HMAC under the master key (core.keyring) covers every field, so a forger would
need the key as well. Manifests hold counts, hashes and keys only — no PHI — and are kept when an
archive is purged (a sealed tombstone records the purge), so the chain stays verifiable forever.

Layout under the store:

    audit-archive/manifests/<seq:08d>-<YYYY-MM>-<id8>.json      the chain, in order
    audit-archive/<YYYY-MM>/<seq:08d>-<id8>/part-<nnn>.parquet.hvenc
    audit-archive/purged/<seq:08d>-<YYYY-MM>-<id8>.json         tombstones
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

ROOT = "audit-archive"
MANIFESTS = f"{ROOT}/manifests/"
TOMBSTONES = f"{ROOT}/purged/"
FORMAT = "hv-audit-archive-manifest/1"
TOMBSTONE_FORMAT = "hv-audit-archive-purge/1"
FULL, SUPPLEMENTARY = "full", "supplementary"


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _seal(body: dict, keyring: Keyring) -> bytes:
    body = {**body, "mac_key_id": keyring.active.key_id}
    body["mac"] = keyring.mac(_canonical(body), keyring.active.key_id)
    return json.dumps(body, sort_keys=True, indent=2).encode()


def _unseal(data: bytes, keyring: Keyring, key: str, expected_format: str) -> dict:
    try:
        body = json.loads(data)
        mac, mac_key_id = body.pop("mac"), body["mac_key_id"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise IntegrityError(f"{key} is not an audit archive manifest: it was damaged or replaced") from None
    if body.get("format") != expected_format:
        raise IntegrityError(f"{key} has format {body.get('format')!r}, expected {expected_format}: "
                             "upgrade hv_pipelines, or the object was replaced")
    try:
        keyring.verify_mac(_canonical(body), mac, mac_key_id)
    except IntegrityError as exc:
        raise IntegrityError(f"{key}: {exc}") from None
    return body


@dataclass(frozen=True)
class PartEntry:
    index: int
    key: str
    rows: int
    bytes: int
    object_sha256: str
    rows_sha256: str
    min_timestamp: datetime | None
    max_timestamp: datetime | None

    def to_json(self) -> dict:
        return {**asdict(self), "min_timestamp": _iso(self.min_timestamp),
                "max_timestamp": _iso(self.max_timestamp)}

    @classmethod
    def from_json(cls, body: dict) -> PartEntry:
        return cls(**{**body, "min_timestamp": _parse_time(body["min_timestamp"]),
                      "max_timestamp": _parse_time(body["max_timestamp"])})


@dataclass(frozen=True)
class ArchiveManifest:
    sequence: int
    archive_id: str
    month: str
    kind: str
    created_at: datetime
    row_count: int
    min_timestamp: datetime | None
    max_timestamp: datetime | None
    rows_sha256: str
    columns: list[list[str]]
    key_id: str
    retain_until: datetime | None
    parts: list[PartEntry]
    previous_sha256: str | None
    source_bytes: int = 0
    row_encoding: str = "hv-columns/1"
    format: str = FORMAT
    mac_key_id: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        return manifest_key(self.sequence, self.month, self.archive_id)

    @property
    def archive_bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    def seal(self, keyring: Keyring) -> bytes:
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "mac_key_id"}
        for name in ("created_at", "min_timestamp", "max_timestamp", "retain_until"):
            body[name] = _iso(body[name])
        body["parts"] = [p.to_json() for p in self.parts]
        return _seal(body, keyring)

    @classmethod
    def open(cls, data: bytes, keyring: Keyring, *, key: str = "manifest") -> ArchiveManifest:
        body = _unseal(data, keyring, key, FORMAT)
        known = {f.name for f in fields(cls)}
        try:
            values = {k: v for k, v in body.items() if k in known}
            for name in ("created_at", "min_timestamp", "max_timestamp", "retain_until"):
                values[name] = _parse_time(values.get(name))
            values["parts"] = [PartEntry.from_json(p) for p in values["parts"]]
            return cls(**values)
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(f"{key} is authentic but incomplete: upgrade hv_pipelines") from None


def manifest_key(sequence: int, month: str, archive_id: str) -> str:
    return f"{MANIFESTS}{sequence:08d}-{month}-{archive_id[:8]}.json"


def part_key(sequence: int, month: str, archive_id: str, index: int) -> str:
    return f"{ROOT}/{month}/{sequence:08d}-{archive_id[:8]}/part-{index:03d}.parquet.hvenc"


def tombstone_key(manifest: ArchiveManifest) -> str:
    return f"{TOMBSTONES}{manifest.key.removeprefix(MANIFESTS)}"


def sequence_of(key: str) -> int | None:
    """The sequence number a manifest or tombstone key starts with (None for a foreign object)."""
    name = key.rsplit("/", 1)[-1]
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() and name.endswith(".json") else None


def manifest_keys(store: ObjectStore) -> list[str]:
    """Every manifest key in the store, in chain order."""
    keys = [o.key for o in store.list(MANIFESTS) if sequence_of(o.key) is not None]
    return sorted(keys, key=lambda k: (sequence_of(k), k))


@dataclass(frozen=True)
class ChainLink:
    key: str
    manifest: ArchiveManifest
    sha256: str


def read_link(store: ObjectStore, keyring: Keyring, key: str) -> ChainLink:
    data = store.read_bytes(key)
    return ChainLink(key, ArchiveManifest.open(data, keyring, key=key), sha256_hex(data))


def chain_head(store: ObjectStore, keyring: Keyring) -> ChainLink | None:
    """The newest manifest, authenticated; a new archive links to it."""
    keys = manifest_keys(store)
    if not keys:
        return None
    try:
        head = read_link(store, keyring, keys[-1])
    except IntegrityError as exc:
        raise IntegrityError(f"the archive chain's newest manifest failed verification ({exc}): no new archive "
                             "can link to it; run `hv audit verify` and investigate before archiving") from None
    if head.manifest.sequence != sequence_of(keys[-1]):
        raise IntegrityError(f"manifest {keys[-1]} claims sequence {head.manifest.sequence}: it was renamed; "
                             "run `hv audit verify`")
    return head


@dataclass(frozen=True)
class Tombstone:
    """A sealed record that an archive's objects were purged under the retention policy."""

    sequence: int
    archive_id: str
    month: str
    manifest_sha256: str
    purged_at: datetime
    delete_after_days: int
    part_keys: list[str]
    format: str = TOMBSTONE_FORMAT

    def seal(self, keyring: Keyring) -> bytes:
        return _seal({**asdict(self), "purged_at": _iso(self.purged_at)}, keyring)

    @classmethod
    def open(cls, data: bytes, keyring: Keyring, *, key: str = "tombstone") -> Tombstone:
        body = _unseal(data, keyring, key, TOMBSTONE_FORMAT)
        body.pop("mac_key_id", None)
        try:
            return cls(**{**body, "purged_at": _parse_time(body["purged_at"])})
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(f"{key} is authentic but incomplete: upgrade hv_pipelines") from None
