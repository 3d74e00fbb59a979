"""The security posture on a server of its own, seeded with each misconfiguration the checks must catch."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core import audit_logging, db, migrations, posture
from hv_pipelines.core.backup import create_backup
from hv_pipelines.core.embedded_server import pg_bin_dir
from hv_pipelines.core.pitr.cluster import Cluster, scratch_dir


@pytest.fixture(scope="module")
def posture_db(own_pg_server: str) -> str:
    url = db.create_database(own_pg_server, "holovitals")
    migrations.upgrade(url)
    with db.connect(url, autocommit=True) as conn:
        audit_logging.apply(conn, audit_logging.recommend(conn))
    return url


def _findings(url: str) -> dict[str, posture.Finding]:
    with db.connect(url) as conn:
        return {f.check: f for f in posture.assess(conn)}


def _failed(url: str) -> set[str]:
    return {name for name, f in _findings(url).items() if not f.passed}


def _server(url: str, *statements: str) -> None:
    with db.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.execute("SELECT pg_reload_conf()")


def test_a_migrated_embedded_server_with_audit_logging_passes_every_check(posture_db: str) -> None:
    findings = _findings(posture_db)
    # The embedded server: TLS only, SCRAM, data checksums (core/embedded_server.py).
    assert _failed(posture_db) == set()
    store_checks = {"backup_fresh_and_encrypted", "master_key_within_rotation"}
    assert [c.name for c in posture.CHECKS if c.name not in store_checks] == list(findings)


def test_ssl_turned_off_is_found(posture_db: str) -> None:
    # A server with ssl off accepts no new connection here (hostssl only): this one was opened before.
    with db.connect(posture_db, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET ssl = off")
        conn.execute("SELECT pg_reload_conf()")
        try:
            deadline = time.monotonic() + 10
            while audit_logging.setting(conn, "ssl") != "off":
                assert time.monotonic() < deadline, "the reload never reached this session"
                time.sleep(0.05)
            finding = posture.server_ssl(conn)
        finally:
            conn.execute("ALTER SYSTEM RESET ssl")
            conn.execute("SELECT pg_reload_conf()")
    assert not finding.passed and "ssl is off: set ssl = on" in finding.message
    assert "server_ssl_on" not in _failed(posture_db)


def test_a_cluster_without_data_checksums_is_found() -> None:
    cluster = Cluster(scratch_dir("hvpg-posture-") / "data", pg_bin_dir())  # initdb without --data-checksums
    cluster.initdb()
    cluster.start()
    try:
        with db.connect(cluster.url()) as conn:
            finding = posture.checksums(conn)
    finally:
        cluster.stop("immediate")
        shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)
    assert not finding.passed and "pg_checksums --enable" in finding.message


def test_a_superuser_login_in_the_app_role_is_found(posture_db: str) -> None:
    _server(posture_db, "CREATE ROLE rogue_app LOGIN SUPERUSER IN ROLE hv_app")
    try:
        finding = _findings(posture_db)["pipeline_roles_unprivileged"]
        assert not finding.passed and finding.message == "rogue_app is SUPERUSER: ALTER ROLE rogue_app NOSUPERUSER"
        _server(posture_db, "ALTER ROLE hv_terminology BYPASSRLS CREATEROLE")
        assert "hv_terminology is BYPASSRLS and CREATEROLE: ALTER ROLE hv_terminology NOBYPASSRLS NOCREATEROLE" in \
            _findings(posture_db)["pipeline_roles_unprivileged"].message
    finally:
        _server(posture_db, "DROP ROLE rogue_app", "ALTER ROLE hv_terminology NOBYPASSRLS NOCREATEROLE")
    assert "pipeline_roles_unprivileged" not in _failed(posture_db)


def test_md5_hashing_and_an_md5_password_are_found(posture_db: str) -> None:
    _server(posture_db, "ALTER SYSTEM SET password_encryption = 'md5'")
    with db.connect(posture_db) as conn:
        conn.execute("SET password_encryption = 'md5'")
        conn.execute("CREATE ROLE legacy_login LOGIN PASSWORD 'from-2015'")
    try:
        findings = _findings(posture_db)
        assert findings["password_encryption_scram"].message.startswith("password_encryption is md5: ALTER SYSTEM")
        assert findings["no_md5_password_hashes"].message.startswith("md5 password hashes for legacy_login:")
    finally:
        _server(posture_db, "ALTER SYSTEM RESET password_encryption", "DROP ROLE legacy_login")
    assert not {"password_encryption_scram", "no_md5_password_hashes"} & _failed(posture_db)


def test_logging_turned_off_is_found(posture_db: str) -> None:
    _server(posture_db, "ALTER SYSTEM SET log_connections = off", "ALTER SYSTEM SET log_statement = 'none'")
    try:
        message = _findings(posture_db)["audit_logging_on"].message
        assert "log_connections is off" in message and "DDL is not logged" in message
        assert "log_disconnections" not in message
    finally:
        with db.connect(posture_db, autocommit=True) as conn:
            audit_logging.apply(conn, audit_logging.recommend(conn))
    assert "audit_logging_on" not in _failed(posture_db)


def test_a_stray_grant_and_an_open_public_schema_are_found(posture_db: str) -> None:
    _server(posture_db, "GRANT SELECT ON customers TO hv_terminology", "GRANT CREATE ON SCHEMA public TO PUBLIC")
    try:
        findings = _findings(posture_db)
        assert findings["grants_as_migrated"].message == (
            "hv_terminology has SELECT on customers, which the matrix (schema/access.py) does not grant: "
            'REVOKE SELECT ON "customers" FROM hv_terminology')
        assert not findings["public_schema_hardened"].passed
    finally:
        _server(posture_db, "REVOKE SELECT ON customers FROM hv_terminology", "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    assert not {"grants_as_migrated", "public_schema_hardened"} & _failed(posture_db)


def test_backup_freshness_and_key_age_come_from_the_verified_backups(migrated_db: str, local_store, keyring) -> None:
    database, year = db.database_name(migrated_db), timedelta(days=365)
    missing, no_key_use = posture.store_findings(local_store, keyring, database, year)
    assert not missing.passed and "no verified backup" in missing.message and no_key_use.passed
    create_backup(migrated_db, local_store, keyring)
    assert all(f.passed for f in posture.store_findings(local_store, keyring, database, year))
    later = datetime.now(UTC) + timedelta(days=400)
    stale, old_key = posture.store_findings(local_store, keyring, database, year, now=later)
    assert not stale.passed and "h old (limit 26 h)" in stale.message
    assert not old_key.passed and f"the master key {keyring.active_key_id} has sealed backups for 400 days" in \
        old_key.message and "rotate it" in old_key.message
    assert posture.store_findings(local_store, keyring, database, timedelta(days=500), now=later)[1].passed


def test_the_rotation_period_comes_from_the_security_configuration(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        assert posture.key_rotation(conn) == posture.DEFAULT_KEY_ROTATION
        conn.execute("""INSERT INTO security_configurations (id, key, category, value, "valueType", "updatedAt")
                        VALUES ('k', 'encryptionKeyRotationDays', 'encryption', '90', 'number', now())""")
        assert posture.key_rotation(conn) == timedelta(days=90)
