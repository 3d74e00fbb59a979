"""The compliance assets, job and schedule, run by Dagster against real PostgreSQL and a local store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from hv_pipelines.assets.compliance import archive_retention_purge, audit_log_archive, audit_log_partitions
from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import partitions
from hv_pipelines.core.keyring import generate_hex_key
from hv_pipelines.jobs.compliance import defs, monthly_audit_archive, monthly_audit_archive_schedule
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource
from tests.core.archival.audit_rows import count_rows, insert_audit_rows, make_user


@pytest.fixture
def resources(migrated_db: str, tmp_path: Path) -> dict:
    return {"db": Database(url=migrated_db), "object_store": ObjectStoreResource(url=(tmp_path / "objects").as_uri()),
            "keys": KeyringResource(encryption_key=generate_hex_key())}


def _metadata(result: dg.ExecuteInProcessResult, node: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def test_archiving_a_partition_reports_what_an_operator_checks(migrated_db: str, resources: dict) -> None:
    user = make_user(migrated_db)
    month = archival.Month(2023, 4)
    insert_audit_rows(migrated_db, month, 400, user)

    result = dg.materialize([audit_log_archive], partition_key="2023-04-01", resources=resources)

    meta = _metadata(result, "audit_log_archive")
    assert meta["status"] == "archived" and meta["rows"] == 400 and meta["parts"] == 1
    assert meta["archive_bytes"] > 0 and meta["compression_ratio"] > 1 and meta["rows_per_second"] > 0
    assert "audit-archive/2023-04/00000001-" in meta["object_keys"] and meta["duration_seconds"] > 0
    assert meta["vacuum_index_cleanup"] is False
    assert count_rows(migrated_db, month) == 0

    again = dg.materialize([audit_log_archive], partition_key="2023-04-01", resources=resources)
    meta = _metadata(again, "audit_log_archive")
    assert meta["status"] == "nothing_to_archive" and meta["rows"] == 0 and meta["parts"] == 0

    insert_audit_rows(migrated_db, month, 3, user, start=400)
    config = {"ops": {"audit_log_archive": {"config": {"index_cleanup": True}}}}
    late = dg.materialize([audit_log_archive], partition_key="2023-04-01", resources=resources, run_config=config)
    meta = _metadata(late, "audit_log_archive")
    assert (meta["kind"], meta["rows"], meta["vacuum_index_cleanup"]) == ("supplementary", 3, True)


def test_purge_asset_reports_purged_and_locked(migrated_db: str, resources: dict) -> None:
    user = make_user(migrated_db)
    insert_audit_rows(migrated_db, archival.Month(2015, 3), 10, user)
    dg.materialize([audit_log_archive], partition_key="2015-03-01", resources=resources)

    result = dg.materialize([archive_retention_purge], resources=resources)

    meta = _metadata(result, "archive_retention_purge")
    assert (meta["archives_purged"], meta["rows_purged"], meta["still_locked"]) == (1, 10, 0)
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log_archives").fetchone()[0] == 0


def test_schedule_requests_every_month_older_than_the_policy(migrated_db: str) -> None:
    user = make_user(migrated_db)
    for month in (archival.Month(2014, 6), archival.Month(2024, 1), archival.Month(2025, 11),
                  archival.Month(2026, 5)):
        insert_audit_rows(migrated_db, month, 2, user)
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 1, 3, tzinfo=UTC),
                                        resources={"db": Database(url=migrated_db)})

    requests = monthly_audit_archive_schedule(context)

    # 2025-11 ended exactly 365 days before the tick: due; 2026-05 is too young; 2014-06 predates the
    # partitions and is left to the CLI.
    assert [r.partition_key for r in requests] == ["2024-01-01", "2025-11-01"]
    assert all(r.run_key.endswith("2026-12") for r in requests)


def test_schedule_skips_when_nothing_is_due(migrated_db: str) -> None:
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 1, 3, tzinfo=UTC),
                                        resources={"db": Database(url=migrated_db)})
    assert isinstance(monthly_audit_archive_schedule(context), dg.SkipReason)


def test_compliance_definitions_load() -> None:
    repo = dg.Definitions.merge(defs, dg.Definitions(resources={
        "db": Database(url="postgresql://u@127.0.0.1/db"), "object_store": ObjectStoreResource(url="file:///tmp/x"),
        "keys": KeyringResource(encryption_key="0" * 64)})).get_repository_def()
    job = repo.get_job("monthly_audit_archive")
    assert job.partitions_def.get_partition_keys(datetime(2015, 3, 5, tzinfo=UTC)) == ["2015-01-01", "2015-02-01"]
    schedule = repo.get_schedule_def("monthly_audit_archive_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 1 * *", "UTC")
    assert monthly_audit_archive.tags["hv/exclusive"] == "database"
    assert {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()} >= {"audit_log_archive",
                                                                                   "archive_retention_purge"}


def test_the_partitions_asset_creates_months_ahead_and_the_archive_drops_the_month(migrated_db: str,
                                                                                    resources: dict) -> None:
    month = archival.Month(2025, 8)
    insert_audit_rows(migrated_db, month, 40, make_user(migrated_db))
    result = dg.materialize([audit_log_partitions], resources={"db": resources["db"]})
    assert _metadata(result, "audit_log_partitions") == {"partitioned": False, "partitions_created": 0}

    partitions.enable(migrated_db, months_ahead=0)
    with db.connect(migrated_db) as conn:
        conn.execute(f"DROP TABLE audit_logs_y{datetime.now(UTC):%Ym%m}")  # this month's partition missing

    result = dg.materialize([audit_log_partitions], resources={"db": resources["db"]})
    assert _metadata(result, "audit_log_partitions") == {"partitioned": True, "partitions_created": 4}

    archived = dg.materialize([audit_log_archive], partition_key="2025-08-01", resources=resources)
    meta = _metadata(archived, "audit_log_archive")
    assert (meta["rows"], meta["dropped_partition"]) == (40, "audit_logs_y2025m08")
    assert "seconds_vacuum" not in meta and count_rows(migrated_db, month) == 0
