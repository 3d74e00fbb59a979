"""Alembic driven by core.migrations: round trips, atomic failure, shadow rehearsal, drift, adopt."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from alembic import command

from hv_pipelines.core import db, migrations
from hv_pipelines.core.migrations import BASELINE, DriftError, MigrationError, UnknownRevisionError

PRISMA_SQL = Path(__file__).resolve().parents[1] / "fixtures" / "holovitals_prisma.sql"
HEAD = migrations.heads()[0]


def _tables_and_types(url: str) -> tuple[int, int]:
    with db.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                              "AND tablename <> 'alembic_version'").fetchone()[0]
        types = conn.execute("SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                             "WHERE n.nspname = 'public' AND t.typtype = 'e'").fetchone()[0]
    return tables, types


def _scripts_with(tmp_path: Path, body: str, revision: str = "9999_probe") -> Path:
    """A copy of the project's scripts plus one extra revision on top of their head."""
    location = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / f"{revision}.py").write_text(
        f'revision = "{revision}"\ndown_revision = "{HEAD}"\nbranch_labels = None\ndepends_on = None\n\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n\n"
        f"def upgrade():\n{body}\n\n\ndef downgrade():\n    op.drop_table('hv_probe')\n")
    return location


def test_upgrade_reports_what_it_applied_and_leaves_no_drift(empty_db: str) -> None:
    result = migrations.upgrade(empty_db)
    assert (result.before, result.after, result.applied[0], result.applied[-1]) == (None, HEAD, BASELINE, HEAD)
    assert _tables_and_types(empty_db) == (93, 45)
    assert migrations.drift(empty_db) == []
    command.check(migrations.alembic_config(empty_db))  # `alembic check`: nothing to autogenerate
    again = migrations.upgrade(empty_db)
    assert again.applied == [] and again.after == HEAD


def test_downgrade_base_removes_everything_and_upgrade_works_again(migrated_db: str) -> None:
    result = migrations.downgrade(migrated_db, "base")
    assert (result.before, result.after) == (HEAD, None)
    assert _tables_and_types(migrated_db) == (0, 0)
    migrations.upgrade(migrated_db)
    assert _tables_and_types(migrated_db) == (93, 45)
    assert migrations.drift(migrated_db) == []


def test_failed_migration_leaves_the_previous_revision_intact(migrated_db: str, tmp_path: Path) -> None:
    scripts = _scripts_with(tmp_path, "    op.create_table('hv_probe', sa.Column('id', sa.Integer))\n"
                                      "    op.add_column('users', sa.Column('probe', sa.Text))\n"
                                      "    op.execute('SELECT 1 / 0')")
    with pytest.raises(MigrationError, match=f"still at {HEAD}"):
        migrations.upgrade(migrated_db, script_location=scripts)
    assert migrations.current_revision(migrated_db) == HEAD
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT to_regclass('hv_probe')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                            "AND column_name = 'probe'").fetchone()[0] == 0
    assert migrations.drift(migrated_db) == []


def test_lock_timeout_stops_a_migration_blocked_by_a_lock(migrated_db: str, tmp_path: Path) -> None:
    scripts = _scripts_with(tmp_path, "    op.create_table('hv_probe', sa.Column('id', sa.Integer))\n"
                                      "    op.add_column('users', sa.Column('probe', sa.Text))")
    with db.connect(migrated_db) as blocker:
        blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        with pytest.raises(MigrationError, match="lock timeout"):
            migrations.upgrade(migrated_db, script_location=scripts, lock_timeout="200ms")
    assert migrations.current_revision(migrated_db) == HEAD


def test_shadow_rehearsal_failure_never_touches_the_target(migrated_db: str, empty_db: str,
                                                           tmp_path: Path) -> None:
    scripts = _scripts_with(tmp_path, "    op.create_table('hv_probe', sa.Column('id', sa.Integer))\n"
                                      "    op.execute('SELECT 1 / 0')")
    with pytest.raises(MigrationError, match="shadow database"):
        migrations.upgrade(migrated_db, shadow_url=empty_db, script_location=scripts)
    assert migrations.current_revision(migrated_db) == HEAD

    good = _scripts_with(tmp_path / "good", "    op.create_table('hv_probe', sa.Column('id', sa.Integer))")
    result = migrations.upgrade(migrated_db, shadow_url=empty_db, script_location=good)
    assert result.rehearsed_on_shadow and result.applied == ["9999_probe"]
    assert migrations.current_revision(empty_db) == "9999_probe"


def test_status_reports_pending_revisions_and_hand_made_drift(migrated_db: str, tmp_path: Path) -> None:
    scripts = _scripts_with(tmp_path, "    op.create_table('hv_probe', sa.Column('id', sa.Integer))")
    st = migrations.status(migrated_db, script_location=scripts)
    assert (st.current, st.pending, st.up_to_date) == (HEAD, ["9999_probe"], False)

    assert migrations.status(migrated_db).up_to_date
    with db.connect(migrated_db) as conn:
        conn.execute('ALTER TABLE "LOINCCode" ALTER COLUMN "shortName" TYPE varchar(40)')
    st = migrations.status(migrated_db)
    assert len(st.drift) == 1 and "LOINCCode.shortName" in st.drift[0]


def test_two_heads_are_reported(migrated_db: str, tmp_path: Path) -> None:
    scripts = _scripts_with(tmp_path, "    pass")
    (scripts / "versions" / "9999_other.py").write_text(
        (scripts / "versions" / "9999_probe.py").read_text().replace('"9999_probe"', '"9999_other"'))
    assert sorted(migrations.heads(script_location=scripts)) == ["9999_other", "9999_probe"]
    with pytest.raises(MigrationError, match="2 heads"):
        migrations.upgrade(migrated_db, script_location=scripts)


def test_adopt_stamps_a_prisma_database_without_touching_data(empty_db: str) -> None:
    with db.connect(empty_db) as conn:
        conn.execute(PRISMA_SQL.read_text())
        conn.execute("INSERT INTO roles (id, name, \"displayName\", \"updatedAt\") VALUES ('r1', 'OWNER', 'Owner', now())")
    assert migrations.adopt(empty_db) == BASELINE
    assert migrations.current_revision(empty_db) == BASELINE
    assert BASELINE not in migrations.status(empty_db).pending  # the revisions after it, roles first
    migrations.upgrade(empty_db)
    assert migrations.status(empty_db).up_to_date
    with db.connect(empty_db) as conn:
        assert conn.execute("SELECT name FROM roles").fetchall() == [("OWNER",)]
    with pytest.raises(MigrationError, match="already managed"):
        migrations.adopt(empty_db)


def test_adopt_refuses_a_changed_database_and_lists_the_differences(empty_db: str) -> None:
    with db.connect(empty_db) as conn:
        conn.execute(PRISMA_SQL.read_text())
        conn.execute('ALTER TABLE "ICD10Code" ALTER COLUMN "billable" DROP DEFAULT')
        conn.execute('CREATE INDEX "extra_idx" ON users (role)')
    with pytest.raises(DriftError) as err:
        migrations.adopt(empty_db)
    assert err.value.differences == [
        "column ICD10Code.billable: expected boolean NOT NULL DEFAULT true, found boolean NOT NULL",
        "index extra_idx: unexpected",
    ]
    assert migrations.current_revision(empty_db) is None


def test_an_enum_label_added_by_hand_is_drift(migrated_db: str) -> None:
    with db.connect(migrated_db, autocommit=True) as conn:
        conn.execute("ALTER TYPE \"PermissionScope\" ADD VALUE 'GLOBAL'")
    assert [d for d in migrations.drift(migrated_db) if d.startswith("enum")] == [
        "enum PermissionScope: labels ['OWN', 'ASSIGNED', 'DEPARTMENT', 'ORGANIZATION', 'SYSTEM', 'GLOBAL'] "
        "differ from the models' ['OWN', 'ASSIGNED', 'DEPARTMENT', 'ORGANIZATION', 'SYSTEM']"
    ]


def _add_stray_enum(url: str) -> None:
    with db.connect(url) as conn:
        conn.execute("""CREATE TYPE "FHIRResourceType" AS ENUM ('X')""")


def _stray_enum_untouched(url: str) -> bool:
    with db.connect(url) as conn:
        labels = conn.execute("""SELECT enum_range(NULL::"FHIRResourceType")::text""").fetchone()[0]
    return labels == "{X}" and _tables_and_types(url) == (0, 1) and migrations.current_revision(url) is None


def test_an_existing_enum_type_fails_the_upgrade_instead_of_being_adopted(empty_db: str) -> None:
    _add_stray_enum(empty_db)
    with pytest.raises(MigrationError) as err:
        migrations.upgrade(empty_db)
    message = str(err.value)
    assert 'DuplicateObject: type "FHIRResourceType" already exists' in message
    assert '(in: CREATE TYPE "FHIRResourceType" AS ENUM' in message and "\n" not in message
    assert "hv db adopt" in message
    assert _stray_enum_untouched(empty_db)


def test_the_shadow_rehearsal_refuses_what_the_target_already_holds(empty_db: str, pg_server_url: str) -> None:
    _add_stray_enum(empty_db)
    shadow = db.create_database(pg_server_url, f"hv_shadow_{uuid.uuid4().hex[:10]}")
    try:
        with pytest.raises(MigrationError, match="already holds enum FHIRResourceType, which the pending "
                                                 "revisions create .* the target database was not touched"):
            migrations.upgrade(empty_db, shadow_url=shadow)
    finally:
        db.drop_database(pg_server_url, db.database_name(shadow))
    assert _stray_enum_untouched(empty_db)


def test_an_unknown_recorded_revision_is_one_clear_error(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'deadbeef'")
    for attempt in (migrations.upgrade, migrations.status, lambda url: migrations.downgrade(url, "base")):
        with pytest.raises(UnknownRevisionError, match="records Alembic revision 'deadbeef', which none of these "
                                                       "migration scripts defines") as err:
            attempt(migrated_db)
        assert err.value.exit_code == 2
    assert migrations.current_revision(migrated_db) == "deadbeef"
    assert _tables_and_types(migrated_db) == (93, 45)


def test_a_failed_create_table_is_reported_by_its_first_line(migrated_db: str, tmp_path: Path) -> None:
    scripts = _scripts_with(tmp_path, "    op.create_table('users', sa.Column('id', sa.Integer), "
                                      "sa.Column('b', sa.Text))")
    with pytest.raises(MigrationError) as err:
        migrations.upgrade(migrated_db, script_location=scripts)
    message = str(err.value)
    assert 'DuplicateTable: relation "users" already exists (in: CREATE TABLE users (' in message
    assert "\n" not in message and "b TEXT" not in message
    assert migrations.current_revision(migrated_db) == HEAD
