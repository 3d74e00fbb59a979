"""Arrow tables into PostgreSQL through COPY, without a Python step per value.

Arrow writes each table as CSV and COPY reads it back in CSV format: NULL is written unquoted-empty
(COPY's NULL) and every string quoted, so an empty string stays an empty string.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import psycopg
import pyarrow as pa
import pyarrow.csv as pcsv
from psycopg import sql


def copy_arrow(conn: psycopg.Connection, target: sql.Composable, columns: Sequence[str],
               tables: Iterable[pa.Table]) -> None:
    """COPY `tables` (whose columns are `columns`, in order) into `target`."""
    query = sql.SQL("COPY {target} ({cols}) FROM STDIN (FORMAT csv)").format(
        target=target, cols=sql.SQL(", ").join(map(sql.Identifier, columns)))
    options = pcsv.WriteOptions(include_header=False)
    with conn.cursor() as cur, cur.copy(query) as copy:
        for table in tables:
            buffer = io.BytesIO()
            pcsv.write_csv(table, buffer, write_options=options)
            copy.write(buffer.getbuffer())
