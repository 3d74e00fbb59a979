"""`hv audit verify` and `hv audit list`: walk the manifest chain, every object and every record.

What is checked, and what each check catches:

- every manifest's MAC (an edited or forged manifest), its sequence number against its key (a
  renamed one), and that it names the SHA-256 of the manifest before it (a deleted, replaced or
  inserted manifest breaks the link at the next one; a gap in the numbers is reported as such);
- every part object of a manifest that was not purged: present, the manifest's size, the manifest's
  SHA-256 (a replaced or altered object); with `decrypt`, also decrypted, recounted and re-hashed
  (proves the rows are recoverable with the keys configured today);
- every `audit_log_archives` row: its object is listed by a manifest and its counts match (a
  manifest deleted together with the newest archive shows up here), and every archive run still in
  `audit_logs` names a manifest the chain holds with the same hash;
- objects under `audit-archive/` that no manifest lists are reported as notes: parts left by a run
  that crashed before its manifest was written, or planted ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from hv_pipelines.core.archival.manifest import (
    MANIFESTS,
    ROOT,
    TOMBSTONES,
    ArchiveManifest,
    Tombstone,
    manifest_keys,
    sequence_of,
    sha256_hex,
)
from hv_pipelines.core.archival.parts import object_digest, read_archive
from hv_pipelines.core.archival.records import ArchiveRecord, load_records
from hv_pipelines.core.errors import HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

COMMITTED, UNCOMMITTED, PURGED = "committed", "uncommitted", "purged"
# How deep objects are checked: not at all (listing), size and SHA-256, or decrypted and re-hashed.
LIST, DIGEST, DECRYPT = "list", "digest", "decrypt"


@dataclass
class ArchiveStatus:
    sequence: int
    key: str
    month: str
    kind: str
    rows: int
    parts: int
    archive_bytes: int
    created_at: datetime
    state: str
    manifest: ArchiveManifest = field(repr=False)


@dataclass
class VerifyReport:
    archives: list[ArchiveStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    objects_checked: int = 0
    rows_checked: int = 0
    unverified_parts: set[str] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems


def _tombstones(store: ObjectStore, keyring: Keyring, report: VerifyReport) -> dict[int, tuple[Tombstone, str]]:
    found: dict[int, tuple[Tombstone, str]] = {}
    for obj in store.list(TOMBSTONES):
        try:
            stone = Tombstone.open(store.read_bytes(obj.key), keyring, key=obj.key)
        except IntegrityError as exc:
            report.problems.append(str(exc))
            continue
        found[stone.sequence] = (stone, obj.key)
    return found


def _state(manifest: ArchiveManifest, records: dict[str, ArchiveRecord], purged: bool, report: VerifyReport) -> str:
    if purged:
        return PURGED
    recorded = [p for p in manifest.parts if p.key in records]
    for part in recorded:
        record = records[part.key]
        if (record.record_count, record.file_size) != (part.rows, part.bytes):
            report.problems.append(f"audit_log_archives row {record.id} says {record.record_count} rows / "
                                   f"{record.file_size} bytes for {part.key}; its manifest says {part.rows} / "
                                   f"{part.bytes}: the record was edited")
    if recorded and len(recorded) < len(manifest.parts):
        report.problems.append(f"archive #{manifest.sequence} ({manifest.month}) has records for only "
                               f"{len(recorded)} of its {len(manifest.parts)} parts: records were deleted")
    return COMMITTED if recorded else UNCOMMITTED


def _check_objects(store: ObjectStore, keyring: Keyring, manifest: ArchiveManifest, depth: str,
                   report: VerifyReport) -> None:
    if depth == LIST:
        return
    if depth == DECRYPT:
        try:
            report.rows_checked += read_archive(store, keyring, manifest).rows
            report.objects_checked += len(manifest.parts)
        except HVError as exc:
            report.problems.append(str(exc))
        return
    for part in manifest.parts:
        if store.head(part.key) is None:
            report.problems.append(f"archive object {part.key} (#{manifest.sequence}, {manifest.month}) is missing")
            continue
        size, digest = object_digest(store, part.key)
        report.objects_checked += 1
        if (size, digest) != (part.bytes, part.object_sha256):
            report.problems.append(f"archive object {part.key} (#{manifest.sequence}, {manifest.month}) is not the "
                                   f"object its manifest sealed ({size} bytes, sealed {part.bytes}): altered or replaced")


def _walk_chain(store: ObjectStore, keyring: Keyring, records: dict[str, ArchiveRecord], depth: str,
                report: VerifyReport) -> dict[str, str]:
    """Check every manifest and its objects; return {manifest key: sha256} of the manifests read."""
    stones = _tombstones(store, keyring, report)
    expected, previous_sha = 1, None
    hashes: dict[str, str] = {}
    for key in manifest_keys(store):
        sequence = sequence_of(key)
        if sequence > expected:
            report.problems.append(f"manifest(s) #{expected}..#{sequence - 1} are missing: the chain is broken "
                                   f"before {key}")
        elif sequence < expected:
            report.problems.append(f"{key}: a second manifest numbered #{sequence}")
        data = store.read_bytes(key)
        sha = hashes[key] = sha256_hex(data)
        try:
            manifest = ArchiveManifest.open(data, keyring, key=key)
        except IntegrityError as exc:
            report.problems.append(str(exc))
            report.unverified_parts |= _claimed_parts(data)  # its records are not orphans as well
            expected, previous_sha = sequence + 1, sha
            continue
        if manifest.sequence != sequence:
            report.problems.append(f"{key} claims sequence #{manifest.sequence}: it was renamed")
        if sequence == expected and manifest.previous_sha256 != previous_sha:
            report.problems.append(f"{key} does not link to the manifest before it: that one was replaced or "
                                   "altered after this one was written")
        stone = stones.get(sequence)
        if stone and stone[0].manifest_sha256 != sha:
            report.problems.append(f"tombstone {stone[1]} names another manifest than {key}")
        if stone and any(p.key in records for p in manifest.parts):
            report.notes.append(f"the purge of #{sequence} ({manifest.month}) did not finish: run `hv audit purge`")
        state = _state(manifest, records, stone is not None, report)
        if state != PURGED:
            _check_objects(store, keyring, manifest, depth, report)
        report.archives.append(ArchiveStatus(sequence, key, manifest.month, manifest.kind, manifest.row_count,
                                             len(manifest.parts), manifest.archive_bytes, manifest.created_at,
                                             state, manifest))
        expected, previous_sha = sequence + 1, sha
    return hashes


def _claimed_parts(data: bytes) -> set[str]:
    """The part keys an unauthenticated manifest claims, read without trusting them."""
    try:
        return {part["key"] for part in json.loads(data)["parts"]}
    except (ValueError, KeyError, TypeError):
        return set()


def _audit_trail_claims(conn: psycopg.Connection) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT details FROM audit_logs WHERE action = 'AUDIT_LOG_ARCHIVE' "
                        "AND user_agent = 'hv_pipelines'").fetchall()
    claims = []
    for (details,) in rows:
        try:
            body = json.loads(details or "{}")
            claims.append((body["manifest_key"], body["manifest_sha256"]))
        except (ValueError, KeyError, TypeError):
            continue
    return claims


def verify_archives(store: ObjectStore, keyring: Keyring, conn: psycopg.Connection | None = None, *,
                    depth: str = DIGEST) -> VerifyReport:
    """Verify the whole archive; `conn` adds the database's records and audit entries to the checks.

    `depth` LIST reads manifests and records only (what `hv audit list` shows); DIGEST also reads every
    object and compares its SHA-256; DECRYPT also decrypts every part and re-hashes its rows.
    """
    report = VerifyReport()
    record_list = load_records(conn) if conn is not None else []
    records = {r.key: r for r in record_list if r.key}
    hashes = _walk_chain(store, keyring, records, depth, report)

    listed = {p.key for a in report.archives for p in a.manifest.parts} | report.unverified_parts
    for record in record_list:
        if record.key not in listed:
            report.problems.append(f"audit_log_archives row {record.id} points at {record.storage_path}, which no "
                                   "manifest lists: its manifest was deleted or the record is forged")
    if conn is not None:
        for key, sha in _audit_trail_claims(conn):
            if hashes.get(key) != sha:
                report.problems.append(f"the audit trail records manifest {key} with SHA-256 {sha[:16]}…, but the "
                                       "store " + ("holds another" if key in hashes else "has no such manifest"))
    for obj in store.list(f"{ROOT}/") if depth != LIST else ():
        if not obj.key.startswith((MANIFESTS, TOMBSTONES)) and obj.key not in listed:
            report.notes.append(f"{obj.key} is listed by no manifest (left by an interrupted run?)")
    return report
