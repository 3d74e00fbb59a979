"""The schema asset, its checks and the drift sensor, run by Dagster against real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from alembic.script import ScriptDirectory

from hv_pipelines.assets.schema import database_schema, no_pending_migrations, schema_matches_models
from hv_pipelines.core import db, migrations
from hv_pipelines.jobs.schema import schema_sensor
from hv_pipelines.resources import Database


def _check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _with_its_password(url: str) -> tuple[str, str | None]:
    """`url` with the login's password in it (the suite's server keeps it in a passfile), and the password."""
    parsed = db.sqlalchemy_url(url)
    if parsed.password or "passfile" not in parsed.query:
        return url, parsed.password
    for line in Path(parsed.query["passfile"]).read_text().splitlines():
        *_, user, password = line.split(":", 4)
        if user == parsed.username:
            return db.with_login(url, user, password), password
    return url, None


def test_materialising_database_schema_migrates_and_checks_pass(empty_db: str) -> None:
    url, password = _with_its_password(empty_db)
    result = dg.materialize([database_schema, schema_matches_models, no_pending_migrations],
                            resources={"db": Database(url=url)})
    assert result.success
    meta = result.asset_materializations_for_node("database_schema")[0].metadata
    assert meta["revision_before"].value == "(empty)"
    assert meta["revision_after"].value == migrations.heads()[0]
    scripts = ScriptDirectory.from_config(migrations.alembic_config(empty_db))
    assert meta["migrations_applied"].value == len(list(scripts.walk_revisions()))
    if password:
        assert password not in meta["database"].value and "***" in meta["database"].value
    checks = _check_results(result)
    assert checks["schema_matches_models"].passed and checks["no_pending_migrations"].passed


def test_drift_check_fails_after_a_manual_change(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("ALTER TABLE audit_logs DROP COLUMN review_notes")
    result = dg.materialize([database_schema, schema_matches_models], resources={"db": Database(url=migrated_db)},
                            raise_on_error=False)
    check = _check_results(result)["schema_matches_models"]
    assert not check.passed
    assert check.metadata["differences"].value == 1
    assert "audit_logs.review_notes" in check.metadata["details"].value


@pytest.mark.parametrize("env, expect_run", [("development", True), ("production", False)])
def test_sensor_requests_migrations_only_outside_production(empty_db: str, monkeypatch, env, expect_run) -> None:
    monkeypatch.setenv("HV_ENV", env)
    with dg.build_sensor_context(resources={"db": Database(url=empty_db)}) as ctx:
        out = schema_sensor(ctx)
    if expect_run:
        assert isinstance(out, dg.RunRequest) and out.run_key.startswith("schema-")
    else:
        assert isinstance(out, dg.SkipReason) and "launch migrate_and_seed from the UI" in out.skip_message


def test_sensor_skips_when_up_to_date(migrated_db: str) -> None:
    with dg.build_sensor_context(resources={"db": Database(url=migrated_db)}) as ctx:
        out = schema_sensor(ctx)
    assert isinstance(out, dg.SkipReason) and "no drift" in out.skip_message
