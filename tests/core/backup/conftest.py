"""Databases with synthetic rows for backups to carry, and one backup per test module to inspect or damage.

Creating a database and backing it up costs seconds; tests that only read a backup (or damage a copy
of it) share one per module, and tests that change the source get their own.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.backup import BackupResult, create_backup
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.storage import LocalStore

SAMPLE_ROWS = Path(__file__).resolve().parents[2] / "fixtures" / "backups" / "sample_rows.sql"


def add_sample_rows(url: str, bulk_rows: int = 0) -> None:
    """The sample rows, plus `bulk_rows` of poorly compressible text (so data outweighs the archive's TOC)."""
    with db.connect(url) as conn:
        conn.execute(SAMPLE_ROWS.read_text())
        if bulk_rows:
            conn.execute("CREATE TABLE bulk_notes AS SELECT g AS id, md5(random()::text) || md5(random()::text) "
                         "AS body FROM generate_series(1, %s) AS g", (bulk_rows,))


@pytest.fixture
def populated_db(migrated_db: str) -> str:
    add_sample_rows(migrated_db)
    return migrated_db


def database_from_template(pg_server_url: str, migrated_template: str, prefix: str):
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    return name, db.create_database(pg_server_url, name, template=migrated_template)


@pytest.fixture
def other_migrated_db(pg_server_url: str, migrated_template: str):
    """A second, separate database at Alembic head (no rows): a non-empty restore target."""
    name, url = database_from_template(pg_server_url, migrated_template, "hv_target")
    yield url
    db.drop_database(pg_server_url, name)


@pytest.fixture(scope="module")
def module_keyring() -> Keyring:
    return Keyring.from_hex(generate_hex_key())


@pytest.fixture(scope="module")
def module_backup(request, pg_server_url: str, migrated_template: str, module_keyring: Keyring,
                  tmp_path_factory) -> tuple[BackupResult, LocalStore]:
    """One backup of a populated database for the whole module (`BULK_ROWS`, `CHUNK` read from the module)."""
    name, url = database_from_template(pg_server_url, migrated_template, "hv_source")
    try:
        add_sample_rows(url, getattr(request.module, "BULK_ROWS", 0))
        store = LocalStore(tmp_path_factory.mktemp("module-store"))
        kwargs = {"chunk_size": request.module.CHUNK} if hasattr(request.module, "CHUNK") else {}
        result = create_backup(url, store, module_keyring, **kwargs)
    finally:
        db.drop_database(pg_server_url, name)
    return result, store


@pytest.fixture
def backup_copy(module_backup, tmp_path) -> tuple[BackupResult, LocalStore]:
    """The module's backup in a store of this test's own, free to damage."""
    result, store = module_backup
    shutil.copytree(store.root, tmp_path / "objects")
    return result, LocalStore(tmp_path / "objects")
