"""The pieces under a backup: tool choice by server version, object keys, the sealed manifest."""

from __future__ import annotations

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
    return Manifest(
        backup_id=layout.new_backup_id(now), database="holovitals", created_at=now, completed_at=now,
        object_key="k", object_bytes=10, object_sha256="ab" * 32, dump_bytes=30, compressed_bytes=9,
        chunk_size=1024, key_id="hv1:x", pg_dump_version="16.2", server_version="16.2", alembic_revision="0001",
        schema_fingerprint="cd" * 32, table_rows={"public.users": 3}, durations={"total_s": 1.5}, verified_at=now)


def test_manifest_round_trips_under_its_mac(keyring):
    manifest = sample_manifest()
    assert Manifest.open(manifest.seal(keyring), keyring) == manifest


def test_an_edited_manifest_fails_authentication(keyring):
    sealed = sample_manifest().seal(keyring).replace(b'"public.users": 3', b'"public.users": 4')
    with pytest.raises(IntegrityError, match="authentication failed"):
        Manifest.open(sealed, keyring, key="m.json")


def test_a_manifest_sealed_before_rotation_opens_with_the_retired_key():
    old_hex, manifest = generate_hex_key(), sample_manifest()
    sealed = manifest.seal(Keyring.from_hex(old_hex))
    assert Manifest.open(sealed, Keyring.from_hex(generate_hex_key(), [old_hex])) == manifest
    with pytest.raises(IntegrityError, match="not in the keyring"):
        Manifest.open(sealed, Keyring.from_hex(generate_hex_key()))


def test_something_that_is_not_a_manifest_is_refused(keyring):
    with pytest.raises(IntegrityError, match="not a backup manifest"):
        Manifest.open(b"<html>", keyring, key="m.json")
