"""The `seed` group in Dagster: materialise against real PostgreSQL, read metadata and the drift check."""

from __future__ import annotations

import dagster as dg

from hv_pipelines.assets.seed import SEED_ASSETS, seed_matches_database, seed_tables
from hv_pipelines.core import db
from hv_pipelines.jobs.schema import defs as schema_defs
from hv_pipelines.jobs.seed import defs as seed_defs
from hv_pipelines.resources import Database
from tests.core.seed_rows import row_versions

ADD_INTERN_ROLE = """INSERT INTO roles (id, name, "displayName", "updatedAt")
                     VALUES ('x', 'INTERN', 'Intern', now())"""


def materialization(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    events = result.asset_materializations_for_node("seed_tables")
    found = next(e for e in events if e.asset_key == dg.AssetKey(key))
    return {k: v.value for k, v in found.metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_check_evaluation_data.asset_key.to_user_string(): e.asset_check_evaluation_data
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_seed_assets_are_in_group_seed_downstream_of_the_schema():
    specs = {spec.key.to_user_string(): spec for spec in seed_tables.specs}
    assert set(specs) == set(SEED_ASSETS) == {"rbac_roles", "rbac_permissions", "rbac_role_permissions",
                                              "data_retention_policies", "security_configuration"}
    for spec in specs.values():
        assert spec.group_name == "seed"
        assert [dep.asset_key for dep in spec.deps] == [dg.AssetKey("database_schema")]
    checks = {(c.asset_key.to_user_string(), c.name) for c in seed_matches_database.check_specs}
    assert checks == {(key, "seed_matches_database") for key in SEED_ASSETS}


def test_materialising_reports_counts_and_tables_then_nothing_on_the_second_run(migrated_db):
    resources = {"db": Database(url=migrated_db)}
    first = dg.materialize([seed_tables, seed_matches_database], resources=resources)
    assert first.success
    roles = materialization(first, "rbac_roles")
    assert (roles["inserted"], roles["updated"], roles["unchanged"], roles["extra"]) == (7, 0, 0, 0)
    assert roles["service_account"] == "created"
    assert "| OWNER | Owner | 100 | True | 19 |" in roles["rows"]
    matrix = materialization(first, "rbac_role_permissions")["rows"]
    assert matrix.startswith("| permission | resource / action / scope | OWNER | ADMIN |")
    security = materialization(first, "security_configuration")["rows"]
    assert "| passwordMinLength | password | 12 | number |" in security
    assert all(c.passed for c in check_results(first).values()) and len(check_results(first)) == 5

    before = row_versions(migrated_db)
    second = dg.materialize([seed_tables], resources=resources)
    for key in SEED_ASSETS:
        meta = materialization(second, key)
        assert (meta["inserted"], meta["updated"], meta["extra"]) == (0, 0, 0), key
    assert materialization(second, "rbac_roles")["service_account"] == "unchanged"
    assert row_versions(migrated_db) == before, "the second run wrote no row, not even the same values"


def test_seed_matches_database_fails_on_a_hand_edited_row_and_warns_on_an_unnamed_one(migrated_db):
    resources = {"db": Database(url=migrated_db)}
    assert dg.materialize([seed_tables], resources=resources).success
    with db.connect(migrated_db) as conn:
        conn.execute("UPDATE security_configurations SET value = '6' WHERE key = 'passwordMinLength'")
        conn.execute(ADD_INTERN_ROLE)
    checked = dg.materialize([seed_tables, seed_matches_database], resources=resources,
                             selection=dg.AssetSelection.checks(seed_matches_database))
    results = check_results(checked)
    security, roles = results["security_configuration"], results["rbac_roles"]
    assert not security.passed and security.severity == dg.AssetCheckSeverity.ERROR
    assert "differ from the file: passwordMinLength" in security.description
    assert not roles.passed and roles.severity == dg.AssetCheckSeverity.WARN
    assert "not in the file: INTERN" in roles.description
    assert results["rbac_permissions"].passed


def test_prune_config_removes_unnamed_rows(migrated_db):
    resources = {"db": Database(url=migrated_db)}
    assert dg.materialize([seed_tables], resources=resources).success
    with db.connect(migrated_db) as conn:
        conn.execute(ADD_INTERN_ROLE)
    pruned = dg.materialize([seed_tables], resources=resources,
                            run_config={"ops": {"seed_tables": {"config": {"prune": True}}}})
    meta = materialization(pruned, "rbac_roles")
    assert (meta["extra"], meta["deleted"]) == (1, 1)
    assert "deleted (pruned): `INTERN`" in meta["changes"]


def test_migrate_and_seed_takes_an_empty_database_to_a_seeded_one(empty_db):
    resources = dg.Definitions(resources={"db": Database(url=empty_db)})
    defs = dg.Definitions.merge(schema_defs, seed_defs, resources)
    job = defs.resolve_job_def("migrate_and_seed")
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"database_schema", *SEED_ASSETS}
    assert all(c.passed for c in check_results(result).values())
    with db.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM roles").fetchone() == (7,)
        assert conn.execute("SELECT count(*) FROM role_permissions").fetchone() == (46,)
