"""`hv audit verify` and `hv audit list`: walk the manifest chain, every object and every record.

What is checked, and what each check catches:

- every manifest's MAC (an edited or forged manifest), its sequence number against its key (a
  renamed one), and that it names the SHA-256 of the manifest before it (a deleted, replaced or
  inserted manifest breaks the link at the next one; a gap in the numbers is reported as such);
- every part object of a manifest that was not purged: present, the manifest's size, the manifest's
  SHA-256 (a replaced or altered object); with `decrypt`, also decrypted, recounted and re-hashed
  (proves the rows are recoverable with the keys configured today);
- every manifest's month and sequence against its key (a manifest copied over another's);
- the three witnesses of a committed archive against each other — the manifest in the store, its
  `audit_log_archives` rows, and the run's `AUDIT_LOG_ARCHIVE` entry in `audit_logs` — each one
  missing from another is reported: a record pointing at an object no manifest lists; an audit
  entry naming a manifest the store lacks or holds with another hash; a manifest the audit trail
  says was committed without its records (or whose rows left `audit_logs` without either); and a
  committed archive without its audit entry while the month that entry was written in is live;
- objects under `audit-archive/` that no manifest lists are reported as notes: parts left by a run
  that crashed before its manifest was written, or planted ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import sql

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
from hv_pipelines.core.archival.months import Month
from hv_pipelines.core.archival.parts import object_digest, read_archive, sweep_stale_scratch
from hv_pipelines.core.archival.records import ArchiveRecord, load_records
from hv_pipelines.core.archival.rows import TABLE, month_filter
from hv_pipelines.core.errors import HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

COMMITTED, UNCOMMITTED, PURGED = "committed", "uncommitted", "purged"
_KEY_MONTH = re.compile(r"-(\d{4}-\d{2})-")
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
    # The month each problem concerns, or None when it could concern any (a broken chain).
    problem_months: list[str | None] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str, month: str | None = None) -> None:
        self.problems.append(text)
        self.problem_months.append(month)

    def problems_for(self, month: str) -> list[str]:
        """What makes `month`'s archives untrustworthy: its own problems and the chain's."""
        return [text for text, about in zip(self.problems, self.problem_months, strict=True) if about in (None, month)]


def key_month(key: str) -> str | None:
    """The month a manifest or part key names (`.../<seq>-<YYYY-MM>-<id>.json`, `.../<YYYY-MM>/...`)."""
    match = _KEY_MONTH.search(key.rsplit("/", 1)[-1]) or re.search(r"/(\d{4}-\d{2})/", key)
    return match[1] if match else None


def _tombstones(store: ObjectStore, keyring: Keyring, report: VerifyReport) -> dict[int, tuple[Tombstone, str]]:
    found: dict[int, tuple[Tombstone, str]] = {}
    for obj in store.list(TOMBSTONES):
        try:
            stone = Tombstone.open(store.read_bytes(obj.key), keyring, key=obj.key)
        except IntegrityError as exc:
            report.problem(str(exc))
            continue
        found[stone.sequence] = (stone, obj.key)
    return found


@dataclass(frozen=True)
class _Database:
    """The database's witnesses: `audit_log_archives` rows by part key, and the manifests the
    archive runs' `AUDIT_LOG_ARCHIVE` entries name (key -> SHA-256)."""

    records: dict[str, ArchiveRecord]
    claims: dict[str, str]


def _state(key: str, manifest: ArchiveManifest, db: _Database, purged: bool, report: VerifyReport) -> str:
    if purged:
        return PURGED
    recorded = [p for p in manifest.parts if p.key in db.records]
    for part in recorded:
        record = db.records[part.key]
        if (record.record_count, record.file_size) != (part.rows, part.bytes):
            report.problem(f"audit_log_archives row {record.id} says {record.record_count} rows / "
                           f"{record.file_size} bytes for {part.key}; its manifest says {part.rows} / "
                           f"{part.bytes}: the record was edited", manifest.month)
    if recorded and len(recorded) < len(manifest.parts):
        report.problem(f"archive #{manifest.sequence} ({manifest.month}) has records for only "
                       f"{len(recorded)} of its {len(manifest.parts)} parts: records were deleted", manifest.month)
    if not recorded and key in db.claims:
        report.problem(f"archive #{manifest.sequence} ({manifest.month}) was committed (its AUDIT_LOG_ARCHIVE entry "
                       "in audit_logs names this manifest) but audit_log_archives has no row for it: the rows were "
                       "deleted; its objects are intact, restore the rows from a backup of audit_log_archives",
                       manifest.month)
        return COMMITTED
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
            report.problem(str(exc), manifest.month)
        return
    for part in manifest.parts:
        if store.head(part.key) is None:
            report.problem(f"archive object {part.key} (#{manifest.sequence}, {manifest.month}) is missing",
                           manifest.month)
            continue
        size, digest = object_digest(store, part.key)
        report.objects_checked += 1
        if (size, digest) != (part.bytes, part.object_sha256):
            report.problem(f"archive object {part.key} (#{manifest.sequence}, {manifest.month}) is not the object "
                           f"its manifest sealed ({size} bytes, sealed {part.bytes}): altered or replaced",
                           manifest.month)


def _walk_chain(store: ObjectStore, keyring: Keyring, db: _Database, depth: str,
                report: VerifyReport) -> dict[str, str]:
    """Check every manifest and its objects; return {manifest key: sha256} of the manifests read."""
    stones = _tombstones(store, keyring, report)
    expected, previous_sha = 1, None
    hashes: dict[str, str] = {}
    for key in manifest_keys(store):
        sequence = sequence_of(key)
        if sequence > expected:
            report.problem(f"manifest(s) #{expected}..#{sequence - 1} are missing: the chain is broken before {key}")
        elif sequence < expected:
            report.problem(f"{key}: a second manifest numbered #{sequence}")
        data = store.read_bytes(key)
        sha = hashes[key] = sha256_hex(data)
        try:
            manifest = ArchiveManifest.open(data, keyring, key=key)
        except IntegrityError as exc:
            report.problem(str(exc))
            report.unverified_parts |= _claimed_parts(data)  # its records are not orphans as well
            expected, previous_sha = sequence + 1, sha
            continue
        if manifest.sequence != sequence or manifest.key != key:
            # A manifest copied or renamed over another's is authentic but answers for the wrong archive.
            report.problem(f"{key} holds the manifest of #{manifest.sequence} ({manifest.month}, {manifest.key}): it "
                           "was copied or renamed over another; that key's own manifest is gone", key_month(key))
            report.unverified_parts |= {p.key for p in manifest.parts}
            expected, previous_sha = sequence + 1, sha
            continue
        if sequence == expected and manifest.previous_sha256 != previous_sha:
            report.problem(f"{key} does not link to the manifest before it: that one was replaced or altered after "
                           "this one was written")
        stone = stones.get(sequence)
        if stone and stone[0].manifest_sha256 != sha:
            report.problem(f"tombstone {stone[1]} names another manifest than {key}", manifest.month)
        if stone and any(p.key in db.records for p in manifest.parts):
            report.notes.append(f"the purge of #{sequence} ({manifest.month}) did not finish: run `hv audit purge`")
        state = _state(key, manifest, db, stone is not None, report)
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


def _audit_trail_claims(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT details FROM audit_logs WHERE action = 'AUDIT_LOG_ARCHIVE' "
                        "AND user_agent = 'hv_pipelines'").fetchall()
    claims = {}
    for (details,) in rows:
        try:
            body = json.loads(details or "{}")
            claims[body["manifest_key"]] = body["manifest_sha256"]
        except (ValueError, KeyError, TypeError):
            continue
    return claims


def _live_rows(conn: psycopg.Connection, month: str) -> int:
    where, params = month_filter(Month.parse(month))
    return conn.execute(sql.SQL("SELECT count(*) FROM {t} WHERE {w}").format(t=sql.Identifier(TABLE), w=where),
                        params).fetchone()[0]


def _cross_check(conn: psycopg.Connection, db: _Database, hashes: dict[str, str], report: VerifyReport) -> None:
    """Each witness of a committed archive missing from another (see the module docstring)."""
    for key, sha in db.claims.items():
        if hashes.get(key) != sha:
            report.problem(f"the audit trail records manifest {key} with SHA-256 {sha[:16]}…, but the store "
                           + ("holds another" if key in hashes else "has no such manifest"), key_month(key))
    committed_months = {a.month for a in report.archives if a.state != UNCOMMITTED}
    for archive in report.archives:
        month = archive.month
        later = any(o.month == month and o.sequence > archive.sequence and o.state != UNCOMMITTED
                    for o in report.archives)
        if archive.state == UNCOMMITTED and not later and _live_rows(conn, month) < archive.rows:
            report.problem(f"archive #{archive.sequence} ({month}) has neither audit_log_archives rows nor an audit "
                           f"entry, yet fewer than its {archive.rows} rows are left in {TABLE}: it was committed and "
                           "both were deleted", month)
        if archive.state == COMMITTED and archive.key not in db.claims:
            committed_at = min((db.records[p.key].archive_date for p in archive.manifest.parts
                                if p.key in db.records), default=None)
            if committed_at is not None and Month.of(committed_at).label not in committed_months:
                report.problem(f"archive #{archive.sequence} ({month}) has no AUDIT_LOG_ARCHIVE entry in {TABLE}, "
                               f"though {Month.of(committed_at)}, when it was committed, is not archived: the entry "
                               "was deleted", month)


def verify_archives(store: ObjectStore, keyring: Keyring, conn: psycopg.Connection | None = None, *,
                    depth: str = DIGEST) -> VerifyReport:
    """Verify the whole archive; `conn` adds the database's records and audit entries to the checks.

    `depth` LIST reads manifests and records only (what `hv audit list` shows); DIGEST also reads every
    object and compares its SHA-256; DECRYPT also decrypts every part and re-hashes its rows.
    """
    report = VerifyReport()
    if swept := sweep_stale_scratch():
        report.notes.append(f"removed {len(swept)} decrypted read-back file(s) an older release left in the temporary directory")
    record_list = load_records(conn) if conn is not None else []
    db = _Database({r.key: r for r in record_list if r.key}, _audit_trail_claims(conn) if conn is not None else {})
    hashes = _walk_chain(store, keyring, db, depth, report)

    listed = {p.key for a in report.archives for p in a.manifest.parts} | report.unverified_parts
    for record in record_list:
        if record.key not in listed:
            report.problem(f"audit_log_archives row {record.id} points at {record.storage_path}, which no manifest "
                           "lists: its manifest was deleted or the record is forged", key_month(record.key or ""))
    if conn is not None:
        _cross_check(conn, db, hashes, report)
    for obj in store.list(f"{ROOT}/") if depth != LIST else ():
        if not obj.key.startswith((MANIFESTS, TOMBSTONES)) and obj.key not in listed:
            report.notes.append(f"{obj.key} is listed by no manifest (left by an interrupted run?)")
    return report
