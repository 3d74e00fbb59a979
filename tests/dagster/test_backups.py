"""The backups domain in Dagster: metadata a person checks, retention after backup, the drill's check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from hv_pipelines.assets.backups import backup_restore_drill, database_backup
from hv_pipelines.core import db
from hv_pipelines.core.backup import list_backups
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.storage import LocalStore
from hv_pipelines.jobs.backups import defs
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource

SAMPLE_ROWS = Path(__file__).resolve().parents[1] / "fixtures" / "backups" / "sample_rows.sql"


@pytest.fixture
def populated_db(migrated_db: str) -> str:
    with db.connect(migrated_db) as conn:
        conn.execute(SAMPLE_ROWS.read_text())
    return migrated_db


@pytest.fixture
def setup(populated_db, tmp_path):
    key = generate_hex_key()
    resources = {"db": Database(url=populated_db), "object_store": ObjectStoreResource(url=str(tmp_path / "objects")),
                 "keys": KeyringResource(encryption_key=key)}
    return resources, LocalStore(tmp_path / "objects"), Keyring.from_hex(key)


def test_database_backup_reports_bytes_duration_checksum_and_key(setup):
    resources, store, keyring = setup
    result = dg.materialize([database_backup], resources=resources, partition_key="2025-06-01")
    assert result.success
    metadata = result.asset_materializations_for_node("database_backup")[0].metadata
    entries = list_backups(store, keyring)
    assert [e.backup_id for e in entries if e.counts] == [metadata["backup_id"].value]
    manifest = entries[0].manifest
    assert manifest.partition == "2025-06-01"
    assert metadata["bytes"].value == manifest.object_bytes > 0
    assert metadata["sha256"].value == manifest.object_sha256
    assert metadata["key_id"].value == keyring.active_key_id
    assert metadata["object_key"].value == manifest.object_key
    assert metadata["total_rows"].value == manifest.total_rows
    assert metadata["duration_s"].value > 0 and metadata["throughput_mb_s"].value >= 0
    assert metadata["retention_kept"].value == 1 and metadata["retention_deleted"].value == 0
    shown = " ".join(str(v.value) for v in metadata.values())
    assert resources["keys"].encryption_key not in shown and "example.test" not in shown


def test_restore_drill_records_a_passing_check(setup):
    resources, _, _ = setup
    assert dg.materialize([database_backup], resources=resources, partition_key="2025-06-01").success
    result = dg.materialize([backup_restore_drill], resources=resources)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("restore_matches_manifest", True)]
    metadata = result.asset_materializations_for_node("backup_restore_drill")[0].metadata
    assert metadata["passed"].value is True and metadata["total_rows"].value > 500


def test_a_drill_that_finds_differences_fails_the_run(setup):
    """A real difference: the manifest (authentic, sealed with the key) claims one user more than the archive holds."""
    import dataclasses

    from hv_pipelines.core.backup import layout

    resources, store, keyring = setup
    assert dg.materialize([database_backup], resources=resources, partition_key="2025-06-01").success
    manifest = list_backups(store, keyring)[0].manifest
    claims = dataclasses.replace(manifest, table_rows={**manifest.table_rows, "public.users": 121})
    store.put_bytes(layout.manifest_key(manifest.database, manifest.backup_id), claims.seal(keyring))

    result = dg.materialize([backup_restore_drill], resources=resources, raise_on_error=False)
    assert not result.success
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("restore_matches_manifest", False)]
    assert "public.users: 120 rows, manifest 121" in checks[0].metadata["mismatches"].value


def test_nightly_backup_job_is_exclusive_and_scheduled_at_two_utc():
    resources = {"db": Database(url="postgresql://unused/db"), "object_store": ObjectStoreResource(url="/unused"),
                 "keys": KeyringResource(encryption_key=generate_hex_key())}
    merged = dg.Definitions.merge(defs, dg.Definitions(resources=resources))
    assert merged.resolve_job_def("nightly_backup").tags["hv/exclusive"] == "database"
    assert merged.resolve_job_def("restore_drill").tags["hv/exclusive"] == "database"
    schedule = merged.resolve_schedule_def("nightly_backup_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    drill = merged.resolve_schedule_def("restore_drill_schedule")
    assert drill.cron_schedule == "0 4 * * 0" and drill.job_name == "restore_drill"


def test_asset_graph_contract():
    specs = {spec.key.to_user_string(): spec for asset in (database_backup, backup_restore_drill)
             for spec in asset.specs}
    assert specs["database_backup"].group_name == specs["backup_restore_drill"].group_name == "backups"
    assert dg.AssetKey("database_schema") in {d.asset_key for d in specs["database_backup"].deps}
    assert dg.AssetKey("database_backup") in {d.asset_key for d in specs["backup_restore_drill"].deps}
