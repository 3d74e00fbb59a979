"""Group `seed`: one asset per seeded table, all written by one op in one transaction.

The five tables reference each other (role_permissions names roles and permissions; every row is
stamped with the system service account), so they are one `multi_asset`: a run never leaves roles
seeded and their permissions not. `seed_matches_database` re-plans against the live tables without
writing and fails when someone changed a seeded row by hand.
"""

import json
from collections.abc import Iterator, Sequence

import dagster as dg
from pydantic import Field

from hv_pipelines.core.seed import SeedReport, apply_seed, load_seed, permission_matrix_markdown, plan_seed
from hv_pipelines.resources import Database

OWNERS = ["team:data-platform"]

# asset key -> the table it stands for
SEED_ASSETS = {
    "rbac_roles": "roles",
    "rbac_permissions": "permissions",
    "rbac_role_permissions": "role_permissions",
    "data_retention_policies": "data_retention_policies",
    "security_configuration": "security_configurations",
}
_DESCRIPTIONS = {
    "rbac_roles": "RBAC roles (OWNER, ADMIN, DOCTOR, PATIENT, CUSTOMER, SUPPORT, ANALYST) and the system "
    "service account the pipeline's audit entries point at.",
    "rbac_permissions": "RBAC permissions as resource / action / scope (READ_PHI, WRITE_PHI, ...).",
    "rbac_role_permissions": "Which permissions each role grants: the role → permission matrix.",
    "data_retention_policies": "How long audit logs (7 years, HIPAA 164.316(b)(2)) and medical records "
    "(10 years) are kept, and when audit logs leave the hot table.",
    "security_configuration": "Password, lockout, session, MFA and network policy: one row per setting.",
}


class SeedConfig(dg.Config):
    prune: bool = Field(default=False, description="Delete rows of the seeded tables the seed file does "
                        "not name (refused for roles still assigned to users).")
    file: str | None = Field(default=None, description="Seed file path; default HV_SEED_FILE, else the "
                             "packaged holovitals.yaml.")


@dg.multi_asset(
    name="seed_tables",
    specs=[dg.AssetSpec(key, group_name="seed", deps=["database_schema"], kinds={"postgres"}, owners=OWNERS,
                        description=_DESCRIPTIONS[key]) for key in SEED_ASSETS],
)
def seed_tables(
    context: dg.AssetExecutionContext, config: SeedConfig, db: Database
) -> Iterator[dg.MaterializeResult]:
    seed = load_seed(config.file)
    with db.connect(domain="migrations") as conn:
        report = apply_seed(conn, seed, prune=config.prune)
    context.log.info(f"seed {seed.path.name} ({seed.sha256[:12]}): {report.changes} change(s) in "
                     f"{report.seconds:.2f} s")
    for key, table in SEED_ASSETS.items():
        yield dg.MaterializeResult(asset_key=key, metadata=_metadata(report, key, table))


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("seed_matches_database", asset=key, description="Every row the seed file "
                             "(HV_SEED_FILE or the packaged one) names is in the table with the file's "
                             "values, and the table holds no other rows.") for key in SEED_ASSETS],
)
def seed_matches_database(db: Database) -> Iterator[dg.AssetCheckResult]:
    seed = load_seed()
    with db.connect(domain="migrations") as conn:
        report = plan_seed(conn, seed)
    for key, table in SEED_ASSETS.items():
        plan = report.plans[table]
        missing_or_changed = plan.insert + plan.update
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="seed_matches_database",
            passed=not missing_or_changed and not plan.extra,
            # Unnamed rows are allowed (kept until --prune); missing or edited seeded rows are drift.
            severity=dg.AssetCheckSeverity.ERROR if missing_or_changed else dg.AssetCheckSeverity.WARN,
            description=_check_description(plan.insert, plan.update, plan.extra),
            metadata={**plan.counts(), "seed_sha256": seed.sha256},
        )


def _check_description(insert: Sequence[str], update: Sequence[str], extra: Sequence[str]) -> str:
    if not (insert or update or extra):
        return "matches the seed file"
    parts = [f"{label}: {', '.join(keys)}" for label, keys in
             (("missing", insert), ("differ from the file", update), ("not in the file", extra)) if keys]
    return "; ".join(parts) + " — materialise the seed assets (with prune to remove unnamed rows)"


def _metadata(report: SeedReport, key: str, table: str) -> dict[str, object]:
    plan = report.plans[table]
    metadata: dict[str, object] = {
        "inserted": len(plan.insert),
        "updated": len(plan.update),
        "unchanged": len(plan.unchanged),
        "extra": len(plan.extra),
        "deleted": report.deleted(table),
        "rows": dg.MetadataValue.md(_TABLES[key](report.seed.content)),
        "seed_file": report.seed.path.name,
        "seed_sha256": report.seed.sha256,
        "duration_seconds": round(report.seconds, 3),
    }
    if plan.insert or plan.update or plan.extra:
        metadata["changes"] = dg.MetadataValue.md(
            _bullets(plan.insert, plan.update, plan.extra, report.deleted(table)))
    if key == "rbac_roles":
        account = report.plans["users"]
        metadata["service_account"] = ("created" if account.insert
                                       else "reset" if account.update else "unchanged")
    return metadata


def _bullets(insert: Sequence[str], update: Sequence[str], extra: Sequence[str], deleted: int) -> str:
    extra_label = "deleted (pruned)" if deleted else "extra (kept; prune removes)"
    return "\n".join(f"- {label}: `{k}`" for label, keys in
                     (("inserted", insert), ("updated", update), (extra_label, extra)) for k in keys)


def _markdown(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


_TABLES = {
    "rbac_roles": lambda c: _markdown(
        ["name", "displayName", "priority", "isSystem", "permissions"],
        [(r.name, r.display_name, r.priority, r.is_system, len(c.grants().get(r.name, [])))
         for r in sorted(c.roles, key=lambda r: -r.priority)]),
    "rbac_permissions": lambda c: _markdown(
        ["name", "resource", "action", "scope"],
        [(p.name, p.resource, p.action, p.scope.value) for p in c.permissions]),
    "rbac_role_permissions": permission_matrix_markdown,
    "data_retention_policies": lambda c: _markdown(
        ["name", "dataType", "retentionPeriodDays", "archiveAfterDays", "deleteAfterDays", "legalBasis"],
        [(p.name, p.data_type, p.retention_period_days, p.archive_after_days, p.delete_after_days,
          p.legal_basis) for p in c.data_retention_policies]),
    "security_configuration": lambda c: _markdown(
        ["key", "category", "value", "valueType", "validation"],
        [(s.key, s.category, _json_text(s.value), s.value_type, _json_text(s.validation))
         for s in c.security_configurations]),
}


def _json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value)
