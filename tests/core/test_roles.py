"""The database roles on real PostgreSQL: each job's role can do its job and nothing the matrix denies."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hv_pipelines.core import db, migrations, posture, roles
from hv_pipelines.core.archival import Month, archive_month, rehydrate_month
from hv_pipelines.core.audit_trail import system_user_id
from hv_pipelines.core.backup import catalog, create_backup, restore_backup
from hv_pipelines.core.terminology import load_release
from hv_pipelines.schema import access
from tests.core.archival.audit_rows import count_rows, insert_audit_rows, make_user, month_rows
from tests.core.backup.conftest import add_sample_rows
from tests.core.terminology.conftest import RELEASES

REFUSED = psycopg.errors.InsufficientPrivilege


def _refused(url: str, statement: str) -> bool:
    with db.connect(url) as conn:
        try:
            conn.execute(statement)
        except REFUSED:
            return True
    return False


def test_terminology_role_cannot_read_users_or_any_phi_table(migrated_db: str, login_url) -> None:
    url = login_url(access.TERMINOLOGY)
    readable = [t for t in sorted(access.PHI_TABLES) if not _refused(url, f'SELECT FROM "{t}" LIMIT 1')]
    assert readable == []
    with db.connect(url) as conn:  # and it can do its job
        conn.execute("""INSERT INTO "ICD10Code" (id, code, description, "shortDescription", category, "updatedAt")
                        VALUES ('i1', 'A00', 'Cholera', 'Cholera', 'infectious', now())""")
        assert conn.execute('SELECT count(*) FROM "ICD10Code"').fetchone()[0] == 1


def test_app_role_cannot_rewrite_audit_logs_nor_change_the_schema(migrated_db: str, login_url) -> None:
    user_id = make_user(migrated_db)
    url = login_url(access.APP)
    with db.connect(url) as conn:
        conn.execute("INSERT INTO audit_logs (id, user_id, action, resource, resource_id, severity) "
                     "VALUES ('a1', %s, 'LOGIN', 'session', 's1', 'INFO')",
                     (user_id,))
        assert conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0] == 1
        conn.execute("UPDATE users SET mfa_enabled = true WHERE id = %s", (user_id,))
    for statement in ("UPDATE audit_logs SET action = 'NOTHING'", "DELETE FROM audit_logs",
                      "TRUNCATE audit_logs", "CREATE TABLE public.mine (id int)", "DROP TABLE customers",
                      "ALTER TABLE users ADD COLUMN note text", "CREATE INDEX ON users (role)",
                      "ALTER TYPE \"PermissionScope\" ADD VALUE 'GLOBAL'",
                      "INSERT INTO audit_log_archives (id, \"archiveDate\", \"startDate\", \"endDate\", "
                      "\"recordCount\", \"storagePath\", \"fileSize\", \"createdBy\") "
                      "VALUES ('x', now(), now(), now(), 0, 'p', 0, 'me')"):
        assert _refused(url, statement), statement
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT action FROM audit_logs").fetchall() == [("LOGIN",)]


def test_migrated_database_is_owned_by_hv_owner_and_granted_per_the_matrix(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        owners = conn.execute("SELECT DISTINCT relowner::regrole::text FROM pg_class "
                              "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S')").fetchall()
        assert owners == [(access.OWNER,)]
        assert roles.grant_drift(conn) == []
        assert not conn.execute("SELECT has_schema_privilege('public', 'public', 'CREATE')").fetchone()[0]
        roles.sync(conn)  # idempotent
        assert roles.grant_drift(conn) == []


def test_a_stray_grant_is_drift(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("GRANT SELECT ON users TO hv_readonly")
        conn.execute("REVOKE INSERT ON audit_logs FROM hv_app")
        assert roles.grant_drift(conn) == [
            "hv_app lacks INSERT on audit_logs: run `hv db upgrade` (the roles migration re-applies the matrix)",
            "hv_readonly has SELECT on users, which the matrix (schema/access.py) does not grant: "
            'REVOKE SELECT ON "users" FROM hv_readonly',
        ]


def _scripts_with_new_table(tmp_path: Path) -> Path:
    location = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "9999_new_table.py").write_text(
        f'revision = "9999_new_table"\ndown_revision = "{migrations.heads()[0]}"\n'
        "branch_labels = None\ndepends_on = None\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n\n"
        "def upgrade():\n    op.create_table('care_notes', sa.Column('id', sa.Integer, primary_key=True),\n"
        "                    sa.Column('note', sa.Text))\n\n\n"
        "def downgrade():\n    op.drop_table('care_notes')\n")
    return location


def test_a_migration_run_as_hv_owner_leaves_its_new_table_granted_per_the_matrix(
        migrated_db: str, tmp_path: Path, login_url) -> None:
    migrations.upgrade(migrated_db, script_location=_scripts_with_new_table(tmp_path))
    with db.connect(migrated_db) as conn:
        owner = conn.execute("SELECT relowner::regrole::text FROM pg_class WHERE relname = 'care_notes'").fetchone()
        assert owner == (access.OWNER,)
        granted = {grantee: p for (grantee, table), p in roles.live_grants(conn).items() if table == "care_notes"}
        assert granted == access.table_grants("care_notes") == {access.APP: access.DML, access.BACKUP: access.READ}
        assert roles.grant_drift(conn) == []
    assert _refused(login_url(access.TERMINOLOGY), "SELECT FROM care_notes")
    assert _refused(login_url(access.READONLY), "SELECT FROM care_notes")  # unreviewed: may hold PHI
    with db.connect(login_url(access.APP)) as conn:
        conn.execute("INSERT INTO care_notes VALUES (1, 'n')")


def test_the_archiver_archives_a_month_with_its_role_alone(migrated_db: str, login_url, local_store,
                                                           keyring) -> None:
    month = Month(2023, 1)
    with db.connect(migrated_db) as conn:
        system_user_id(conn)  # what `hv seed` creates
    insert_audit_rows(migrated_db, month, 300, make_user(migrated_db))
    originals = month_rows(migrated_db, month)
    url = login_url(access.ARCHIVER)
    result = archive_month(url, local_store, keyring, month)
    assert (result.status, result.rows) == ("archived", 300)
    assert count_rows(migrated_db, month) == 0
    assert len(originals) == 300
    assert _refused(url, "SELECT FROM customers LIMIT 1")


def test_a_rehydrated_table_is_granted_per_the_matrix(migrated_db: str, login_url, local_store, keyring) -> None:
    month = Month(2023, 2)
    insert_audit_rows(migrated_db, month, 40, make_user(migrated_db))
    archive_month(migrated_db, local_store, keyring, month)

    table = rehydrate_month(migrated_db, local_store, keyring, month).table

    with db.connect(migrated_db) as conn:
        assert roles.grant_drift(conn) == []  # what the posture's grants_as_migrated check compares
        assert posture.grants(conn).passed
        owner = conn.execute("SELECT relowner::regrole::text FROM pg_class WHERE relname = %s", (table,)).fetchone()[0]
    assert owner == access.OWNER
    assert _refused(login_url(access.APP), f"SELECT FROM {table}")  # PHI, and no live trail: not the app's
    with db.connect(login_url(access.ARCHIVER)) as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 40
    with db.connect(migrated_db) as conn:  # recognised, not waved through: a stray grant on it is still drift
        conn.execute(f"GRANT SELECT ON {table} TO hv_app")
        assert roles.grant_drift(conn) == [f"hv_app has SELECT on {table}, which the matrix (schema/access.py) does "
                                           f'not grant: REVOKE SELECT ON "{table}" FROM hv_app']


def _snapshot(url: str) -> tuple[dict[str, int], str]:
    with db.connect(url) as conn:
        return catalog.row_counts(conn), catalog.schema_fingerprint(conn)


def test_the_backup_roles_dump_restores_identically(migrated_db: str, empty_db: str, login_url, local_store,
                                                    keyring) -> None:
    add_sample_rows(migrated_db)
    with db.connect(migrated_db) as conn:
        system_user_id(conn)
    url = login_url(access.BACKUP)
    assert _refused(url, "DELETE FROM customers")
    before = _snapshot(migrated_db)
    result = create_backup(url, local_store, keyring)
    restored = restore_backup(local_store, keyring, result.manifest.backup_id, empty_db)
    assert restored.matches, restored.mismatches
    after = _snapshot(empty_db)
    assert after[1] == before[1]
    skip = {"public.audit_logs"}  # the backup's and the restore's own entries
    assert {t: n for t, n in after[0].items() if t not in skip} == {t: n for t, n in before[0].items() if t not in skip}
    assert before[0]["public.customers"] > 0


def test_migrations_refuse_a_login_that_is_not_a_member_of_hv_owner(migrated_db: str, login_url) -> None:
    url = login_url(access.APP)
    with pytest.raises(migrations.MigrationError, match="hv_owner"):
        migrations.downgrade(url, "0001_baseline")
    with db.connect(migrated_db) as conn:
        assert conn.execute(sql.SQL("SELECT version_num FROM alembic_version")).fetchone()[0] == migrations.heads()[0]


def test_the_terminology_role_loads_a_release_on_its_own(migrated_db: str, login_url, local_store) -> None:
    url = login_url(access.TERMINOLOGY)
    result = load_release(url, "loinc", [RELEASES / "loinc" / "Loinc_2.77.zip"], store=local_store)
    assert result.counts.new == 13
    assert result.as_metadata()["rebuilt_indexes"] == "-"  # only hv_owner may drop the tables' indexes
    again = load_release(url, "loinc", [RELEASES / "loinc" / "Loinc_2.77.zip"], store=local_store)
    assert again.counts.new == 0
