"""`hv db` end to end, as an operator or CI runs it: a real process, DATABASE_URL from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hv_pipelines.core import db, migrations
from hv_pipelines.core.archival import Month
from tests.core.archival.audit_rows import insert_audit_rows, make_user

PRISMA_SQL = Path(__file__).resolve().parents[1] / "fixtures" / "holovitals_prisma.sql"
HEAD = migrations.heads()[0]


def hv(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "hv_pipelines.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_upgrade_status_check_downgrade(empty_db: str) -> None:
    out = hv("db", "check", url=empty_db)
    assert out.returncode == 1 and "not managed by Alembic" in out.stderr + out.stdout

    out = hv("db", "upgrade", url=empty_db)
    assert out.returncode == 0, out.stderr
    assert "applied 0001_baseline" in out.stdout

    out = hv("db", "status", url=empty_db)
    assert f"current:  {HEAD}" in out.stdout and "drift:    no" in out.stdout
    assert hv("db", "check", url=empty_db).returncode == 0

    with db.connect(empty_db) as conn:
        conn.execute('ALTER TABLE "users" ALTER COLUMN "email" DROP NOT NULL')
    out = hv("db", "check", url=empty_db)
    assert out.returncode == 1
    assert "drift:    yes" in out.stdout and "users.email" in out.stdout

    out = hv("db", "downgrade", "base", url=empty_db)
    assert out.returncode == 0, out.stderr
    assert f"{HEAD} -> base" in out.stdout


def test_adopt_refuses_with_differences_then_accepts(empty_db: str) -> None:
    with db.connect(empty_db) as conn:
        conn.execute(PRISMA_SQL.read_text())
        conn.execute('ALTER TABLE "SNOMEDCode" ADD COLUMN "localNote" TEXT')
    out = hv("db", "adopt", url=empty_db)
    assert out.returncode == 1
    assert "column SNOMEDCode.localNote: unexpected" in out.stderr

    with db.connect(empty_db) as conn:
        conn.execute('ALTER TABLE "SNOMEDCode" DROP COLUMN "localNote"')
    out = hv("db", "adopt", url=empty_db)
    assert out.returncode == 0, out.stderr
    assert "stamped at 0001_baseline" in out.stdout


def test_missing_database_url_says_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    out = subprocess.run([sys.executable, "-m", "hv_pipelines.cli", "db", "status"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "DATABASE_URL" in out.stderr


def test_an_unknown_recorded_revision_is_one_error_line_with_exit_code_2(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'deadbeef'")
    for command in ("upgrade", "status", "check"):
        out = hv("db", command, url=migrated_db)
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
        assert out.stderr.startswith("error: ") and "revision 'deadbeef'" in out.stderr
        assert "alembic stamp" in out.stderr


def test_upgrade_refuses_an_existing_enum_type(empty_db: str) -> None:
    with db.connect(empty_db) as conn:
        conn.execute("""CREATE TYPE "FHIRResourceType" AS ENUM ('X')""")
    out = hv("db", "upgrade", url=empty_db)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert 'type "FHIRResourceType" already exists' in out.stderr and "applied" not in out.stdout
    with db.connect(empty_db) as conn:
        assert conn.execute("SELECT to_regclass('users')").fetchone()[0] is None
        assert conn.execute("""SELECT enum_range(NULL::"FHIRResourceType")::text""").fetchone()[0] == "{X}"



def test_roles_create_login_prints_the_password_once_and_list_shows_the_member(migrated_db: str) -> None:
    out = hv("db", "roles", "create-login", "ci_reporting", "--role", "hv_readonly", url=migrated_db)
    try:
        assert out.returncode == 0, out.stderr
        password = out.stdout.split("password (shown once, store it in your secret manager now): ")[1].strip()
        assert len(password) >= 32
        with db.connect(migrated_db) as conn:
            stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'ci_reporting'").fetchone()[0]
        assert stored.startswith("SCRAM-SHA-256$") and password not in stored

        listing = hv("db", "roles", "list", url=migrated_db)
        assert listing.returncode == 0, listing.stderr
        [row] = [line for line in listing.stdout.splitlines() if line.startswith("hv_readonly ")]
        assert row.split()[1] == "21" and row.rstrip().endswith("ci_reporting")  # 20 without PHI + alembic_version

        again = hv("db", "roles", "create-login", "ci_reporting", "--role", "hv_readonly", url=migrated_db)
        assert again.returncode == 1 and again.stderr.startswith("error: a role named ci_reporting already exists")
    finally:
        with db.connect(migrated_db) as conn:
            conn.execute("DROP ROLE IF EXISTS ci_reporting")


def test_roles_create_login_takes_the_password_from_a_variable(migrated_db: str) -> None:
    env_url = migrated_db
    out = subprocess.run([sys.executable, "-m", "hv_pipelines.cli", "db", "roles", "create-login", "ci_app",
                          "--role", "hv_app", "--password-env", "CI_APP_PASSWORD"],
                         env={**os.environ, "DATABASE_URL": env_url, "CI_APP_PASSWORD": "s3cret-from-vault"},
                         capture_output=True, text=True, timeout=120)
    try:
        assert out.returncode == 0, out.stderr
        assert "s3cret-from-vault" not in out.stdout + out.stderr and "password (shown once" not in out.stdout
        with db.connect(migrated_db) as conn:
            assert conn.execute("SELECT pg_has_role('ci_app', 'hv_app', 'MEMBER')").fetchone()[0]
    finally:
        with db.connect(migrated_db) as conn:
            conn.execute("DROP ROLE IF EXISTS ci_app")
    missing = hv("db", "roles", "create-login", "ci_app", "--role", "hv_nobody", url=migrated_db)
    assert missing.returncode == 1 and "unknown role 'hv_nobody'" in missing.stderr


def test_audit_logging_prints_then_applies_the_recommended_settings(own_pg_server: str) -> None:
    url = db.with_database(own_pg_server, "postgres")
    out = hv("db", "audit-logging", url=url)
    assert out.returncode == 0, out.stderr
    assert "-> log_connections = 'on'  (now 'off')" in out.stdout and "-> log_statement = 'ddl'" in out.stdout
    assert "missing: log_connections is off" in out.stdout

    applied = hv("db", "audit-logging", "--apply", url=url)
    assert applied.returncode == 0, applied.stderr
    assert "set log_connections, log_disconnections, log_line_prefix, log_statement and reloaded" in applied.stdout
    assert "connections, disconnections and DDL are logged" in applied.stdout
    with db.connect(url) as conn:
        assert conn.execute("SHOW log_statement").fetchone()[0] == "ddl"


def test_check_fails_on_a_stray_grant_as_on_schema_drift(migrated_db: str) -> None:
    out = hv("db", "check", url=migrated_db)
    assert out.returncode == 0 and "grants:   as migrated" in out.stdout, out.stdout + out.stderr
    with db.connect(migrated_db) as conn:
        conn.execute("GRANT SELECT ON users TO hv_readonly")
    out = hv("db", "check", url=migrated_db)
    assert out.returncode == 1 and "grants:   drifted" in out.stdout
    assert 'REVOKE SELECT ON "users" FROM hv_readonly' in out.stdout and "grants drifted" in out.stderr


def test_audit_partitions_enable_status_check_disable(migrated_db: str, run_hv) -> None:
    insert_audit_rows(migrated_db, Month(2026, 9), 30, make_user(migrated_db))
    env = {"DATABASE_URL": migrated_db}

    out = run_hv("db", "audit-partitions", "enable", "--months-ahead", "1", env=env)
    assert out.returncode == 0, out.stderr
    assert "audit_logs: 30 rows to rebuild, with 6 indexes and 1 foreign key(s)" in out.stdout
    assert "2026-09: 30 rows (30 of 30)" in out.stdout and "30 rows kept" in out.stdout

    out = run_hv("db", "audit-partitions", "status", env=env)
    assert "audit_logs is partitioned by month" in out.stdout and "audit_logs_y2026m09" in out.stdout
    out = run_hv("db", "check", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "drift:    no" in out.stdout and "accepted: audit_logs is partitioned by month" in out.stdout
    assert "grants:   as migrated" in out.stdout

    out = run_hv("db", "audit-partitions", "enable", env=env)
    assert out.returncode == 1 and out.stderr.startswith("error: audit_logs is already partitioned")

    out = run_hv("db", "audit-partitions", "disable", env=env)
    assert out.returncode == 0 and "audit_logs is now a plain table: 30 rows kept" in out.stdout
    assert "plain table" in run_hv("db", "audit-partitions", "status", env=env).stdout
