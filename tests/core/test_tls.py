"""Every job over a TLS-only server with sslmode=verify-full; a wrong CA, a wrong host name and plain TCP refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hv_pipelines.core import db, migrations, posture, tls
from hv_pipelines.core.archival import Month, archive_month
from hv_pipelines.core.audit_trail import system_user_id
from hv_pipelines.core.backup import create_backup, restore_backup
from hv_pipelines.core.errors import DatabaseUnreachable
from hv_pipelines.core.keyring import generate_hex_key
from hv_pipelines.core.terminology import load_release
from tests.core.archival.audit_rows import insert_audit_rows, make_user
from tests.core.terminology.conftest import RELEASES


@pytest.fixture(scope="module")
def tls_db(tls_server) -> str:
    url = db.create_database(tls_server.url(), "holovitals")
    migrations.upgrade(url)
    return url


def _hv(*args: str, url: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hv_pipelines.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url, **env}, timeout=180)


def test_every_job_works_over_verify_full(tls_server, tls_db: str, local_store, keyring, tmp_path) -> None:
    with db.connect(tls_db) as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    assert migrations.status(tls_db).up_to_date
    seeded = _hv("seed", url=tls_db)
    assert seeded.returncode == 0, seeded.stderr
    backed_up = _hv("backup", "create", url=tls_db, ENCRYPTION_KEY=generate_hex_key(),
                    HV_OBJECT_STORE_URL=(tmp_path / "objects").as_uri())
    assert backed_up.returncode == 0, backed_up.stderr
    assert load_release(tls_db, "loinc", [RELEASES / "loinc" / "Loinc_2.77.zip"], store=local_store).counts.new == 13
    with db.connect(tls_db) as conn:
        system_user_id(conn)
    insert_audit_rows(tls_db, Month(2023, 1), 50, make_user(tls_db))
    assert archive_month(tls_db, local_store, keyring, Month(2023, 1)).rows == 50
    backup = create_backup(tls_db, local_store, keyring)  # pg_dump over the URL's TLS settings
    target = db.create_database(tls_server.url(), "restored")
    assert restore_backup(local_store, keyring, backup.manifest.backup_id, target).matches
    with db.connect(tls_db) as conn:
        findings = {f.check: f.passed for f in posture.assess(conn)}
    assert findings["server_ssl_on"] and findings["client_connections_use_tls"]


def test_tls_set_by_libpq_variables_alone_works_for_backups(tls_server, tls_db: str, local_store, keyring,
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    plain = f"postgresql://postgres@localhost:{tls_server.port}/holovitals"
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    monkeypatch.setenv("PGSSLROOTCERT", str(tls_server.ca_cert))
    monkeypatch.setenv("PGPASSFILE", str(tls_server.passfile))
    assert create_backup(plain, local_store, keyring).manifest.backup_id
    other = tls.local_ca(tmp_path / "other", ["localhost"])
    monkeypatch.setenv("PGSSLROOTCERT", str(other.ca_cert))
    with pytest.raises(DatabaseUnreachable, match="certificate verify failed.*TLS verification failed"):
        create_backup(plain, local_store, keyring)


def test_a_wrong_ca_is_refused_with_a_clear_error(tls_server, tls_db: str, tmp_path) -> None:
    other = tls.local_ca(tmp_path / "other", ["localhost"])
    url = tls_server.url("holovitals", ca=other.ca_cert)
    with pytest.raises(DatabaseUnreachable, match="certificate verify failed.*TLS verification failed: sslrootcert"):
        db.connect(url).__enter__()
    out = _hv("db", "upgrade", url=url)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "certificate verify failed" in out.stderr


def test_a_wrong_host_name_is_refused_with_a_clear_error(tls_server, tls_db: str) -> None:
    # libpq connects to 127.0.0.1 and checks the certificate (127.0.0.1, localhost) for the name in the URL.
    url = tls_server.url("holovitals", host="db.invalid", hostaddr="127.0.0.1")
    with pytest.raises(DatabaseUnreachable, match="does not match host name.*the URL's host must be a name"):
        db.connect(url).__enter__()
    out = _hv("backup", "create", url=url, ENCRYPTION_KEY="0" * 64, HV_OBJECT_STORE_URL="file:///nonexistent")
    assert out.returncode == 2 and "does not match host name" in out.stderr


def test_plain_tcp_is_refused(tls_server, tls_db: str) -> None:
    url = f"postgresql://postgres@localhost:{tls_server.port}/holovitals?sslmode=disable&passfile={tls_server.passfile}"
    with pytest.raises(DatabaseUnreachable, match="accepts TLS connections only"):
        db.connect(url).__enter__()


def test_a_client_connected_without_tls_is_a_posture_finding(tls_server, tls_db: str) -> None:
    hba = tls_server.pgdata / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(original + "host all all 127.0.0.1/32 trust\n")  # a server that also takes plain TCP
    try:
        with db.connect(tls_db, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
        plain = (f"postgresql://postgres@localhost:{tls_server.port}/holovitals?sslmode=disable"
                 f"&passfile={tls_server.passfile}")
        with db.connect(plain) as _held, db.connect(tls_db) as conn:
            finding = posture.client_tls(conn)
        assert not finding.passed
        assert finding.message.startswith("TCP connections without TLS from postgres (1): make pg_hba.conf hostssl-only")
    finally:
        hba.write_text(original)
        with db.connect(tls_db, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
