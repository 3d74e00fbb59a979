"""The models, migrated by Alembic, produce exactly the catalog Prisma's engine generates."""

from __future__ import annotations

from pathlib import Path

from hv_pipelines.core import db
from hv_pipelines.core.catalog import diff_catalogs, read_catalog

PRISMA_SQL = Path(__file__).resolve().parents[1] / "fixtures" / "holovitals_prisma.sql"


def apply_prisma_sql(url: str) -> None:
    with db.connect(url) as conn:
        conn.execute(PRISMA_SQL.read_text())


def test_alembic_head_equals_prisma_ddl(empty_db: str, migrated_db: str) -> None:
    apply_prisma_sql(empty_db)
    with db.connect(empty_db) as conn:
        prisma = read_catalog(conn)
    with db.connect(migrated_db) as conn:
        ours = read_catalog(conn)

    assert (len(prisma.enums), len(prisma.columns)) == (45, 93)
    assert len(prisma.indexes) == 352
    assert sum(1 for _, d in prisma.constraints.values() if d.startswith("FOREIGN KEY")) == 65
    assert diff_catalogs(prisma, ours) == []


def test_catalog_diff_names_a_changed_column(empty_db: str, migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        before = read_catalog(conn)
        conn.execute('ALTER TABLE "LOINCCode" ALTER COLUMN "shortName" DROP NOT NULL')
        after = read_catalog(conn)
    assert diff_catalogs(before, after) == [
        'column LOINCCode.shortName: expected text NOT NULL, found text NULL'
    ]
