"""Every sensor and schedule of the code location against a real, never-migrated database (what a fresh
`make dev` starts with, until its first migrate_and_seed): no tick fails, and those that read the
application's tables skip saying what to do."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import psycopg
import pytest

from hv_pipelines.core import db, migrations
from hv_pipelines.definitions import defs
from hv_pipelines.jobs.compliance import monthly_audit_archive_schedule
from hv_pipelines.jobs.ehr import ehr_connections_due
from hv_pipelines.resources import Database

NOT_MIGRATED = "the database is not migrated yet: run migrate_and_seed"
# What each sensor and schedule does on a fresh database. The schema sensor is the one that migrates
# it; the terminology sensor finds no landing location configured here (releases landed before the
# first migration wait for it: test_terminology.py); run_failure_alerts needs a failed run and is
# tested in test_operations.py.
EXPECTED = {
    "ehr_connections_due": NOT_MIGRATED,
    "schema_sensor": "run",
    "terminology_release_sensor": "HV_TERMINOLOGY_LANDING is not set: nothing to watch",
    "standardization_inputs_changed": NOT_MIGRATED,
    "monthly_audit_archive_schedule": NOT_MIGRATED,
    "audit_archive_purge_schedule": NOT_MIGRATED,
    "audit_log_partitions_schedule": NOT_MIGRATED,
    "nightly_backup_schedule": NOT_MIGRATED,
    "quarterly_slow_query_review_schedule": NOT_MIGRATED,
    "restore_drill_schedule": NOT_MIGRATED,
    "weekly_health_and_security_review": NOT_MIGRATED,
    "yearly_retention_review_schedule": NOT_MIGRATED,
    "terminology_coverage_report_schedule": NOT_MIGRATED,
    # The server's configuration and its physical backups and WAL, which need no migration:
    "weekly_security_posture": "run",
    "weekly_base_backup_schedule": "run",
    "wal_archive_health_schedule": "run",
    "weekly_pitr_drill_schedule": "run",
    "posture_after_migration": "No new materialization events found for asset key AssetKey(['database_schema'])",
}
TICK = datetime(2026, 12, 1, 3, tzinfo=UTC)


def _outcome(run_requests, skip_message) -> str:
    return "run" if run_requests else skip_message


def test_every_sensor_and_schedule_is_checked_here():
    repository = defs.get_repository_def()
    names = {s.name for s in repository.sensor_defs} | {s.name for s in repository.schedule_defs}
    assert names - {"run_failure_alerts"} == set(EXPECTED)


def test_no_tick_fails_on_a_fresh_database(empty_db: str, monkeypatch) -> None:
    monkeypatch.delenv("HV_TERMINOLOGY_LANDING", raising=False)
    monkeypatch.delenv("HV_ENV", raising=False)
    repository = defs.get_repository_def()
    resources = {"db": Database(url=empty_db)}
    outcomes = {}
    with dg.instance_for_test() as instance:
        for sensor in repository.sensor_defs:
            if isinstance(sensor, dg.RunStatusSensorDefinition):
                continue
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                data = sensor.evaluate_tick(context)
            outcomes[sensor.name] = _outcome(data.run_requests, data.skip_message)
        for schedule in repository.schedule_defs:
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK,
                                           resources=resources) as context:
                data = schedule.evaluate_tick(context)
            outcomes[schedule.name] = _outcome(data.run_requests, data.skip_message)
    assert outcomes == EXPECTED


# The cron-only schedules that skip until the database is migrated (skips_until_migrated).
CRON_SCHEDULES = {"audit_archive_purge_schedule", "nightly_backup_schedule", "quarterly_slow_query_review_schedule",
                  "restore_drill_schedule", "weekly_health_and_security_review", "yearly_retention_review_schedule",
                  "terminology_coverage_report_schedule"}


def _tick(schedule_name: str, url: str) -> tuple[list[dg.RunRequest], str | None]:
    schedule = defs.get_repository_def().get_schedule_def(schedule_name)
    with dg.instance_for_test() as instance, dg.build_schedule_context(
            instance=instance, scheduled_execution_time=TICK, resources={"db": Database(url=url)}) as context:
        data = schedule.evaluate_tick(context)
    return list(data.run_requests or []), data.skip_message


def test_on_a_migrated_database_the_cron_schedules_request_their_runs(migrated_db: str) -> None:
    for name in CRON_SCHEDULES:
        requests, skipped = _tick(name, migrated_db)
        assert len(requests) == 1 and skipped is None, name
    backup, _ = _tick("nightly_backup_schedule", migrated_db)
    assert backup[0].partition_key == "2026-11-30", "the previous day's partition, as before"


def test_an_unreachable_database_still_launches_the_run_which_fails_and_alerts(pg_server_url: str) -> None:
    requests, _ = _tick("weekly_health_and_security_review", db.with_database(pg_server_url, "hv_no_such_db"))
    assert len(requests) == 1


def test_a_table_missing_from_a_migrated_database_still_fails_the_tick(migrated_db: str) -> None:
    """At the head revision a missing table is no unmigrated database but a broken one: no skip hides it."""
    assert migrations.behind(migrated_db) is None
    with db.connect(migrated_db) as conn:
        conn.execute("DROP TABLE ehr_connections CASCADE")
    with pytest.raises(psycopg.errors.UndefinedTable):
        ehr_connections_due(dg.build_sensor_context(resources={"db": Database(url=migrated_db)}))


def test_the_database_reading_ticks_skip_with_what_to_do(empty_db: str) -> None:
    resources = {"db": Database(url=empty_db)}
    with dg.instance_for_test() as instance:
        sensor = ehr_connections_due(dg.build_sensor_context(instance=instance, resources=resources))
    schedule = monthly_audit_archive_schedule(dg.build_schedule_context(scheduled_execution_time=TICK,
                                                                        resources=resources))
    assert isinstance(sensor, dg.SkipReason) and sensor.skip_message == NOT_MIGRATED
    assert isinstance(schedule, dg.SkipReason) and schedule.skip_message == NOT_MIGRATED
