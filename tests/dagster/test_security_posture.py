"""database_security_posture run by Dagster: one check per finding, ERROR only for high ones in production."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from hv_pipelines.assets.security import database_security_posture
from hv_pipelines.core import db, migrations, posture
from hv_pipelines.core.embedded_server import pg_bin_dir
from hv_pipelines.core.keyring import generate_hex_key
from hv_pipelines.core.pitr.cluster import Cluster, scratch_dir
from hv_pipelines.jobs.security import (
    posture_after_migration,
    security_posture_review,
    weekly_security_posture,
)
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


@pytest.fixture(scope="module")
def posture_url():
    """A server with the lacks the findings must name: plain TCP with trust (no TLS), initdb without
    data checksums, nothing logged (the suite's own server has TLS and checksums)."""
    cluster = Cluster(scratch_dir("hvpg-posture-") / "data", pg_bin_dir())
    cluster.initdb()
    cluster.start()
    try:
        url = db.create_database(cluster.url(), "holovitals")
        migrations.upgrade(url)
        yield url
    finally:
        cluster.stop("immediate")
        shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)


def _run(url: str, tmp_path: Path) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize([database_security_posture], resources={
        "db": Database(url=url), "object_store": ObjectStoreResource(url=(tmp_path / "objects").as_uri()),
        "keys": KeyringResource(encryption_key=generate_hex_key())})
    assert result.success
    meta = result.asset_materializations_for_node("database_security_posture")[0].metadata
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert meta["findings_failed"].value == sum(not e.passed for e in evaluations.values())
    return evaluations


def test_every_finding_is_its_own_check_error_in_production(posture_url: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HV_ENV", "production")
    checks = _run(posture_url, tmp_path)
    assert sorted(checks) == sorted(c.name for c in posture.CHECKS)
    failed = {name: e.severity for name, e in checks.items() if not e.passed}
    # This test server: no TLS (this very connection is plain TCP), no checksums, nothing logged, no backup yet.
    assert failed == {"server_ssl_on": ERROR, "client_connections_use_tls": ERROR, "data_checksums_on": WARN,
                      "audit_logging_on": ERROR, "backup_fresh_and_encrypted": ERROR}
    assert "no verified backup" in checks["backup_fresh_and_encrypted"].description


def test_in_development_every_finding_is_a_warning(posture_url: str, tmp_path: Path) -> None:
    checks = _run(posture_url, tmp_path)
    assert {e.severity for e in checks.values() if not e.passed} == {WARN}


def test_the_posture_runs_weekly_and_after_each_migration() -> None:
    assert weekly_security_posture.cron_schedule == "30 6 * * 1"
    assert weekly_security_posture.job_name == posture_after_migration.job_name == security_posture_review.name
    assert posture_after_migration.asset_key == dg.AssetKey("database_schema")
