"""Per-type `_since` watermarks: what each finished export delivered, and what the next one asks for.

An export's `transactionTime` becomes the watermark only of the types it delivered in full. A type
fails to be delivered when the server's `error[]` names it (or names nothing: `server_errors`), when an
output file holds fewer resources than the manifest's `count`, or when `_typeFilter` narrowed it on
request. Such an export is recorded `COMPLETED_WITH_ERRORS` (`metadata.delivery` on its
`bulk_export_jobs` row; the column keeps the schema's `COMPLETED`, which the application's Prisma client
can read). Exports that end early — EXPIRED, FAILED, CANCELLED, or still open after a time limit —
deliver nothing and never count.

A type's watermark is the `transactionTime` of the newest COMPLETED export that delivered it. The next
export asks `_since` = the oldest watermark of the types it requests, or everything when one of them has
none: a failed type is asked again from the last export that delivered it (or in full), and the types
delivered meanwhile are asked again from that point too — the merge skips what is already stored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

from hv_pipelines.core.bulkdata.manifest import Manifest
from hv_pipelines.core.fhir_ingest.server_errors import FAILING_SEVERITIES


@dataclass(frozen=True)
class Delivery:
    """What one export delivered of the types it requested."""

    requested: tuple[str, ...]
    delivered: tuple[str, ...]
    failed: tuple[str, ...]  # named by error[] (all requested when an error names nothing), or short files
    filtered: tuple[str, ...] = ()  # narrowed by _typeFilter: delivered only in part, by request
    error_files: tuple[str, ...] = ()  # error[] files holding fatal/error issues
    short_files: tuple[str, ...] = ()  # output files with fewer resources than the manifest's count

    @property
    def complete(self) -> bool:
        return not self.failed

    @property
    def outcome(self) -> str:
        return "COMPLETED" if self.complete else "COMPLETED_WITH_ERRORS"

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, **{k: list(v) for k, v in asdict(self).items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delivery:
        return cls(**{name: tuple(data.get(name) or ()) for name in cls.__dataclass_fields__})


def _file_name(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _failing(summary: dict[str, Any]) -> tuple[set[str], bool]:
    """(types named, names-nothing) of one error-file summary; one recorded before types were
    attributed counts its fatal/error issues as naming nothing."""
    if "failedTypes" not in summary:
        failing = any(key.split("/", 1)[0] in FAILING_SEVERITIES for key in summary.get("issues", {}))
        return set(), failing
    return set(summary["failedTypes"]), summary.get("unattributed", 0) > 0


def assess(manifest: Manifest, files_done: dict[str, dict[str, Any]], requested: tuple[str, ...],
           type_filters: tuple[str, ...] = ()) -> Delivery:
    """The delivery of an export whose every file has been ingested (`files_done` holds their summaries)."""
    failed: set[str] = set()
    error_files, short_files = [], []
    for index, entry in enumerate(manifest.error):
        named, names_nothing = _failing(files_done.get(f"error:{index}", {}))
        if named or names_nothing:
            error_files.append(_file_name(entry.url))
            failed |= set(requested) if names_nothing else named & set(requested)
    for index, entry in enumerate(manifest.output):
        lines = files_done.get(f"output:{index}", {}).get("lines", 0)
        if entry.count is not None and lines < entry.count:
            short_files.append(_file_name(entry.url))
            failed.add(entry.type)
    filtered = {f.split("?", 1)[0] for f in type_filters} & set(requested)
    delivered = tuple(t for t in requested if t not in failed and t not in filtered)
    return Delivery(requested, delivered, tuple(t for t in requested if t in failed),
                    tuple(t for t in requested if t in filtered), tuple(error_files), tuple(short_files))


def _delivered_by(row: tuple) -> tuple[datetime | None, set[str]]:
    transaction_time, delivery, types, files = row
    when = datetime.fromisoformat(transaction_time) if transaction_time else None
    if delivery is not None:
        return when, set(json.loads(delivery).get("delivered") or ())
    # Recorded before deliveries were assessed: its error files' fatal/error issues void it entirely.
    summaries = json.loads(files or "{}").values()
    if any(_failing(s)[1] for s in summaries if s.get("kind") == "error"):
        return when, set()
    return when, set(filter(None, (types or "").split(",")))


def type_watermarks(conn: psycopg.Connection, connection_id: str, types: tuple[str, ...]) -> dict[str, datetime]:
    """The newest delivering export's transactionTime for each of `types` that has one."""
    rows = conn.execute(
        """SELECT metadata::jsonb -> 'manifest' ->> 'transactionTime', metadata::jsonb ->> 'delivery',
                  resource_types,
                  CASE WHEN metadata::jsonb ? 'delivery' THEN NULL ELSE metadata::jsonb ->> 'files' END
           FROM bulk_export_jobs WHERE connection_id = %s AND status = 'COMPLETED'
           ORDER BY completed_at DESC""", (connection_id,))
    marks: dict[str, datetime] = {}
    for row in rows:
        when, delivered = _delivered_by(row)
        if when is None:
            continue
        for rtype in delivered & set(types):
            if rtype not in marks or marks[rtype] < when:
                marks[rtype] = when
        if len(marks) == len(set(types)):
            break
    return marks


def since_for(marks: dict[str, datetime], types: tuple[str, ...]) -> datetime | None:
    """`_since` covering every one of `types`: the oldest watermark, or None (everything) if one has none."""
    if not types or any(t not in marks for t in types):
        return None
    return min(marks[t] for t in types)


def incremental_since(conn: psycopg.Connection, connection_id: str, types: tuple[str, ...]) -> datetime | None:
    """The `_since` an incremental export of `types` asks with (None: everything)."""
    return since_for(type_watermarks(conn, connection_id, types), types)


def next_step(delivery: Delivery, retry_since: datetime | None) -> str:
    """What an incomplete export means for the next sync, in one line (types and file names only)."""
    where = ", ".join((*delivery.error_files, *(f"{f} (short)" for f in delivery.short_files)))
    when = (f"since {retry_since.isoformat()}, the last export that delivered them" if retry_since
            else "in full: no export has delivered them yet")
    return (f"export incomplete: the server did not deliver {', '.join(delivery.failed)} ({where}); "
            f"their watermark stays back and the next sync asks them again {when}")
