"""The database's security posture as an asset: one asset check per finding of core/posture.py.

A finding that fails is an ERROR check in production for the high ones (TLS, passwords, privileged
roles, grant drift, the public schema, audit logging, backups) and a WARN otherwise, so development
shows the same findings without failing runs.
"""

from datetime import timedelta

import dagster as dg

from hv_pipelines.core import posture
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.settings import load_settings
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource


def _from_store(object_store: ObjectStoreResource, keys: KeyringResource, database: str,
                rotation: timedelta) -> list[posture.Finding]:
    try:
        return posture.store_findings(object_store.open(), keys.keyring(), database, rotation)
    except HVError as exc:  # an unreachable store is a finding, not a failed posture run
        return [posture.Finding(check, False, posture.HIGH[check], f"cannot list the backups: {exc}")
                for check in ("backup_fresh_and_encrypted", "master_key_within_rotation")]


@dg.asset(
    group_name="compliance",
    kinds={"postgres"},
    deps=["database_schema"],
    description="The database's security posture (CIS PostgreSQL Benchmark, pgaudit, HIPAA 164.312): TLS, "
    "password hashing, privileged roles, grant drift against schema/access.py, the public schema, "
    "checksums, audit logging, backup freshness. Weekly and after each migration; one check per finding.",
    check_specs=[dg.AssetCheckSpec(c.name, asset="database_security_posture", description=c.description)
                 for c in posture.CHECKS],
)
def database_security_posture(context: dg.AssetExecutionContext, db: Database, object_store: ObjectStoreResource,
                              keys: KeyringResource) -> dg.MaterializeResult:
    with db.connect(domain="migrations") as conn:
        findings = posture.assess(conn)
        rotation = posture.key_rotation(conn)
        database = conn.info.dbname
    findings += _from_store(object_store, keys, database, rotation)
    production = load_settings().is_production
    failed = [f for f in findings if not f.passed]
    for finding in failed:
        context.log.warning(f"{finding.check}: {finding.message}")
    return dg.MaterializeResult(
        metadata={
            "database": db.display_url,
            "findings_failed": len(failed),
            "findings": dg.MetadataValue.md("\n".join(
                ["| check | passed | detail |", "|---|---|---|"]
                + [f"| {f.check} | {'yes' if f.passed else 'NO'} | {f.message.replace('|', '/')} |" for f in findings])),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=f.check, passed=f.passed, description=f.message,
                severity=dg.AssetCheckSeverity.ERROR if f.high and production else dg.AssetCheckSeverity.WARN)
            for f in findings],
    )
