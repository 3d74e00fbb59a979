"""Backups round-trip: backup → restore into a new database → identical catalog and row counts."""

from __future__ import annotations

import json

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.backup import (
    BackupNotFound,
    TargetNotEmpty,
    catalog,
    create_backup,
    layout,
    list_backups,
    restore_backup,
    run_restore_drill,
    verify_backup,
)
from hv_pipelines.core.keyring import Keyring, generate_hex_key


def audit_actions(url: str) -> list[tuple[str, str]]:
    with db.connect(url) as conn:
        return conn.execute("SELECT action, resource_id FROM audit_logs WHERE user_agent = 'hv_pipelines' "
                            "ORDER BY created_at").fetchall()


def snapshot_of(url: str) -> tuple[dict[str, int], str, str | None]:
    with db.connect(url) as conn:
        return catalog.row_counts(conn), catalog.schema_fingerprint(conn), catalog.alembic_revision(conn)


def test_round_trip_restores_identical_catalog_and_row_counts(populated_db, empty_db, any_store, keyring):
    before = snapshot_of(populated_db)
    result = create_backup(populated_db, any_store, keyring, chunk_size=4096)
    manifest = result.manifest

    assert manifest.table_rows == before[0]
    assert manifest.table_rows["public.customers"] == 120
    assert manifest.schema_fingerprint == before[1]
    assert manifest.alembic_revision == before[2] is not None
    assert manifest.key_id == keyring.active_key_id
    assert manifest.object_key == layout.dump_key(db.database_name(populated_db), manifest.backup_id)
    assert any_store.head(manifest.object_key).size == manifest.object_bytes

    restored = restore_backup(any_store, keyring, manifest.backup_id, empty_db)
    assert restored.matches, restored.mismatches
    after = snapshot_of(empty_db)
    assert after[1:] == before[1:]
    # The restore's own audit entry (and the system user it needs) arrive after the comparison.
    assert {t: n for t, n in after[0].items() if t not in ("public.audit_logs", "public.users")} == \
        {t: n for t, n in before[0].items() if t not in ("public.audit_logs", "public.users")}
    with db.connect(empty_db) as conn:
        emails = conn.execute("SELECT count(*) FROM users WHERE email LIKE 'person%%@example.test'").fetchone()[0]
    assert emails == 120

    assert ("BACKUP_CREATED", manifest.backup_id) in audit_actions(populated_db)
    assert ("BACKUP_RESTORED", manifest.backup_id) in audit_actions(empty_db)


def test_stored_objects_hold_no_plaintext(module_backup):
    result, local_store = module_backup
    manifest = result.manifest
    stored = {path.name: path.read_bytes() for path in local_store.root.rglob("*") if path.is_file()}
    assert sorted(stored) == [f"{manifest.backup_id}.dump.enc", f"{manifest.backup_id}.manifest.json"]
    for blob in stored.values():
        assert b"example.test" not in blob and b"PGDMP" not in blob and b"First1" not in blob
    sealed = json.loads(stored[f"{manifest.backup_id}.manifest.json"])
    assert sealed["object_sha256"] == manifest.object_sha256 and sealed["mac"]


def test_metadata_reports_sizes_checksum_and_key_but_no_secret(module_backup, module_keyring):
    result, _ = module_backup
    keyring = module_keyring
    metadata = result.as_metadata()
    assert metadata["bytes"] > 0 and metadata["dump_bytes"] > metadata["bytes"]
    assert metadata["total_rows"] == 120 + 120 + 300 + 40 + 1  # + alembic_version
    assert len(metadata["sha256"]) == 64 and metadata["key_id"].startswith("hv1:")
    flat = json.dumps(metadata, default=str)
    assert keyring.active.secret.hex() not in flat and "password" not in flat


def test_manifest_records_each_stages_cpu_seconds(module_backup):
    durations = module_backup[0].manifest.durations
    stages = {"cpu_compress_s", "cpu_encrypt_s", "cpu_upload_s", "cpu_pg_dump_s",
              "cpu_verify_decrypt_s", "cpu_verify_decompress_s"}
    assert stages <= set(durations), "every stage of the pipeline is profiled"
    assert all(durations[stage] >= 0 for stage in stages)
    # pg_dump of this small database can take less than a clock tick (10 ms) of CPU, so 0.0 is a true
    # reading here; that the tool's own CPU is read at all is test_stream_stages' busy-vs-sleeping test.
    assert sum(durations[stage] for stage in stages) < durations["total_s"] * 2, "CPU of 2 cores at most"


def test_verify_reads_every_chunk_back(module_backup, module_keyring):
    result, local_store = module_backup
    manifest, keyring = result.manifest, module_keyring
    assert verify_backup(local_store, keyring, manifest.backup_id) == manifest
    assert [e.backup_id for e in list_backups(local_store, keyring) if e.counts] == [manifest.backup_id]


def test_non_empty_target_is_refused_without_force(module_backup, module_keyring, other_migrated_db):
    result, local_store = module_backup
    manifest, keyring = result.manifest, module_keyring
    with pytest.raises(TargetNotEmpty, match="not empty.*--force"):
        restore_backup(local_store, keyring, manifest.backup_id, other_migrated_db)
    with db.connect(other_migrated_db) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 0

    restored = restore_backup(local_store, keyring, manifest.backup_id, other_migrated_db, force=True)
    assert restored.matches, restored.mismatches
    assert restored.table_rows["public.customers"] == 120


def test_retired_key_still_restores_an_old_backup(populated_db, empty_db, local_store):
    old_hex, new_hex = generate_hex_key(), generate_hex_key()
    old_backup = create_backup(populated_db, local_store, Keyring.from_hex(old_hex)).manifest

    rotated = Keyring.from_hex(new_hex, [old_hex])
    new_backup = create_backup(populated_db, local_store, rotated).manifest
    assert new_backup.key_id == rotated.active_key_id != old_backup.key_id

    assert verify_backup(local_store, rotated, old_backup.backup_id) == old_backup
    restored = restore_backup(local_store, rotated, old_backup.backup_id, empty_db)
    assert restored.matches and restored.table_rows["public.users"] == 120


def test_restore_drill_restores_latest_into_scratch_and_drops_it(populated_db, pg_server_url, local_store,
                                                                 keyring):
    create_backup(populated_db, local_store, keyring)
    latest = create_backup(populated_db, local_store, keyring).manifest

    drill = run_restore_drill(populated_db, local_store, keyring)

    assert drill.passed and drill.backup_id == latest.backup_id
    assert drill.restore.table_rows == latest.table_rows
    with db.connect(db.with_database(pg_server_url, "postgres")) as conn:
        leftovers = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'hv_drill_%%'").fetchone()[0]
    assert leftovers == 0
    assert ("BACKUP_RESTORE_DRILL", latest.backup_id) in audit_actions(populated_db)


def test_drill_without_any_backup_says_to_create_one(empty_db, local_store, keyring):
    with pytest.raises(BackupNotFound, match="hv backup create"):
        run_restore_drill(empty_db, local_store, keyring)
