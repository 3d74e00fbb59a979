"""The operations domain run by Dagster against real PostgreSQL: reports, their checks, the calendar,
and the alert a failed run raises (over real HTTP)."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from hv_pipelines.assets.health import (
    database_health,
    retention_policy_review,
    security_review_report,
    slow_query_review,
)
from hv_pipelines.core import db
from hv_pipelines.core.seed import apply_seed, load_seed
from hv_pipelines.jobs import operations
from hv_pipelines.jobs.schema import defs as schema_defs
from hv_pipelines.jobs.seed import defs as seed_defs
from hv_pipelines.resources import Database
from tests.fakes.webhook_receiver import webhook_receiver

PATIENT = "Jane Q. Patient"


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _meta(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    return result.asset_materializations_for_node(asset)[0].metadata


def test_database_health_reports_sizes_and_passes_on_a_quiet_database(migrated_db: str) -> None:
    result = dg.materialize([database_health], resources={"db": Database(url=migrated_db)})
    meta = _meta(result, "database_health")
    assert meta["tables"].value == 94 and meta["bloated_tables"].value == 0
    assert meta["database_bytes"].value > 1_000_000 and meta["server_version"].value.startswith("16")
    assert "| audit_logs |" in meta["largest_tables"].value or "| users |" in meta["largest_tables"].value
    assert "not installed" in meta["top_statements"].value
    checks = _checks(result)
    assert sorted(checks) == ["connections_below_limit", "no_bloated_tables", "no_blocked_sessions",
                              "no_long_running_queries"]
    assert all(c.passed for c in checks.values())


def test_idle_transaction_past_the_limit_warns_without_failing_the_run(migrated_db: str) -> None:
    import time

    import psycopg

    with psycopg.connect(db.libpq_url(migrated_db)) as idle:
        idle.execute(f"SELECT '{PATIENT}' FROM users")
        time.sleep(1.2)
        result = dg.materialize(
            [database_health], resources={"db": Database(url=migrated_db)},
            run_config={"ops": {"database_health": {"config": {"idle_in_transaction_seconds": 1}}}})
        idle.rollback()
    assert result.success
    check = _checks(result)["no_long_running_queries"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["sessions"].value == 1
    assert "idle in transaction" in check.metadata["details"].value
    assert PATIENT not in check.metadata["details"].value


def test_security_review_warns_on_unacknowledged_urgent_alerts(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("INSERT INTO security_alerts (id, user_id, action, details, severity) VALUES "
                     "('a1', 'u1', 'BRUTE_FORCE_ATTACK', %s, 'high'), ('a2', 'u1', 'XSS_ATTEMPT', 'x', 'low')",
                     (PATIENT,))
    result = dg.materialize([security_review_report], resources={"db": Database(url=migrated_db)})
    meta = _meta(result, "security_review_report")
    assert meta["security_alerts"].value == 2 and meta["unacknowledged_urgent_alerts"].value == 1
    assert "| BRUTE_FORCE_ATTACK | 1 |" in meta["alerts_by_type"].value
    assert PATIENT not in json.dumps({k: str(v.value) for k, v in meta.items()})
    checks = _checks(result)
    assert not checks["urgent_alerts_acknowledged"].passed
    assert checks["urgent_alerts_acknowledged"].severity == dg.AssetCheckSeverity.WARN
    assert checks["no_phi_access_anomalies"].passed


def test_slow_query_review_explains_missing_statistics(migrated_db: str) -> None:
    result = dg.materialize([slow_query_review], resources={"db": Database(url=migrated_db)})
    meta = _meta(result, "slow_query_review")
    assert meta["unused_index_count"].value > 100
    check = _checks(result)["statement_statistics_available"]
    assert not check.passed and "shared_preload_libraries" in check.description


def test_retention_review_warns_until_policies_are_seeded(migrated_db: str) -> None:
    resources = {"db": Database(url=migrated_db)}
    before = _checks(dg.materialize([retention_policy_review], resources=resources))["retention_policies_sound"]
    assert not before.passed and "migrate_and_seed" in before.description

    with db.connect(migrated_db) as conn:
        apply_seed(conn, load_seed(None))
    result = dg.materialize([retention_policy_review], resources=resources)
    assert _checks(result)["retention_policies_sound"].passed
    meta = _meta(result, "retention_policy_review")
    assert meta["active_policies"].value == 2 and meta["findings"].value == 0
    assert "| AUDIT_LOGS | audit_logs | 2555 | 365 | 2555 |" in meta["policies"].value


def test_calendar_schedules_target_their_jobs() -> None:
    by_name = {s.name: s for s in operations.schedules}
    assert {n: (s.cron_schedule, s.job_name) for n, s in by_name.items()} == {
        "weekly_health_and_security_review": ("0 6 * * 1", "weekly_health_review"),
        "quarterly_slow_query_review_schedule": ("0 7 1 1,4,7,10 *", "quarterly_slow_query_review"),
        "yearly_retention_review_schedule": ("0 8 15 1 *", "yearly_retention_review"),
    }
    assert all(s.execution_timezone == "UTC" and s.description for s in by_name.values())


def test_operations_defs_resolve_with_the_schema_and_seed_domains() -> None:
    merged = dg.Definitions.merge(schema_defs, seed_defs, operations.defs,
                                  dg.Definitions(resources={"db": Database(url="postgresql://unused/db")}))
    dg.Definitions.validate_loadable(merged)
    graph = merged.resolve_asset_graph()
    review = dg.AssetKey("retention_policy_review")
    assert graph.get(review).parent_keys == {dg.AssetKey("database_schema"), dg.AssetKey("data_retention_policies")}
    for key in ("database_health", "security_review_report", "slow_query_review", "retention_policy_review"):
        node = graph.get(dg.AssetKey(key))
        assert node.group_name == "compliance" and node.description and node.owners
    weekly = merged.resolve_job_def("weekly_health_review")
    assert {k.to_user_string() for k in weekly.asset_layer.selected_asset_keys} == {
        "database_health", "security_review_report"}


@pytest.fixture
def failed_partitioned_run():
    """A real failed run (partition 2024-05-01) of a job whose asset raises with PHI in the message."""

    class PatientRecordError(Exception):
        pass

    @dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01"))
    def nightly_export() -> None:
        raise PatientRecordError(f"cannot export record of {PATIENT}")

    job = dg.define_asset_job("nightly_export_job", selection=[nightly_export])
    defs = dg.Definitions(assets=[nightly_export], jobs=[job])
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("nightly_export_job").execute_in_process(
            instance=instance, partition_key="2024-05-01", raise_on_error=False)
        yield instance, result


def _sensor_context(instance, result, url: str):
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(), resources={"db": Database(url=url)},
    ).for_run_failure()


def test_failed_run_raises_one_notification_and_a_webhook_without_phi(
        migrated_db: str, failed_partitioned_run, monkeypatch) -> None:
    instance, result = failed_partitioned_run
    with webhook_receiver() as hook:
        monkeypatch.setenv("HV_ALERT_WEBHOOK_URL", hook.url)
        monkeypatch.setenv("HV_ENV", "production")
        operations.run_failure_alerts(_sensor_context(instance, result, migrated_db))
        operations.run_failure_alerts(_sensor_context(instance, result, migrated_db))

    with db.connect(migrated_db) as conn:
        rows = conn.execute("SELECT title, message, metadata FROM system_notifications").fetchall()
    assert len(rows) == 1, "a re-evaluated failure is not reported twice"
    title, message, metadata = rows[0]
    assert title == "Pipeline run failed: nightly_export_job [2024-05-01]"
    assert "nightly_export" in message and "PatientRecordError" in message and "(STEP_FAILURE)" in message
    body = hook.received[0]
    assert body["error_classes"] == ["PatientRecordError"] and body["partition"] == "2024-05-01"
    assert body["environment"] == "production"
    assert body["run_url"].endswith(f"/runs/{result.run_id}")
    for text in (message, metadata, json.dumps(hook.received)):
        assert PATIENT not in text and "cannot export" not in text


def test_undeliverable_alert_fails_the_evaluation_so_the_sensor_retries(
        pg_server_url: str, failed_partitioned_run) -> None:
    instance, result = failed_partitioned_run
    missing = db.with_database(pg_server_url, "hv_no_such_database")
    with pytest.raises(operations.AlertNotDelivered) as err:
        operations.run_failure_alerts(_sensor_context(instance, result, missing))
    assert result.run_id in str(err.value) and "failed (OperationalError)" in str(err.value)


def test_a_failure_before_the_first_migration_skips_saying_what_to_do(empty_db: str, failed_partitioned_run,
                                                                     monkeypatch) -> None:
    monkeypatch.delenv("HV_ALERT_WEBHOOK_URL", raising=False)
    instance, result = failed_partitioned_run
    skipped = operations.run_failure_alerts(_sensor_context(instance, result, empty_db))
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message.startswith("the database is not migrated yet: run migrate_and_seed: ")
    assert result.run_id in skipped.skip_message


def test_k8s_executor_only_when_deployed_with_it(monkeypatch) -> None:
    from dagster_k8s import k8s_job_executor

    assert operations._executor() is None
    monkeypatch.setenv("HV_EXECUTOR", "k8s")
    assert operations._executor() is k8s_job_executor
