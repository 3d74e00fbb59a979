"""`make dev`'s PostgreSQL serves TLS only: every URL the stack hands out is verify-full against its local
CA, every login has a SCRAM password from its passfile, and nothing else gets in (issue 21)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hv_pipelines.core import audit_logging, db, migrations
from hv_pipelines.core.backup import create_backup, restore_backup
from hv_pipelines.core.embedded import start_stack
from hv_pipelines.core.errors import ConfigurationError, DatabaseUnreachable
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import LocalStore
from hv_pipelines.core.tls import local_ca

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    # Not under pytest's basetemp, which only root may enter: as root the server runs as its own OS user.
    home = Path(tempfile.mkdtemp(prefix="hv-embedded-tls-"))
    running = start_stack(home / "hv")
    try:
        migrations.upgrade(running.database_url)  # Alembic over SQLAlchemy, over verify-full
        yield running
    finally:
        running.stop()
        shutil.rmtree(home, ignore_errors=True)


def _hv(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hv_pipelines.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_every_url_of_the_stack_is_verify_full_and_every_connection_uses_tls(stack) -> None:
    env = stack.env()
    urls = [env["DATABASE_URL"]] + [env[f"HV_DATABASE_URL_{d}"] for d in ("TERMINOLOGY", "EHR", "ARCHIVAL", "BACKUP")]
    for url in urls:
        parsed = db.sqlalchemy_url(url)
        assert parsed.query["sslmode"] == "verify-full" and parsed.query["sslrootcert"] == str(stack.server.ca_cert)
        assert parsed.password is None  # passwords live in the 0600 passfile, not in URLs
        with db.connect(url) as conn:
            assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    hba = [line.split() for line in (stack.server.pgdata / "pg_hba.conf").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert hba and all(fields[0] == "hostssl" and fields[-1] == "scram-sha-256" for fields in hba)
    for secret in (stack.server.passfile, stack.server.ca_cert.parent / "ca.key"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    with db.connect(env["DATABASE_URL"]) as conn:
        assert conn.execute("SHOW unix_socket_directories").fetchone() == ("",)  # no way in that skips TLS
        assert conn.execute("SHOW data_checksums").fetchone() == ("on",)
        assert audit_logging.logging_gaps(conn) == []  # connections, disconnections and DDL are logged


def _changed(url: str, host: str | None = None, **query: str) -> str:
    parsed = db.sqlalchemy_url(url).update_query_dict(query)
    return parsed.set(host=host or parsed.host).render_as_string(hide_password=False)


def test_plain_tcp_a_wrong_ca_and_a_wrong_host_name_are_refused(stack, tmp_path) -> None:
    url = stack.database_url
    with pytest.raises(DatabaseUnreachable, match="accepts TLS connections only"):
        db.connect(_changed(url, sslmode="disable")).__enter__()
    other = local_ca(tmp_path / "other", ["127.0.0.1", "localhost"])
    with pytest.raises(DatabaseUnreachable, match="certificate verify failed.*TLS verification failed"):
        db.connect(_changed(url, sslrootcert=str(other.ca_cert))).__enter__()
    # libpq connects to 127.0.0.1 but checks the certificate (127.0.0.1, localhost) for the URL's host name.
    wrong_host = _changed(url, host="db.invalid", hostaddr="127.0.0.1")
    with pytest.raises(DatabaseUnreachable, match='does not match host name "db.invalid"'):
        db.connect(wrong_host).__enter__()
    out = _hv("db", "status", env={"DATABASE_URL": wrong_host})
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "does not match host name" in out.stderr


def test_pg_dump_pg_restore_and_pg_basebackup_work_over_verify_full(stack, tmp_path) -> None:
    env = stack.env()
    store, keyring = LocalStore(tmp_path / "objects"), Keyring.from_hex(env["ENCRYPTION_KEY"])
    seeded = _hv("seed", env=env)  # the system account the backup login audits its work as
    assert seeded.returncode == 0, seeded.stderr
    backup = create_backup(env["HV_DATABASE_URL_BACKUP"], store, keyring)  # pg_dump as the backup login
    target = db.create_database(env["DATABASE_URL"], "restored")
    assert restore_backup(store, keyring, backup.manifest.backup_id, target).matches  # pg_restore
    based = _hv("pitr", "base-backup", env=env)  # pg_basebackup as the backup login (REPLICATION)
    assert based.returncode == 0, based.stderr


def test_a_pgserver_cluster_left_in_hv_pg_is_refused_with_what_to_do(tmp_path) -> None:
    legacy = tmp_path / "hv" / "pg"
    legacy.mkdir(parents=True)
    (legacy / "PG_VERSION").write_text("16\n")
    with pytest.raises(ConfigurationError, match=r"hv/pg holds the database of an earlier `make dev` \(pgserver"):
        start_stack(tmp_path / "hv")
    still_running = subprocess.Popen(["sleep", "60"])  # stands for the old postmaster
    try:
        (legacy / "postmaster.pid").write_text(f"{still_running.pid}\n{legacy}\n")
        out = _hv("dev", env={"HV_HOME": str(tmp_path / "hv")})
    finally:
        still_running.kill()
        still_running.wait()
    assert out.returncode != 0 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("error: ") and f"still running (pid {still_running.pid})" in out.stderr
    assert f"kill -INT {still_running.pid}" in out.stderr and "README.md" in out.stderr
    assert not (tmp_path / "hv" / "postgresql").exists()  # nothing started beside it
