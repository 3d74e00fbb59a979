"""Group `schema`: the database schema as an asset. Materialising it upgrades the database to head.

Every asset that reads or writes tables depends on `database_schema`, so a run that materialises
them after a deploy migrates first.
"""


import dagster as dg

from hv_pipelines.core import migrations
from hv_pipelines.resources import Database

OWNERS = ["team:data-platform"]


def _bullets(lines: list[str]) -> dg.MarkdownMetadataValue:
    return dg.MetadataValue.md("\n".join(f"- `{line}`" for line in lines) or "_none_")


@dg.asset(
    group_name="schema",
    kinds={"postgres", "alembic"},
    owners=OWNERS,
    tags={"hv/exclusive": "database"},
    description="The HoloVitals schema (93 tables, 45 enum types). Materialising runs the pending Alembic "
    "migrations in one transaction with lock and statement timeouts — rehearsed first on "
    "SHADOW_DATABASE_URL when it is set — so a failure leaves the previous revision intact.",
)
def database_schema(context: dg.AssetExecutionContext, db: Database) -> dg.MaterializeResult:
    result = migrations.upgrade(db.url_for("migrations"), shadow_url=db.shadow_url())
    context.log.info(f"{db.display_url}: {result.before or 'empty'} -> {result.after}, "
                     f"{len(result.applied)} migration(s) applied")
    return dg.MaterializeResult(metadata={
        "revision_before": result.before or "(empty)",
        "revision_after": result.after or "(empty)",
        "migrations_applied": len(result.applied),
        "applied": _bullets(result.applied),
        "duration_seconds": round(result.seconds, 3),
        "rehearsed_on_shadow": result.rehearsed_on_shadow,
        "database": db.display_url,
    })


@dg.asset_check(asset=database_schema, description="The live schema matches the SQLAlchemy models: no "
                "table, column, type, default, index, constraint or enum label differs.")
def schema_matches_models(db: Database) -> dg.AssetCheckResult:
    st = migrations.status(db.url_for("migrations"))
    if st.current is None:
        return dg.AssetCheckResult(passed=False, description="the database is not managed by Alembic yet: "
                                   "materialise database_schema (empty database) or run `hv db adopt`",
                                   metadata={"differences": 0})
    return dg.AssetCheckResult(
        passed=not st.drift,
        severity=dg.AssetCheckSeverity.ERROR,
        description="no drift" if not st.drift else f"{len(st.drift)} difference(s) from the models: "
        "write a migration for an intended change, or revert the manual one",
        metadata={"differences": len(st.drift), "details": _bullets(st.drift), "revision": st.current or "",
                  "accepted_differences": _bullets(st.accepted)},
    )


@dg.asset_check(asset=database_schema, description="The database is at the head revision and the migration "
                "scripts have a single head.")
def no_pending_migrations(db: Database) -> dg.AssetCheckResult:
    st = migrations.status(db.url_for("migrations"))
    return dg.AssetCheckResult(
        passed=not st.pending and len(st.heads) == 1 and st.current is not None,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"current": st.current or "(none)", "heads": ", ".join(st.heads),
                  "pending": len(st.pending), "pending_revisions": _bullets(st.pending)},
    )
