"""The pieces under a backup: tool choice by server version, object keys, the sealed manifest."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hv_pipelines.core.backup import Manifest, layout, tools
from hv_pipelines.core.errors import ConfigurationError, IntegrityError
from hv_pipelines.core.keyring import Keyring, generate_hex_key


def test_pg_dump_matching_the_test_server_is_found(pg_server_url):
    from hv_pipelines.core import db

    major = tools.server_major(db.server_version(pg_server_url))
    tool = tools.find_tool("pg_dump", major)
    assert tool.major == major and tool.path.name == "pg_dump"


@pytest.mark.skipif(not Path("/usr/lib/postgresql/15/bin/pg_dump").exists(), reason="no Debian PostgreSQL 15")
def test_debian_pg_dump_is_chosen_for_a_15_server():
    assert tools.find_tool("pg_dump", 15).path == Path("/usr/lib/postgresql/15/bin/pg_dump").resolve()


def test_a_server_newer_than_every_client_says_what_to_install():
    with pytest.raises(ConfigurationError, match="postgresql-client-99 or set HV_PG_BIN"):
        tools.find_tool("pg_dump", 99)


@pytest.mark.parametrize("version, major", [("16.4", 16), ("15.18 (Debian 15.18-0+deb12u1)", 15), ("17beta1", 17)])
def test_server_major(version, major):
    assert tools.server_major(version) == major


def test_password_goes_to_the_environment_not_the_command_line():
    conninfo, env = tools.client_connection("postgresql://app:s3cret@db.internal:5433/holovitals?schema=public")
    assert "s3cret" not in conninfo and "schema" not in conninfo
    assert "dbname=holovitals" in conninfo and "port=5433" in conninfo
    assert env["PGPASSWORD"] == "s3cret"


def test_a_client_tool_gets_libpq_and_runtime_variables_and_no_other_secret(monkeypatch):
    url = "postgresql://app:s3cret@db.internal/holovitals?sslmode=verify-full"
    for name, value in {"ENCRYPTION_KEY": "ab" * 32, "DATABASE_URL": url, "AWS_SECRET_ACCESS_KEY": "aws-secret",
                        "PGSSLROOTCERT": "/etc/ssl/db-ca.pem", "PGSSLCERT": "/etc/ssl/client.crt",
                        "PGSSLKEY": "/etc/ssl/client.key", "LC_ALL": "C.UTF-8"}.items():
        monkeypatch.setenv(name, value)
    conninfo, env = tools.client_connection(url)
    assert "sslmode=verify-full" in conninfo
    assert env["PGSSLROOTCERT"] == "/etc/ssl/db-ca.pem" and env["PGSSLKEY"] == "/etc/ssl/client.key"
    assert env["LC_ALL"] == "C.UTF-8" and env["PATH"] and env["PGPASSWORD"] == "s3cret"
    assert not {"ENCRYPTION_KEY", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY"} & set(env)


def test_without_a_password_in_the_url_the_child_uses_ours(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "from-env")
    assert tools.client_connection("postgresql://app@db.internal/holovitals")[1]["PGPASSWORD"] == "from-env"


def test_object_keys_round_trip():
    backup_id = layout.new_backup_id(datetime(2025, 1, 2, 2, 0, 5, tzinfo=UTC))
    assert backup_id.startswith("20250102T020005Z-")
    key = layout.dump_key("holovitals", backup_id)
    assert key == f"backups/holovitals/2025/01/02/{backup_id}.dump.enc"
    assert layout.parse_key(key) == ("holovitals", backup_id, layout.DUMP_SUFFIX)
    assert layout.parse_key("backups/holovitals/2025/01/02/notes.txt") is None


def test_a_malformed_backup_id_points_to_the_listing():
    with pytest.raises(ConfigurationError, match="hv backup list"):
        layout.started_at("../../etc/passwd")


def sample_manifest() -> Manifest:
    now = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)
    backup_id = layout.new_backup_id(now)
    return Manifest(
        backup_id=backup_id, database="holovitals", created_at=now, completed_at=now,
        object_key=layout.dump_key("holovitals", backup_id), object_bytes=10, object_sha256="ab" * 32, dump_bytes=30,
        compressed_bytes=9, chunk_size=1024, key_id="hv1:x", header_sha256="ef" * 32, data_key_id="01" * 8,
        nonce_prefix="02" * 7, pg_dump_version="16.2", server_version="16.2", alembic_revision="0001",
        schema_fingerprint="cd" * 32, table_rows={"public.users": 3}, durations={"total_s": 1.5}, verified_at=now)


def own_key(manifest: Manifest) -> str:
    return layout.manifest_key(manifest.database, manifest.backup_id)


def test_manifest_round_trips_under_its_mac(keyring):
    manifest = sample_manifest()
    assert Manifest.open(manifest.seal(keyring), keyring, key=own_key(manifest)) == manifest


def test_an_edited_manifest_fails_authentication(keyring):
    sealed = sample_manifest().seal(keyring).replace(b'"public.users": 3', b'"public.users": 4')
    with pytest.raises(IntegrityError, match="authentication failed"):
        Manifest.open(sealed, keyring, key="m.json")


def test_an_authentic_manifest_read_from_another_backups_key_is_refused(keyring):
    a, b = sample_manifest(), sample_manifest()
    with pytest.raises(IntegrityError, match=f"manifest of backup {a.backup_id} .*copied here: it says nothing "
                                             "about this backup; restore from another backup$"):
        Manifest.open(a.seal(keyring), keyring, key=own_key(b))


def test_a_manifest_naming_another_backups_object_is_refused(keyring):
    """Sealed by the key holder, but its object key is not its own backup's: nothing may follow it."""
    a, b = sample_manifest(), sample_manifest()
    crossed = dataclasses.replace(a, object_key=b.object_key)
    with pytest.raises(IntegrityError, match="copied here"):
        Manifest.open(crossed.seal(keyring), keyring, key=own_key(a))


def test_a_manifest_of_the_old_unbound_format_is_refused_with_what_to_do(keyring):
    manifest = sample_manifest()
    body = json.loads(manifest.seal(keyring))
    body["format"] = "hv-backup-manifest/1"
    body.pop("mac")
    body["mac"] = keyring.mac(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    with pytest.raises(IntegrityError, match="old format 'hv-backup-manifest/1', which does not bind it to its backup: "
                                             "this release refuses it; take a new backup \\(the old one restores "
                                             "only with the release that wrote it\\)$"):
        Manifest.open(json.dumps(body).encode(), keyring, key=own_key(manifest))


def test_a_manifest_sealed_before_rotation_opens_with_the_retired_key():
    old_hex, manifest = generate_hex_key(), sample_manifest()
    sealed = manifest.seal(Keyring.from_hex(old_hex))
    assert Manifest.open(sealed, Keyring.from_hex(generate_hex_key(), [old_hex]), key=own_key(manifest)) == manifest
    with pytest.raises(IntegrityError, match="not in the keyring"):
        Manifest.open(sealed, Keyring.from_hex(generate_hex_key()), key=own_key(manifest))


def test_something_that_is_not_a_manifest_is_refused(keyring):
    with pytest.raises(IntegrityError, match="^manifest m.json is not a backup manifest: it was damaged or replaced; "
                                             "restore from another backup$"):
        Manifest.open(b"<html>", keyring, key="m.json")


def test_a_manifest_of_a_newer_format_is_refused_naming_both_formats(keyring):
    """Authentic (the key holder sealed it, with a newer release): this release cannot tell what it binds."""
    manifest = dataclasses.replace(sample_manifest(), format="hv-backup-manifest/3")
    with pytest.raises(IntegrityError, match=f"^manifest {own_key(manifest)} has format 'hv-backup-manifest/3'; "
                                             "this release reads hv-backup-manifest/2: upgrade hv_pipelines$"):
        Manifest.open(manifest.seal(keyring), keyring, key=own_key(manifest))


def test_an_authentic_manifest_naming_no_valid_backup_id_is_refused(keyring):
    manifest = sample_manifest()
    forged = dataclasses.replace(manifest, backup_id="../../other")
    with pytest.raises(IntegrityError, match=f"^manifest {own_key(manifest)} names no valid backup id and database$"):
        Manifest.open(forged.seal(keyring), keyring, key=own_key(manifest))
