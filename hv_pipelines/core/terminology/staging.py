"""COPY into temporary staging tables: the only way rows enter the database during a load.

Staging tables are `TEMP ... ON COMMIT DROP`: never WAL-logged (as an UNLOGGED table), invisible to
other sessions, and gone with the transaction whether it commits or fails. Parsers of big files
hand over already-split byte fields (no per-value Python conversion); small ones hand over tuples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import sql

FLUSH_BYTES = 1024 * 1024


def create_stage(conn: psycopg.Connection, name: str, columns: str) -> None:
    """Create temp table `name` with the column definitions `columns` (SQL, trusted constants)."""
    conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
        sql.Identifier(name), sql.SQL(columns)))


def analyze(conn: psycopg.Connection, *names: str) -> None:
    """Temp tables are never auto-analysed: without statistics the merge would plan nested loops."""
    for name in names:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)))


class CopySink:
    """Rows for one COPY: `row()` takes Python values, `fields()` takes raw UTF-8 byte fields that
    cannot contain tab or newline (they were split on them) and only need backslashes escaped."""

    def __init__(self, copy: psycopg.Copy) -> None:
        self._copy = copy
        self._buffer: list[bytes] = []
        self._size = 0
        self.rows = 0

    def row(self, values: Sequence[object]) -> None:
        self._flush()
        self._copy.write_row(values)
        self.rows += 1

    def fields(self, values: Sequence[bytes]) -> None:
        line = b"\t".join(values)
        if b"\\" in line:
            line = line.replace(b"\\", b"\\\\")
        self._buffer.append(line + b"\n")
        self._size += len(line) + 1
        self.rows += 1
        if self._size >= FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._copy.write(b"".join(self._buffer))
            self._buffer.clear()
            self._size = 0


@contextmanager
def copy_into(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> Iterator[CopySink]:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cur, cur.copy(statement) as copy:
        sink = CopySink(copy)
        yield sink
        sink._flush()
