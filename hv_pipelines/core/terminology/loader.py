"""Load one release of one code system: inspect, stage, check, merge — in ONE transaction.

Order matters for what a failure leaves behind:
1. inspect the files (wrong kind, truncated zip, missing member): fails before connecting;
2. in one transaction: lock, refuse an older release than the loaded one (unless forced),
   COPY into temp staging tables, publish the rejects report, run the blocking checks (one of
   them: no more than `max_reject_share` of the lines rejected), merge — never retiring a code
   whose line was rejected, and retiring none when a rejected line's code could not be read —
   record the release;
3. commit. Any exception before the commit rolls everything back: the previous release stays.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from hv_pipelines.core import db
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.storage import ObjectStore
from hv_pipelines.core.terminology import history
from hv_pipelines.core.terminology.bulk import set_aside
from hv_pipelines.core.terminology.checks import (
    EXAMPLES_KEPT,
    CheckResult,
    no_duplicate_codes,
    rejects_within_share,
    row_count_within_band,
)
from hv_pipelines.core.terminology.detect import SYSTEMS, identify, version_key
from hv_pipelines.core.terminology.merge import MergeCounts, TargetTable, merge_codes
from hv_pipelines.core.terminology.registry import code_system
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Progress, ReleaseError, ReleaseFiles
from hv_pipelines.core.terminology.staging import tune
from hv_pipelines.core.terminology.system import CodeSystem, Staged

DEFAULT_COUNT_BAND = 0.10
DEFAULT_MAX_REJECT_SHARE = 0.01
HELD_CODES = "hv_held_codes"  # temp table: codes of rejected lines, never retired by this load


class ReleaseCheckError(HVError):
    """A blocking check failed: nothing was merged and the previous release is still in place."""

    def __init__(self, message: str, checks: list[CheckResult]) -> None:
        super().__init__(message)
        self.checks = checks

    def __reduce__(self):
        return type(self), (str(self), self.checks)


class StaleReleaseError(HVError):
    """The release is older than the one already loaded."""


@dataclass
class LoadResult:
    system: str
    version: str
    files: dict[str, str]
    rows_staged: int
    counts: MergeCounts
    related: dict[str, MergeCounts]
    rejects: dict[str, object]
    rejects_key: str | None
    checks: list[CheckResult]
    seconds: float
    previous_version: str | None
    forced: bool = False
    skipped: dict[str, int] = field(default_factory=dict)
    # Tables this load found empty and filled without their indexes, rebuilding them after (first loads).
    rebuilt_indexes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_staged / self.seconds if self.seconds else 0.0

    def as_metadata(self) -> dict[str, object]:
        """Plain values for asset metadata and the CLI: counts, version, checksums, durations."""
        return {
            "version": self.version,
            "previous_version": self.previous_version or "",
            "files_sha256": self.files,
            "rows_staged": self.rows_staged,
            **{f"{name}": value for name, value in self.counts.as_dict().items()},
            "rejected": int(self.rejects["count"]),
            "rejects": self.rejects,
            "rejects_key": self.rejects_key or "",
            "related_tables": {name: c.as_dict() for name, c in self.related.items()},
            "skipped": self.skipped,
            "rebuilt_indexes": ", ".join(self.rebuilt_indexes) or "-",
            "notes": " ".join(self.notes) or "-",
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "forced": self.forced,
        }


def _kept_note(conn: psycopg.Connection, target: TargetTable, held: str) -> list[str]:
    """The codes this release would have retired but for their rejected lines (codes, not PHI)."""
    kept = [code for (code,) in conn.execute(sql.SQL(
        "SELECT t.{key}::text FROM {table} t WHERE t.status IS DISTINCT FROM %s "
        "AND EXISTS (SELECT 1 FROM {held} h WHERE h.code = t.{key}::text) "
        "AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.{key} = t.{key}) ORDER BY 1").format(
        key=sql.Identifier(target.key), table=sql.Identifier(target.table), held=sql.Identifier(held),
        stage=sql.Identifier(target.stage)), (target.retired_status,))]
    if not kept:
        return []
    shown = ", ".join(kept[:EXAMPLES_KEPT]) + (f" and {len(kept) - EXAMPLES_KEPT} more" if len(kept) > EXAMPLES_KEPT else "")
    return [f"not retired: {len(kept)} code(s) whose line this release rejected ({shown}); they keep their "
            "current status until a release lists them again or drops them cleanly"]


def _has_unique_key(conn: psycopg.Connection, target: TargetTable) -> bool:
    """Whether a unique index holds the code table's key column alone (every code table has one)."""
    return conn.execute(
        "SELECT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indnkeyatts = 1 "
        "AND i.indpred IS NULL AND a.attname = %s)", (sql.Identifier(target.table).as_string(conn), target.key),
    ).fetchone()[0]


def _with_duplicates(conn: psycopg.Connection, spec: CodeSystem, checks: list[CheckResult]) -> list[CheckResult]:
    """`checks` with the duplicate check run for real in place of the one deferred to the key's rebuild."""
    return [no_duplicate_codes(conn, spec.target.stage, spec.target.key) if c.name == "no_duplicate_codes" else c
            for c in checks]


def _merge(conn: psycopg.Connection, spec: CodeSystem, staged: Staged, rejects: RejectLog,
           first_load: bool) -> tuple[MergeCounts, dict[str, MergeCounts]]:
    """The code table's merge, then the related tables' (inside `set_aside`)."""
    held = None
    if rejects.held_codes:
        rejects.copy_held_codes(conn, HELD_CODES)
        held = HELD_CODES
    if rejects.unreadable_codes and not first_load:
        staged.notes.append(
            f"no code was retired: {rejects.unreadable_codes} rejected line(s) of the code file name "
            "no readable code, so which codes they were cannot be told; fix the release (see the "
            "rejects report) and load it again to retire what it dropped")
    if held and not first_load:
        staged.notes.extend(_kept_note(conn, spec.target, held))
    counts = merge_codes(conn, spec.target, staged.rows, was_empty=first_load,
                         held=held, retire=not rejects.unreadable_codes)
    return counts, spec.merge_related(conn, rejects)


def open_release(system: str, paths: Sequence[Path | str], version: str | None = None) -> tuple[ReleaseFiles, str]:
    """The release's files and version, refusing a release that is named as another code system."""
    files = ReleaseFiles([Path(p) for p in paths])
    found = identify([p.name for p in files.paths] + [m.name for m in files.members])
    if found and found.system != system:
        raise ReleaseError(f"{files.label} looks like a {code_system(found.system).title} release, not "
                           f"{code_system(system).title}: load it as `{found.system}`")
    version = version or (found.version if found else None)
    if not version:
        raise ReleaseError(f"cannot tell the {code_system(system).title} version of {files.label} from its "
                           "name: pass the version explicitly (--version)")
    return files, version


def release_bytes(system: str, paths: Sequence[Path | str], version: str | None = None) -> int:
    """How many bytes a load of this release will read (for a progress bar); inspects it like a load."""
    files, _ = open_release(system, paths, version)
    return sum(m.size for m in code_system(system).inspect(files))


def status(database_url: str) -> list[dict[str, object]]:
    """Per code system: the loaded release and the code table's rows by status."""
    report = []
    with db.connect(database_url) as conn:
        loaded = history.latest_per_system(conn)
        for name in SYSTEMS:
            spec = code_system(name)
            by_status = dict(conn.execute(
                f'SELECT status, count(*) FROM "{spec.target.table}" GROUP BY status ORDER BY status').fetchall())
            release = loaded.get(name)
            report.append({"system": name, "title": spec.title, "table": spec.target.table,
                           "version": release.version if release else None,
                           "loaded_at": release.loaded_at if release else None, "rows_by_status": by_status})
    return report


def load_release(database_url: str, system: str, paths: Sequence[Path | str], *, version: str | None = None,
                 store: ObjectStore | None = None, force: bool = False,
                 count_band: float = DEFAULT_COUNT_BAND, max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
                 progress: Progress | None = None) -> LoadResult:
    spec = code_system(system)
    files, version = open_release(system, paths, version)
    members = spec.inspect(files)
    checksums = files.sha256()
    rejects = RejectLog(system, version)
    started = time.monotonic()
    try:
        with db.connect(database_url) as conn:
            history.lock_and_ensure(conn)
            tune(conn)
            previous = history.latest(conn, system)
            if previous and version_key(version) < version_key(previous.version) and not force:
                raise StaleReleaseError(
                    f"{spec.title} {version} is older than the loaded release {previous.version}: "
                    "nothing was changed; load it with --force (asset config force: true) to go back")
            staged = spec.stage(conn, files, members, rejects, version, progress)

            def refuse(checks: list[CheckResult]) -> ReleaseCheckError:
                failed = ", ".join(c.name for c in checks if not c.passed)
                report = rejects.publish(store)
                return ReleaseCheckError(
                    f"{spec.title} {version} failed {failed}: nothing was merged, "
                    f"{'release ' + previous.version if previous else 'the previous data'} is still loaded; "
                    "fix or replace the release (or widen count_band when the size change is expected, "
                    "max_reject_share when the rejects are)"
                    + (f"; rejected lines: {report}" if report else ""), checks)

            # The code table's key index is rebuilt too unless related merges look codes up by it.
            keys = () if spec.related_tables else (spec.target.table,)
            unique_key, deferred = _has_unique_key(conn, spec.target), False
            try:
                # A savepoint: a duplicate code that the key's rebuild finds is reported as the check's failure.
                with conn.transaction(), set_aside(conn, (spec.target.table, *spec.related_tables),
                                                   keys=keys) as emptied:
                    first_load = spec.target.table in emptied  # nothing to retire
                    # The insert fills an empty table whose unique key is either rebuilt after it (the
                    # rebuild fails on a duplicate code) or kept through it (LOINC's: the insert fails on
                    # one): the duplicate check's own pass over the staged rows is spared.
                    deferred = first_load and unique_key
                    checks = [t.result() for t in staged.tallies] + spec.checks(conn, duplicates=not deferred) + [
                        rejects_within_share(rejects.count, staged.rows, max_reject_share),
                        row_count_within_band(staged.rows, previous.rows_staged if previous else None, count_band)]
                    if not all(c.passed for c in checks):
                        raise refuse(_with_duplicates(conn, spec, checks) if deferred else checks)
                    counts, related = _merge(conn, spec, staged, rejects, first_load)
            except psycopg.errors.UniqueViolation:
                found = _with_duplicates(conn, spec, checks) if deferred else []
                if all(c.passed for c in found):
                    raise
                raise refuse(found) from None
            rejects_key = rejects.publish(store)
            history.record(conn, system=system, version=version, files=checksums,
                           counts={"codes": counts.as_dict(), **{k: v.as_dict() for k, v in related.items()},
                                   "rejected": rejects.count},
                           rows_staged=staged.rows, rejected=rejects.count, rejects_key=rejects_key, forced=force)
        return LoadResult(system=system, version=version, files=checksums, rows_staged=staged.rows,
                          counts=counts, related=related, rejects=rejects.summary(), rejects_key=rejects_key,
                          checks=checks, seconds=time.monotonic() - started,
                          previous_version=previous.version if previous else None, forced=force,
                          skipped=staged.skipped, rebuilt_indexes=emptied, notes=staged.notes)
    finally:
        rejects.close()
