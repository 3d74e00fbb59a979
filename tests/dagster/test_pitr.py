"""PITR in Dagster: the base backup's metadata, the drill's blocking check, the WAL archive's health check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from hv_pipelines.assets.pitr import base_backup, pitr_drill, wal_archive_healthy
from hv_pipelines.core import db
from hv_pipelines.core.pitr.inventory import read_state
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource
from tests.core.pitr.conftest import (  # noqa: F401 - fixtures
    cluster_template,
    local_archive,
    scratch,
    start_archiving_cluster,
)
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def running(scratch, local_archive, cluster_template):  # noqa: F811
    cluster = start_archiving_cluster(scratch, local_archive, cluster_template)
    resources = {"db": Database(url=cluster.url()), "object_store": ObjectStoreResource(url=local_archive.store.url),
                 "keys": KeyringResource(encryption_key=local_archive.key_hex)}
    yield cluster, resources
    cluster.stop("immediate")


def test_base_backup_then_drill_reaches_its_target_and_the_archive_is_healthy(running, local_archive):  # noqa: F811
    cluster, resources = running
    result = dg.materialize([base_backup, pitr_drill, wal_archive_healthy], resources=resources)
    assert result.success
    metadata = result.asset_materializations_for_node("base_backup")[0].metadata
    state = read_state(local_archive.store, local_archive.keyring, metadata["system_identifier"].value)
    assert [b.backup_id for b in state.backups] == [metadata["backup_id"].value]
    assert metadata["bytes"].value == state.backups[0].object_bytes and metadata["timeline"].value == 1
    assert local_archive.key_hex not in " ".join(str(v.value) for v in metadata.values())

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["pitr_reaches_target"].passed
    assert checks["pitr_reaches_target"].metadata["second_marker_absent"].value is True
    drill = result.asset_materializations_for_node("pitr_drill")[0].metadata
    assert drill["passed"].value is True and drill["rto_s"].value > 0
    assert 0 <= drill["newest_point_age_s"].value < 120
    assert checks["wal_archive_healthy"].passed


def test_the_health_check_fails_when_the_newest_segment_is_too_old(running, migrated_db, monkeypatch):
    cluster, resources = running
    assert dg.materialize([base_backup], resources=resources).success
    with webhook_receiver() as hook:
        monkeypatch.setenv("HV_ALERT_WEBHOOK_URL", hook.url)
        result = dg.materialize([base_backup, wal_archive_healthy],
                                resources={**resources, "db": Database(url=migrated_db)},
                                selection=dg.AssetSelection.checks(wal_archive_healthy),
                            run_config={"ops": {"base_backup_wal_archive_healthy": {
                                    "config": {"max_segment_age_s": 0}}}})
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert "archiving has stopped" in evaluation.metadata["reasons"].value
    with db.connect(migrated_db) as conn:
        rows = conn.execute("SELECT type, title, message FROM system_notifications").fetchall()
    assert len(rows) == 1
    kind, title, message = rows[0]
    assert kind == "WAL_ARCHIVE_UNHEALTHY" and title.startswith("WAL archive unhealthy")
    assert "archiving has stopped" in message and "`hv pitr status`" in message and "Pipeline run" not in title
    assert [body["check"] for body in hook.received] == ["wal_archive_healthy"]


def test_the_health_check_fails_cleanly_on_an_empty_archive(running):
    cluster, resources = running
    empty = {**resources, "object_store": ObjectStoreResource(url=str(Path(cluster.data_dir).parent / "empty"))}
    result = dg.materialize([base_backup, wal_archive_healthy], resources=empty,
                            selection=dg.AssetSelection.checks(wal_archive_healthy))
    assert result.success
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed and "holds no WAL archive" in evaluation.metadata["reasons"].value
