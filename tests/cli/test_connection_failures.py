"""Every `hv` command that connects to PostgreSQL fails the same way when it cannot: one `error:` line
naming the cause and what to fix, exit code 2, the password never shown, no traceback.

The matrix calls `main()` in-process (what the `hv` process runs); one case runs as a real process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from psycopg import sql

from hv_pipelines.core import db
from hv_pipelines.core.keyring import generate_hex_key
from tests.fakes.postgres_login import refusing_postgres

PASSWORD = "s3cret-Pw0rd"
COMMANDS = [
    ("db", "upgrade"), ("db", "status"), ("db", "check"), ("db", "downgrade", "base"), ("db", "adopt"),
    ("seed",), ("terminology", "status"), ("ehr", "status"), ("backup", "create"),
    ("audit", "archive", "--month", "2020-01"), ("audit", "list"), ("audit", "verify"),
    ("audit", "rehydrate", "--month", "2020-01"), ("audit", "purge"), ("db", "audit-logging"), ("db", "roles", "list"),
    ("pitr", "status"), ("standardize", "run", "--all"),
]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def hv(run_hv, tmp_path: Path):
    env = {"ENCRYPTION_KEY": generate_hex_key(), "HV_OBJECT_STORE_URL": (tmp_path / "objects").as_uri()}
    return lambda url, *args: run_hv(*args, env={**env, "DATABASE_URL": url})


def _assert_one_error_line(out: subprocess.CompletedProcess, *expected: str) -> None:
    assert out.returncode == 2, (out.args, out.stdout, out.stderr)
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert PASSWORD not in out.stdout + out.stderr
    for text in expected:
        assert text in out.stderr, out.stderr


def test_nothing_listening_is_one_line_for_every_command(hv) -> None:
    url = f"postgresql://hv:{PASSWORD}@127.0.0.1:{_closed_port()}/holovitals"
    for args in COMMANDS:
        _assert_one_error_line(hv(url, *args), "Connection refused", "start PostgreSQL, or fix the host and port",
                               "postgresql://hv:***@127.0.0.1:")


def test_a_refused_login_is_one_line_for_every_command(hv) -> None:
    with refusing_postgres() as port:
        url = f"postgresql://hv:{PASSWORD}@127.0.0.1:{port}/holovitals"
        for args in COMMANDS:
            _assert_one_error_line(hv(url, *args), "password authentication failed",
                                   "check the user name and password")


@pytest.mark.parametrize("url", [
    f"postgresql://hv:{PASSWORD}@127.0.0.1:notaport/holovitals",
    f"postgresql://hv:{PASSWORD}@[::1/holovitals",
    f"host=127.0.0.1 password={PASSWORD}",
    f"postgresql://hv:{PASSWORD}@127.0.0.1/holovitals?sslmodee=require",
])
def test_a_malformed_url_is_one_line_for_every_command(hv, url: str) -> None:
    for args in COMMANDS:
        _assert_one_error_line(hv(url, *args), "postgresql://user:***@host:5432/dbname")


def test_the_installed_command_reports_a_refused_login_in_one_line() -> None:
    with refusing_postgres() as port:
        env = {**os.environ, "DATABASE_URL": f"postgresql://hv:{PASSWORD}@127.0.0.1:{port}/holovitals"}
        out = subprocess.run([sys.executable, "-m", "hv_pipelines.cli", "db", "status"], env=env,
                             capture_output=True, text=True, timeout=60)
    _assert_one_error_line(out, "password authentication failed for user")


def test_a_privilege_the_role_lacks_is_one_line_naming_it(hv, migrated_db: str, pg_server_url: str) -> None:
    role = f"hv_no_grants_{uuid.uuid4().hex[:8]}"
    with db.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(PASSWORD)))
    try:
        out = hv(db.with_login(migrated_db, role, PASSWORD), "audit", "list")
    finally:
        with db.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: the database stopped the command: InsufficientPrivilege (SQLSTATE 42501): "
                                 "permission denied for table audit_log_archives")
    assert "a missing GRANT for the role" in out.stderr
