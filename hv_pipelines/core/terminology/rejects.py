"""The rejects report: every malformed input line, with file, line number and reason.

A bad line never stops a good release and is never dropped silently: it is written here (to a
spooled temporary file, so a release full of bad lines still loads in bounded memory), counted by
reason, summarised in the load's metadata and kept in the object store as CSV.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

from hv_pipelines.core.storage import ObjectStore

EXAMPLES_KEPT = 10


class RejectLog:
    def __init__(self, system: str, version: str) -> None:
        self.system = system
        self.version = version
        self.by_reason: Counter[str] = Counter()
        self.examples: list[dict[str, object]] = []
        # Lives as long as the log; the loader closes it in a `finally`.
        self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=4 * 1024 * 1024, mode="w+t", newline="")
        self._writer = csv.writer(self._spool)
        self._writer.writerow(["file", "line", "reason"])

    def add(self, file: str, line: int, reason: str) -> None:
        self.by_reason[reason] += 1
        self._writer.writerow([file, line, reason])
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append({"file": file, "line": line, "reason": reason})

    def extend(self, other: RejectLog) -> None:
        """Add every line `other` rejected (a log kept by another connection's thread)."""
        other._spool.seek(0)
        rows = csv.reader(other._spool)
        next(rows)
        for file, line, reason in rows:
            self.add(file, int(line), reason)

    @property
    def count(self) -> int:
        return sum(self.by_reason.values())

    def summary(self) -> dict[str, object]:
        return {"count": self.count, "by_reason": dict(self.by_reason.most_common()), "examples": self.examples}

    def publish(self, store: ObjectStore | None) -> str | None:
        """Upload the report as CSV and return its object key (None when nothing was rejected)."""
        if not self.count or store is None:
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        key = f"terminology/rejects/{self.system}/{self.version}/{stamp}.csv"
        self._spool.seek(0)
        store.put_stream(key, _encoded_chunks(self._spool))
        return key

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> RejectLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _encoded_chunks(spool) -> Iterator[bytes]:
    while chunk := spool.read(1024 * 1024):
        yield chunk.encode("utf-8")
