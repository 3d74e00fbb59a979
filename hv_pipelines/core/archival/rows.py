"""Audit rows as Arrow tables: out of PostgreSQL and into a canonical hash (back in: `core/arrow_copy.py`).

Rows leave the database through `COPY (SELECT ...) TO STDOUT (FORMAT csv)` and are parsed by
Arrow's C++ CSV reader in blocks of whole rows, so memory holds about one row group whatever the
month's size, and no Python object is built per value. The columns are read from the live table (not hard-coded), so a
column added by a migration is archived too — and a type this module cannot carry losslessly stops
the run instead of being dropped.

The rows hash (`hv-columns/1`) covers every value of the rows in `id` order (bytewise,
`COLLATE "C"`), column by column so it is computed with vectorised array operations instead of a
Python step per row. Each column contributes three streams, each a concatenation over the rows in
order, so the hash does not depend on how rows were batched:

    validity   one byte per row: 1, or 0 for NULL
    values     text columns: the UTF-8 byte length (uint32 LE) per row; other columns: the value as
               int64 LE per row — booleans 0/1, timestamps microseconds since 1970-01-01 UTC — 0 for NULL
    bytes      text columns: the UTF-8 bytes of the values, concatenated (lengths delimit them)

    rows hash = SHA-256("hv-columns/1" || for each column: name || 0x00 || SHA-256(validity)
                        || SHA-256(values) || SHA-256(bytes))

Anyone can recompute it from the archive (any Parquet reader) or from the database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from psycopg import sql

from hv_pipelines.core.archival.copy_pump import CopyPump
from hv_pipelines.core.archival.months import Month
from hv_pipelines.core.errors import ConfigurationError, IntegrityError

TABLE = "audit_logs"
ID_COLUMN = "id"
TIME_COLUMN = "timestamp"
ROW_ENCODING = "hv-columns/1"
ROW_GROUP_ROWS = 65_536
_BLOCK_BYTES = 2 * 1024 * 1024
_QUEUE_BLOCKS = 4

_TEXT_TYPES = {"text", "uuid", "json", "jsonb"}
_INTEGER_TYPES = {"smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64()}
_TIMESTAMP = re.compile(r"^timestamp(?:\((\d)\))? without time zone$")


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str

    @property
    def arrow_type(self) -> pa.DataType:
        return arrow_type(self.name, self.pg_type)


def arrow_type(name: str, pg_type: str) -> pa.DataType:
    """The Arrow type that holds `pg_type` losslessly, or ConfigurationError for one we cannot."""
    if pg_type in _TEXT_TYPES or pg_type.startswith(("character varying", "character(")):
        return pa.string()  # an array of either (`character varying(20)[]`) too: its text, as COPY writes it
    if pg_type == "boolean":
        return pa.bool_()
    if pg_type in _INTEGER_TYPES:
        return _INTEGER_TYPES[pg_type]
    match = _TIMESTAMP.match(pg_type)
    if match:
        precision = int(match[1]) if match[1] else 6
        return pa.timestamp("ms" if precision <= 3 else "us")
    raise ConfigurationError(f"{TABLE}.{name} has type {pg_type}, which audit archival cannot carry losslessly: "
                             "extend core/archival/rows.py before archiving")


def table_columns(conn: psycopg.Connection) -> list[Column]:
    """The live columns of `audit_logs`, in table order, each checked to be archivable."""
    rows = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a
        WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (TABLE,),
    ).fetchall()
    columns = [Column(name, pg_type) for name, pg_type in rows]
    names = {c.name for c in columns}
    if not {ID_COLUMN, TIME_COLUMN} <= names:
        raise ConfigurationError(f"{TABLE} has no {ID_COLUMN!r} or {TIME_COLUMN!r} column: is this the "
                                 "HoloVitals schema? Run `hv db upgrade`")
    for column in columns:
        column.arrow_type  # noqa: B018 — raises for a type we cannot carry
    return columns


def arrow_schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow_type) for c in columns])


def _column_list(columns: list[Column]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)


def month_filter(month: Month) -> tuple[sql.Composed, dict[str, datetime]]:
    clause = sql.SQL("{t} >= %(start)s AND {t} < %(end)s").format(t=sql.Identifier(TIME_COLUMN))
    return clause, {"start": month.start, "end": month.end}


@dataclass
class Export:
    """One pass over a month's rows: the tables (consumed once) and the CSV bytes PostgreSQL sent."""

    tables: Iterator[pa.Table]
    pump: CopyPump

    @property
    def source_bytes(self) -> int:
        return self.pump.bytes_read


@contextmanager
def export_month(conn: psycopg.Connection, month: Month, columns: list[Column], *,
                 row_group_rows: int = ROW_GROUP_ROWS) -> Iterator[Export]:
    """Stream the month's rows in `id` order as Arrow tables of `row_group_rows` rows (the last shorter).

    Runs in the caller's transaction: use it inside the snapshot that chose the rows to delete, and
    do not touch the connection until the block exits.
    """
    where, params = month_filter(month)
    query = sql.SQL("COPY (SELECT {cols} FROM {table} WHERE {where} ORDER BY {id} COLLATE \"C\") "
                    "TO STDOUT (FORMAT csv)").format(
        cols=_column_list(columns), table=sql.Identifier(TABLE), where=where, id=sql.Identifier(ID_COLUMN))
    pump = CopyPump(conn, query, params, block_bytes=_BLOCK_BYTES, queue_blocks=_QUEUE_BLOCKS)
    try:
        yield Export(_rebatch(_parse_blocks(pump, columns), row_group_rows), pump)
    finally:
        pump.close()


def _parse_blocks(blocks: Iterable[bytes], columns: list[Column]) -> Iterator[pa.Table]:
    schema = arrow_schema(columns)
    read_options = pcsv.ReadOptions(column_names=schema.names)
    parse_options = pcsv.ParseOptions(newlines_in_values=True)
    convert_options = pcsv.ConvertOptions(
        column_types=schema, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
        true_values=["t"], false_values=["f"], timestamp_parsers=[pcsv.ISO8601])
    for block in blocks:
        try:
            table = pcsv.read_csv(pa.py_buffer(block), read_options=read_options, parse_options=parse_options,
                                  convert_options=convert_options)
        except pa.ArrowException:
            # Arrow's message quotes the offending value, which may be PHI: say where, never what.
            raise IntegrityError(f"a row of {TABLE} could not be read back as its column types "
                                 f"({', '.join(f'{c.name} {c.pg_type}' for c in columns)}): check the table's "
                                 "types with `hv db check`") from None
        yield table


def _rebatch(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `rows` rows (the last shorter), as zero-copy slices of the parsed blocks."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for parsed in tables:
        pending.extend(parsed.to_batches())
        held += parsed.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def _column_streams(column: pa.Array) -> tuple[bytes | memoryview, ...]:
    """Validity, fixed-width values (or string lengths) and string bytes of one column chunk."""
    if column.null_count:
        valid = pc.is_valid(column).to_numpy(zero_copy_only=False).view(np.uint8).tobytes()
    else:
        valid = b"\x01" * len(column)
    kind = column.type
    if pa.types.is_string(kind):
        filled = pc.fill_null(column, "") if column.null_count else column
        offsets = np.frombuffer(filled.buffers()[1], dtype=np.int32)[filled.offset:filled.offset + len(filled) + 1]
        data = memoryview(filled.buffers()[2] or b"")[offsets[0]:offsets[-1]] if len(filled) else b""
        return valid, np.diff(offsets).astype("<u4", copy=False).data, data
    if pa.types.is_timestamp(kind):
        column = pc.cast(column, pa.timestamp("us"))
    values = pc.cast(column, pa.int64())
    if values.null_count:
        values = pc.fill_null(values, 0)
    return valid, values.to_numpy().astype("<i8", copy=False).data, b""


@dataclass
class RowStats:
    """Count, rows hash and timestamp range of the rows seen so far, fed one table at a time."""

    rows: int = 0
    min_timestamp: datetime | None = None
    max_timestamp: datetime | None = None
    _streams: dict[str, list] = field(default_factory=dict, repr=False)

    def update(self, table: pa.Table, *also: RowStats) -> None:
        """Add `table`'s rows to these stats (and to `also`: a part's and its archive's, hashed once)."""
        if not table.num_rows:
            return
        everyone = (self, *also)
        for name, column in zip(table.column_names, table.columns, strict=True):
            for chunk in column.chunks:
                streams = _column_streams(chunk)
                for stats in everyone:
                    hashers = stats._streams.setdefault(name, [hashlib.sha256() for _ in range(3)])
                    for hasher, stream in zip(hashers, streams, strict=True):
                        hasher.update(stream)
        bounds = pc.min_max(table.column(TIME_COLUMN))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        for stats in everyone:
            stats.rows += table.num_rows
            if low is not None:
                stats.min_timestamp = low if stats.min_timestamp is None else min(stats.min_timestamp, low)
                stats.max_timestamp = high if stats.max_timestamp is None else max(stats.max_timestamp, high)

    @property
    def sha256(self) -> str:
        outer = hashlib.sha256(ROW_ENCODING.encode())
        for name, hashers in self._streams.items():
            outer.update(name.encode() + b"\0")
            for hasher in hashers:
                outer.update(hasher.digest())
        return outer.hexdigest()
