"""Ingesting one completed export: deletions, then every output file in parallel, each file atomically.

Each file is its own transaction on its own database connection: stream the download → validate in
the process pool → COPY into staging → merge → record the file as done (and its counts on the sync)
→ commit. A run killed mid-file leaves nothing of that file behind; a resumed run skips the files
recorded as done and downloads the others again, so nothing is exported twice or stored twice.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.bulkdata import BulkDataClient, OutputFile, ServerUnavailable
from hv_pipelines.core.bulkdata.errors import BulkDataError, safe_url
from hv_pipelines.core.fhir_ingest import export_jobs, sync_history
from hv_pipelines.core.fhir_ingest.blocks import line_blocks, validated_blocks
from hv_pipelines.core.fhir_ingest.fhir_store import (
    apply_deletions,
    copy_statement,
    create_stage,
    merge_stage,
)
from hv_pipelines.core.fhir_ingest.server_errors import ErrorTally

MAX_REJECTS_KEPT = 100  # per file; the count is always complete
FILE_ATTEMPTS = 3
RETRIED_FILE_ERRORS = (httpx.TransportError, httpx.DecodingError, ServerUnavailable,
                       psycopg.errors.DeadlockDetected)


@dataclass
class IngestCounts:
    files: int = 0
    resumed_files: int = 0
    lines: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0
    bytes: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    server_issues: Counter[str] = field(default_factory=Counter)
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def add_summary(self, summary: dict[str, Any]) -> None:
        self.files += 1
        for name in ("lines", "created", "updated", "skipped", "failed", "deleted", "bytes"):
            setattr(self, name, getattr(self, name) + summary.get(name, 0))
        self.by_type.update(summary.get("byType", {}))
        self.server_issues.update(summary.get("issues", {}))
        self.rejects.extend(summary.get("rejects", []))


@dataclass(frozen=True)
class ExportContext:
    """What every file of one export needs: where to write, whom it belongs to, how to download."""

    db_url: str
    job_id: str
    sync_id: str
    connection_id: str
    user_id: str
    client: BulkDataClient
    requires_token: bool
    pool: Executor | None
    progress: Callable[[str], None] = lambda _message: None
    requested_types: tuple[str, ...] = ()  # the export's `_type`: what its error files are attributed to
    # One file merges at a time: merges running side by side contend inside PostgreSQL for the same
    # table and indexes and take both cores from validation; one at a time, the other files keep the
    # workers busy meanwhile (bench/ehr_ingest.py, docs/ehr.md).
    merging: threading.Lock = field(default_factory=threading.Lock, compare=False)


class _Metered:
    """Counts the decoded bytes of a download as they stream past."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.size += len(chunk)
            yield chunk


def file_name(output: OutputFile) -> str:
    return safe_url(output.url).rsplit("/", 1)[-1] or output.type


def ingest_output(ctx: ExportContext, key: str, output: OutputFile) -> dict[str, Any]:
    """Download, validate and merge one output file in one transaction; return its summary."""
    with db.connect(ctx.db_url) as conn:
        create_stage(conn)
        lines = accepted = 0
        by_type: Counter[str] = Counter()
        rejects: list[dict[str, Any]] = []
        failed = 0
        with ctx.client.open_output(output.url, requires_access_token=ctx.requires_token) as chunks:
            metered = _Metered(chunks)
            with conn.cursor().copy(copy_statement()) as copy:
                for result in validated_blocks(line_blocks(metered), ctx.pool):
                    copy.write(result.copy_rows)
                    lines += result.lines
                    accepted += result.accepted
                    by_type.update(result.by_type)
                    failed += len(result.rejects)
                    rejects.extend({"file": file_name(output), "line": r.line, "type": r.fhir_type,
                                    "id": r.fhir_id, "reason": r.reason}
                                   for r in result.rejects[: MAX_REJECTS_KEPT - len(rejects)])
        with ctx.merging:
            merged = merge_stage(conn, ctx.connection_id)
        summary = {"kind": "output", "type": output.type, "lines": lines, "created": merged.created,
                   "updated": merged.updated, "skipped": merged.skipped + (accepted - merged.distinct),
                   "failed": failed, "bytes": metered.size, "byType": dict(by_type), "rejects": rejects}
        _record(conn, ctx, key, summary, resources=merged.distinct)
    return summary


def ingest_error_file(ctx: ExportContext, key: str, output: OutputFile) -> dict[str, Any]:
    """Record the server's OperationOutcomes on the job: per severity/code, with a sample, and which
    requested types they say failed (`server_errors`), which keeps those types' watermarks back."""
    issues: Counter[str] = Counter()
    tally = ErrorTally(ctx.requested_types)
    sample: list[dict[str, Any]] = []
    with ctx.client.open_output(output.url, requires_access_token=ctx.requires_token) as chunks:
        metered = _Metered(chunks)
        for _first, block in line_blocks(metered):
            for line in (block or b"").splitlines():
                for issue in _issues(line):
                    issues[f"{issue.get('severity', '?')}/{issue.get('code', '?')}"] += 1
                    tally.add(issue)
                    if len(sample) < 20:
                        sample.append({"severity": issue.get("severity"), "code": issue.get("code"),
                                       "diagnostics": str(issue.get("diagnostics", ""))[:200]})
    summary = {"kind": "error", "issues": dict(issues), "bytes": metered.size, "sample": sample,
               **tally.as_summary()}
    with db.connect(ctx.db_url) as conn:
        _record(conn, ctx, key, summary, resources=0)
    return summary


def ingest_deleted_file(ctx: ExportContext, key: str, output: OutputFile) -> dict[str, Any]:
    """Apply one `deleted[]` file: Bundles whose entries are `DELETE Type/id` requests."""
    with db.connect(ctx.db_url) as conn, \
            ctx.client.open_output(output.url, requires_access_token=ctx.requires_token) as chunks:
        metered = _Metered(chunks)
        deleted = apply_deletions(conn, ctx.connection_id, ctx.user_id, _deleted_keys(line_blocks(metered)))
        summary = {"kind": "deleted", "deleted": deleted, "bytes": metered.size}
        _record(conn, ctx, key, summary, resources=0)
    return summary


def _record(conn, ctx: ExportContext, key: str, summary: dict[str, Any], *, resources: int) -> None:
    export_jobs.mark_file_done(conn, ctx.job_id, key, summary, resources=resources, size=summary["bytes"])
    sync_history.add_counts(conn, ctx.sync_id, queried=summary.get("lines", 0),
                            created=summary.get("created", 0), updated=summary.get("updated", 0),
                            skipped=summary.get("skipped", 0), failed=summary.get("failed", 0),
                            size=summary["bytes"])


def _issues(line: bytes) -> list[dict[str, Any]]:
    try:
        outcome = json.loads(line)
    except ValueError:
        return [{"severity": "error", "code": "unreadable-outcome"}]
    found = outcome.get("issue") if isinstance(outcome, dict) else None
    return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


def _deleted_keys(blocks: Iterable[tuple[int, bytes | None]]) -> Iterator[tuple[str, str]]:
    for _first, block in blocks:
        for line in (block or b"").splitlines():
            try:
                bundle = json.loads(line)
            except ValueError:
                continue
            for entry in bundle.get("entry") or [] if isinstance(bundle, dict) else []:
                request = entry.get("request") if isinstance(entry, dict) else None
                if not isinstance(request, dict) or request.get("method") != "DELETE":
                    continue
                parts = str(request.get("url", "")).split("?")[0].rstrip("/").split("/")
                if len(parts) >= 2 and parts[-2] and parts[-1]:
                    yield parts[-2], parts[-1]


_INGESTERS = {"output": ingest_output, "error": ingest_error_file, "deleted": ingest_deleted_file}


def _with_retries(ctx: ExportContext, kind: str, key: str, output: OutputFile) -> dict[str, Any]:
    """A dropped connection mid-file rolls the file back; it is downloaded again from the start. So is a
    file whose merge deadlocked with another file's (an EHR that lists one resource in two files)."""
    for attempt in range(1, FILE_ATTEMPTS + 1):
        try:
            return _INGESTERS[kind](ctx, key, output)
        except RETRIED_FILE_ERRORS:
            if attempt == FILE_ATTEMPTS:
                raise BulkDataError(f"downloading {file_name(output)} failed {FILE_ATTEMPTS} times: the "
                                    "export is saved, rerun the sync to resume with the remaining "
                                    "files") from None
    raise AssertionError("unreachable")


def ingest_export(ctx: ExportContext, job: export_jobs.ExportJob, *,
                  download_workers: int = 4) -> IngestCounts:
    """Ingest every file of the job's manifest not yet recorded as done; deletions first.

    Deletions go first because a resource deleted and then re-created appears in both lists, and the
    output (the state at transactionTime) must win.
    """
    manifest = job.manifest
    if manifest is None:
        raise BulkDataError(f"export job {job.id} has no manifest yet: rerun the export stage")
    done = job.files_done
    counts = IngestCounts()
    for summary in done.values():  # files a killed run already committed count towards this export
        counts.add_summary(summary)
        counts.resumed_files += 1
    work = [(kind, f"{kind}:{index}", output) for kind in ("deleted", "output", "error")
            for index, output in enumerate(getattr(manifest, kind)) if f"{kind}:{index}" not in done]
    tracker = _Progress(ctx.progress, len(done), manifest.total_files)
    for item in [w for w in work if w[0] == "deleted"]:
        counts.add_summary(tracker.report(item[2], _with_retries(ctx, *item)))
    # Largest first (by the manifest's `count`, when the server sends it; otherwise manifest order): a
    # file's merge runs after its last block is validated, so the largest file finishing last would
    # leave the validation workers idle through its merge, at the very end of the export.
    parallel = sorted((w for w in work if w[0] != "deleted"), key=lambda w: -(w[2].count or 0))
    with ThreadPoolExecutor(max_workers=max(1, download_workers), thread_name_prefix="ehr-download") as pool:
        futures: list[Future[dict[str, Any]]] = [
            pool.submit(lambda item: tracker.report(item[2], _with_retries(ctx, *item)), item)
            for item in parallel]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failure = next((f.exception() for f in finished if f.exception() is not None), None)
        if failure is not None:
            for future in futures:
                future.cancel()
            raise failure
    for future in futures:
        counts.add_summary(future.result())
    return counts


class _Progress:
    """'Observation-1.ndjson: 1000 read, 2 quarantined [3/14 files]' as each file commits."""

    def __init__(self, sink: Callable[[str], None], done: int, total: int) -> None:
        self._sink, self._done, self._total = sink, done, total
        self._lock = threading.Lock()

    def report(self, output: OutputFile, summary: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._done += 1
            if summary["kind"] == "output":
                detail = f"{summary['lines']} read, {summary['failed']} quarantined"
            elif summary["kind"] == "deleted":
                detail = f"{summary['deleted']} deleted"
            else:
                detail = f"{sum(summary['issues'].values())} server issues"
            self._sink(f"{file_name(output)}: {detail} [{self._done}/{self._total} files]")
        return summary
