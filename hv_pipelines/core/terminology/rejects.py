"""The rejects report: every malformed input line, with file, line number and reason.

A bad line never stops a good release and is never dropped silently: it is written here (to a
spooled temporary file, so a release full of bad lines still loads in bounded memory), counted by
reason, summarised in the load's metadata and kept in the object store as CSV.

A rejected line of the file that lists the code system's codes (Loinc.csv, the SNOMED CT Concept
file, RXNCONSO, the ICD-10-CM order file, CPT's RVU and descriptor files) also says which code it
was, when that can be read: the release does not retire a code whose line it rejected, since the
code may well still be live (`held_codes`). When the code cannot be read, no code of the release is
retired at all (`unreadable_codes`): nothing tells which one that line was.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
from psycopg import sql

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
        self._held = tempfile.SpooledTemporaryFile(max_size=1024 * 1024, mode="w+t")  # noqa: SIM115 — as _spool
        self.held_codes = 0
        self.unreadable_codes = 0

    def add(self, file: str, line: int, reason: str, *, code: str | bytes | None = None) -> None:
        """Record a rejected line. `code` is for lines of the file that lists the codes: the code the
        line names (kept from retirement), or "" when it cannot be read."""
        self.by_reason[reason] += 1
        self._writer.writerow([file, line, reason])
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append({"file": file, "line": line, "reason": reason})
        if code is not None:
            self._hold(code.decode("utf-8", "replace") if isinstance(code, bytes) else code)

    def _hold(self, code: str) -> None:
        code = code.strip()
        if code and code.isprintable():
            self._held.write(code.replace("\\", "\\\\") + "\n")  # COPY's text format escapes backslashes
            self.held_codes += 1
        else:
            self.unreadable_codes += 1

    def extend(self, other: RejectLog) -> None:
        """Add every line `other` rejected (a log kept by another connection's thread)."""
        other._spool.seek(0)
        rows = csv.reader(other._spool)
        next(rows)
        for file, line, reason in rows:
            self.add(file, int(line), reason)
        other._held.seek(0)
        for escaped in other._held:  # already in COPY's text format
            self._held.write(escaped)
        self.held_codes += other.held_codes
        self.unreadable_codes += other.unreadable_codes

    def copy_held_codes(self, conn: psycopg.Connection, table: str) -> int:
        """Create temp table `table` (code text) holding every readable code of a rejected code line."""
        conn.execute(sql.SQL("CREATE TEMP TABLE {} (code text) ON COMMIT DROP").format(sql.Identifier(table)))
        self._held.seek(0)
        with conn.cursor().copy(sql.SQL("COPY {} (code) FROM STDIN").format(sql.Identifier(table))) as copy:
            while chunk := self._held.read(1024 * 1024):
                copy.write(chunk)
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        return self.held_codes

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
        self._held.close()

    def __enter__(self) -> RejectLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _encoded_chunks(spool) -> Iterator[bytes]:
    while chunk := spool.read(1024 * 1024):
        yield chunk.encode("utf-8")
