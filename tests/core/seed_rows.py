"""Every row the seed writes, with its row version, for "a second run changes nothing" assertions.

Shared by the core, CLI and Dagster seed tests (`from tests.core.seed_rows import row_versions`).
`xmin` is the transaction that wrote the row's current version: an UPDATE that sets every column to
the value it already had still gives the row a new one, so a run that rewrites rows it reports as
unchanged is caught even though every value, and every reported count, is the same.
"""

from __future__ import annotations

from hv_pipelines.core import db
from hv_pipelines.core.seed_tables import SEEDED_TABLES


def row_versions(url: str) -> dict[str, list[tuple[str, str]]]:
    """{table: [(xmin, the whole row as text), ...]} for every seeded table and `audit_logs`."""
    tables = [table.name for table in SEEDED_TABLES] + ["audit_logs"]
    with db.connect(url) as conn:
        return {table: conn.execute(f'SELECT xmin::text, t::text FROM "{table}" t ORDER BY 2').fetchall()
                for table in tables}
