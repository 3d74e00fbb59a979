"""The completed-export manifest (Bulk Data IG 2.0): what to download, what failed, what was deleted.

It is persisted on the `bulk_export_jobs` row as JSON, so a resumed run downloads exactly the files
the server announced without asking for a new export.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from hv_pipelines.core.bulkdata.errors import BulkDataError


@dataclass(frozen=True)
class OutputFile:
    """One NDJSON file of the export: resources of `type` (or OperationOutcomes / deletion Bundles)."""

    type: str
    url: str
    count: int | None = None


@dataclass(frozen=True)
class Manifest:
    transaction_time: datetime
    request: str
    requires_access_token: bool
    output: tuple[OutputFile, ...]
    error: tuple[OutputFile, ...] = ()
    deleted: tuple[OutputFile, ...] = ()

    @classmethod
    def parse(cls, body: Any) -> Manifest:
        if not isinstance(body, dict):
            raise BulkDataError("the export manifest is not a JSON object: the server is not speaking "
                                "Bulk Data")
        try:
            transaction_time = datetime.fromisoformat(str(body["transactionTime"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise BulkDataError("the export manifest has no valid transactionTime: report it to the EHR "
                                "vendor") from None
        return cls(
            transaction_time=transaction_time,
            request=str(body.get("request", "")),
            requires_access_token=bool(body.get("requiresAccessToken", False)),
            output=_files(body, "output"),
            error=_files(body, "error"),
            deleted=_files(body, "deleted"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "transactionTime": self.transaction_time.isoformat(),
            "request": self.request,
            "requiresAccessToken": self.requires_access_token,
            **{name: [asdict(f) for f in getattr(self, name)] for name in ("output", "error", "deleted")},
        }

    @property
    def total_files(self) -> int:
        return len(self.output) + len(self.error) + len(self.deleted)


def _files(body: dict[str, Any], key: str) -> tuple[OutputFile, ...]:
    entries = body.get(key) or []
    if not isinstance(entries, list):
        raise BulkDataError(f"the export manifest's {key!r} is not a list: report it to the EHR vendor")
    files = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("url"):
            raise BulkDataError(f"an entry of the manifest's {key!r} has no url: report it to the EHR vendor")
        count = entry.get("count")
        files.append(OutputFile(type=str(entry.get("type", "")), url=str(entry["url"]),
                                count=int(count) if isinstance(count, int) else None))
    return tuple(files)
