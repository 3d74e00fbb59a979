"""Seed data: validated file, one-transaction upsert by natural key, idempotent, prune only on request."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import (
    SYSTEM_USER_EMAIL,
    SYSTEM_USER_ROLE,
    UNUSABLE_PASSWORD_HASH,
    system_user_id,
)
from hv_pipelines.core.seed import (
    SeedError,
    SeedFileError,
    apply_seed,
    default_seed_path,
    load_seed,
    permission_matrix_markdown,
    plan_seed,
    resolve_seed_path,
)

ROOT = Path(__file__).resolve().parents[2]
SEEDED = ("roles", "permissions", "role_permissions", "data_retention_policies", "security_configurations")


def packaged() -> dict:
    return yaml.safe_load(default_seed_path().read_text())


def write_seed(tmp_path: Path, content: dict, name: str = "seed.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def row_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (*SEEDED, "users", "audit_logs")}


def stamps(conn: psycopg.Connection, table: str, key: str) -> dict[str, object]:
    return dict(conn.execute(f'SELECT {key}, "updatedAt" FROM {table}').fetchall())


def seed_once(url: str, path: Path | None = None, **kwargs):
    with db.connect(url) as conn:
        return apply_seed(conn, load_seed(path), **kwargs)


# --- the file -----------------------------------------------------------------------------------------

def test_packaged_seed_holds_the_roles_policies_and_settings_the_platform_needs():
    content = load_seed().content
    assert {r.name for r in content.roles} == {"OWNER", "ADMIN", "DOCTOR", "PATIENT", "CUSTOMER", "SUPPORT",
                                               "ANALYST"}
    assert {"READ_PHI", "WRITE_PHI", "DELETE_PHI", "MANAGE_USERS"} <= {p.name for p in content.permissions}
    policies = {p.name: p for p in content.data_retention_policies}
    assert policies["AUDIT_LOGS"].retention_period_days == 2555
    assert "164.316(b)(2)" in policies["AUDIT_LOGS"].legal_basis
    assert 0 < policies["AUDIT_LOGS"].archive_after_days < 2555
    assert policies["MEDICAL_RECORDS"].retention_period_days == 3650
    settings = {s.key: s.value for s in content.security_configurations}
    assert settings == {
        "passwordMinLength": 12, "passwordRequireUppercase": True, "passwordRequireLowercase": True,
        "passwordRequireNumbers": True, "passwordRequireSpecialChars": True, "passwordExpiryDays": 90,
        "maxLoginAttempts": 5, "lockoutDurationMinutes": 30, "sessionTimeoutMinutes": 30,
        "mfaRequired": False, "allowedIpRanges": []}


def test_owner_holds_everything_and_patients_only_their_own_records():
    content = load_seed().content
    grants = {role: {g.permission for g in gs} for role, gs in content.grants().items()}
    scope = {p.name: p.scope.value for p in content.permissions}
    assert grants["OWNER"] == set(scope)
    for role in ("PATIENT", "CUSTOMER"):
        assert grants[role] and {scope[p] for p in grants[role]} == {"OWN"}
    assert not any(p.endswith("PHI") for role in ("SUPPORT", "ANALYST") for p in grants[role])


def test_readme_matrix_is_the_one_the_seed_file_grants():
    assert permission_matrix_markdown(load_seed().content) in (ROOT / "README.md").read_text()


def test_hv_seed_file_overrides_the_packaged_file_and_file_option_overrides_both(tmp_path, monkeypatch):
    override = write_seed(tmp_path, packaged(), "override.yaml")
    assert resolve_seed_path() == default_seed_path()
    monkeypatch.setenv("HV_SEED_FILE", str(override))
    assert load_seed().path == override
    assert resolve_seed_path(tmp_path / "cli.yaml") == tmp_path / "cli.yaml"


def _unknown_scope(c):
    c["permissions"][6]["scope"] = "SELF"


def _missing_priority(c):
    del c["roles"][2]["priority"]


def _unknown_permission_in_matrix(c):
    c["role_permissions"]["DOCTOR"].append("READ_PH")


def _duplicate_role(c):
    c["roles"].append(dict(c["roles"][0]))


def _value_below_its_min(c):
    c["security_configurations"][0]["value"] = 4


def _bad_ip_range(c):
    c["security_configurations"][-1]["value"] = ["10.0.0.0/8", "not-a-network"]


def _archive_after_retention(c):
    c["data_retention_policies"][0]["archiveAfterDays"] = 9999


def _guide_column_that_does_not_exist(c):
    c["roles"][0]["isActiv"] = True


@pytest.mark.parametrize("break_it, expected", [
    (_unknown_scope, ['permissions #7 "READ_OWN_PHI"', "scope", "'OWN'", "got 'SELF'"]),
    (_missing_priority, ['roles #3 "DOCTOR"', "priority", "required field is missing"]),
    (_unknown_permission_in_matrix, ['role_permissions "DOCTOR"', '"READ_PH" is not a permission']),
    (_duplicate_role, ['roles "OWNER": defined more than once']),
    (_value_below_its_min, ['security_configurations #1 "passwordMinLength"', "below its validation min 8"]),
    (_bad_ip_range, ['"allowedIpRanges"', "'not-a-network' is not a CIDR range"]),
    (_archive_after_retention, ['data_retention_policies #1 "AUDIT_LOGS"', "archiveAfterDays"]),
    (_guide_column_that_does_not_exist, ['roles #1 "OWNER"', "isActiv", "unknown field"]),
])
def test_invalid_seed_file_names_file_entry_and_problem(tmp_path, break_it, expected):
    content = packaged()
    break_it(content)
    path = write_seed(tmp_path, content)
    with pytest.raises(SeedFileError) as caught:
        load_seed(path)
    message = str(caught.value)
    assert str(path) in message and "nothing was written" in message
    for fragment in expected:
        assert fragment in message


def test_seed_file_that_is_not_yaml_reports_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nroles:\n  - name: OWNER\n   displayName: [unclosed\n")
    with pytest.raises(SeedFileError, match=r"broken.yaml is not valid YAML at line \d+"):
        load_seed(path)


def test_missing_seed_file_says_where_it_looked(tmp_path):
    with pytest.raises(SeedFileError, match="nope.yaml cannot be read"):
        load_seed(tmp_path / "nope.yaml")


# --- the database -------------------------------------------------------------------------------------

def test_fresh_database_gets_the_expected_rows(migrated_db):
    report = seed_once(migrated_db)
    assert report.applied and report.plans["roles"].counts() == {"insert": 7, "update": 0, "unchanged": 0,
                                                                  "extra": 0}
    with db.connect(migrated_db) as conn:
        counts = row_counts(conn)
        assert counts == {"roles": 7, "permissions": 19, "role_permissions": 46, "data_retention_policies": 2,
                          "security_configurations": 11, "users": 1, "audit_logs": 1}
        system_id, password_hash, role = conn.execute(
            "SELECT id, password_hash, role FROM users WHERE email = %s", (SYSTEM_USER_EMAIL,)).fetchone()
        assert (password_hash, role) == (UNUSABLE_PASSWORD_HASH, SYSTEM_USER_ROLE)
        assert conn.execute("SELECT scope::text FROM permissions WHERE name = 'READ_OWN_PHI'"
                            ).fetchone() == ("OWN",)
        assert conn.execute(
            "SELECT value, validation FROM security_configurations WHERE key = 'passwordMinLength'"
        ).fetchone() == (12, {"min": 8, "max": 128})
        assert conn.execute(
            'SELECT "retentionPeriodDays", "createdBy" FROM data_retention_policies WHERE name = %s',
            ("AUDIT_LOGS",)).fetchone() == (2555, system_id)
        assert conn.execute("SELECT user_id, action FROM audit_logs").fetchone() == (system_id,
                                                                                     "SEED_APPLIED")
        patient_grants = conn.execute(
            "SELECT p.name FROM role_permissions rp JOIN roles r ON r.id = rp.\"roleId\" "
            "JOIN permissions p ON p.id = rp.\"permissionId\" WHERE r.name = 'PATIENT' ORDER BY 1").fetchall()
        assert [g for (g,) in patient_grants] == [
            "EXPORT_OWN_PHI", "MANAGE_OWN_ACCOUNT", "MANAGE_OWN_CONSENTS", "READ_OWN_PHI", "WRITE_OWN_PHI"]


def test_second_seed_run_changes_nothing(migrated_db):
    seed_once(migrated_db)
    with db.connect(migrated_db) as conn:
        before = {t: stamps(conn, t, "key" if t == "security_configurations" else "name")
                  for t in ("roles", "permissions", "data_retention_policies", "security_configurations")}
        counts_before = row_counts(conn)
    report = seed_once(migrated_db)
    assert report.changes == 0
    assert all(p.counts()["insert"] == p.counts()["update"] == p.counts()["extra"] == 0
               for p in report.plans.values())
    assert report.plans["role_permissions"].counts()["unchanged"] == 46
    with db.connect(migrated_db) as conn:
        after = {t: stamps(conn, t, "key" if t == "security_configurations" else "name") for t in before}
        assert after == before
        assert row_counts(conn) == counts_before  # no second audit entry either


def test_editing_one_value_updates_exactly_that_row(migrated_db, tmp_path):
    seed_once(migrated_db)
    with db.connect(migrated_db) as conn:
        before = stamps(conn, "security_configurations", "key")
        roles_before = stamps(conn, "roles", "name")
    content = packaged()
    content["security_configurations"][0]["value"] = 14
    report = seed_once(migrated_db, write_seed(tmp_path, content))
    assert {t: p.update for t, p in report.plans.items() if p.changes} == {
        "security_configurations": ("passwordMinLength",)}
    with db.connect(migrated_db) as conn:
        after = stamps(conn, "security_configurations", "key")
        assert [k for k in after if after[k] != before[k]] == ["passwordMinLength"]
        assert stamps(conn, "roles", "name") == roles_before
        assert conn.execute("SELECT value FROM security_configurations WHERE key = 'passwordMinLength'"
                            ).fetchone() == (14,)
        audited = conn.execute("SELECT count(*) FROM audit_logs WHERE action = 'SEED_APPLIED'").fetchone()
        assert audited == (2,)


def test_a_grant_can_carry_constraints_and_changing_them_updates_that_grant_only(migrated_db, tmp_path):
    seed_once(migrated_db)
    content = packaged()
    content["role_permissions"]["DOCTOR"][0] = {"permission": "READ_ASSIGNED_PHI",
                                                "constraints": {"requiresConsent": True}}
    report = seed_once(migrated_db, write_seed(tmp_path, content))
    assert {t: p.update for t, p in report.plans.items() if p.changes} == {
        "role_permissions": ("DOCTOR/READ_ASSIGNED_PHI",)}
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT constraints FROM role_permissions WHERE constraints IS NOT NULL"
                            ).fetchall() == [({"requiresConsent": True},)]


def test_dry_run_plans_everything_and_writes_nothing(migrated_db):
    with db.connect(migrated_db) as conn:
        report = plan_seed(conn, load_seed())
        assert not report.applied
        assert report.plans["permissions"].counts()["insert"] == 19
        assert report.plans["users"].insert == (SYSTEM_USER_EMAIL,)
        assert set(row_counts(conn).values()) == {0}
    for name, table_plan in report.plans.items():  # listed in key order, as `hv seed --dry-run` prints them
        assert table_plan.table == name
        assert list(table_plan.insert) == sorted(table_plan.insert, key=lambda k: k.encode()), name


def _add_unnamed_rows(url: str, *, assign_role: bool = False) -> None:
    with db.connect(url) as conn:
        conn.execute("""INSERT INTO roles (id, name, "displayName", "updatedAt") VALUES ('r-legacy', 'LEGACY',
                        'Legacy', now())""")
        conn.execute("""INSERT INTO permissions (id, name, "displayName", resource, action, scope,
                                                 "updatedAt")
                        VALUES ('p-legacy', 'LEGACY_EXPORT', 'Legacy export', 'phi', 'bulk_export', 'SYSTEM',
                        now())""")
        conn.execute("""INSERT INTO role_permissions (id, "roleId", "permissionId")
                        SELECT 'rp-legacy', r.id, 'p-legacy' FROM roles r WHERE r.name = 'ADMIN'""")
        if assign_role:
            conn.execute("""INSERT INTO user_roles (id, "userId", "roleId") SELECT 'ur-1', id, 'r-legacy'
                            FROM users WHERE email = %s""", (SYSTEM_USER_EMAIL,))


def test_rows_the_file_does_not_name_are_reported_and_kept(migrated_db):
    seed_once(migrated_db)
    _add_unnamed_rows(migrated_db)
    report = seed_once(migrated_db)
    assert report.plans["roles"].extra == ("LEGACY",)
    assert report.plans["permissions"].extra == ("LEGACY_EXPORT",)
    assert report.plans["role_permissions"].extra == ("ADMIN/LEGACY_EXPORT",)
    assert report.changes == 0
    with db.connect(migrated_db) as conn:
        assert row_counts(conn)["roles"] == 8 and row_counts(conn)["role_permissions"] == 47


def test_prune_removes_exactly_the_rows_the_file_does_not_name(migrated_db):
    seed_once(migrated_db)
    _add_unnamed_rows(migrated_db)
    report = seed_once(migrated_db, prune=True)
    assert report.deleted("roles") == 1 and report.deleted("role_permissions") == 1
    with db.connect(migrated_db) as conn:
        counts = row_counts(conn)
        assert (counts["roles"], counts["permissions"], counts["role_permissions"]) == (7, 19, 46)
    assert seed_once(migrated_db).changes == 0


def test_prune_refuses_to_delete_a_role_users_still_hold_and_writes_nothing(migrated_db):
    seed_once(migrated_db)
    _add_unnamed_rows(migrated_db, assign_role=True)
    with db.connect(migrated_db) as conn:
        before = row_counts(conn)
    with pytest.raises(SeedError, match=r"LEGACY \(1\) assignment\(s\) in user_roles.*nothing was written"):
        seed_once(migrated_db, prune=True)
    with db.connect(migrated_db) as conn:
        assert row_counts(conn) == before


def test_unnamed_row_holding_a_seeded_permissions_unique_columns_fails_cleanly(migrated_db):
    with db.connect(migrated_db) as conn:
        conn.execute("""INSERT INTO permissions (id, name, "displayName", resource, action, scope,
                                                 "updatedAt")
                        VALUES ('p-old', 'PHI_READ_ALL', 'Old', 'phi', 'read', 'ORGANIZATION', now())""")
    with pytest.raises(SeedError, match=r"permissions: .*permissions_resource_action_scope_key.*--prune"):
        seed_once(migrated_db)
    with db.connect(migrated_db) as conn:
        assert row_counts(conn) == {t: 0 for t in (*SEEDED, "users", "audit_logs")} | {"permissions": 1}
    assert seed_once(migrated_db, prune=True).plans["permissions"].extra == ("PHI_READ_ALL",)


def test_service_account_the_audit_trail_created_is_the_one_the_seed_defines(migrated_db):
    with db.connect(migrated_db) as conn:
        created_by_audit_trail = system_user_id(conn)
    report = seed_once(migrated_db)
    assert report.plans["users"].unchanged == (SYSTEM_USER_EMAIL,)
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT id FROM users").fetchall() == [(created_by_audit_trail,)]


def test_a_password_set_on_the_service_account_is_made_unusable_again(migrated_db):
    seed_once(migrated_db)
    with db.connect(migrated_db) as conn:
        conn.execute("UPDATE users SET password_hash = '$2b$12$somebodysetapassword' WHERE email = %s",
                     (SYSTEM_USER_EMAIL,))
    assert seed_once(migrated_db).plans["users"].update == (SYSTEM_USER_EMAIL,)
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT password_hash FROM users").fetchone() == (UNUSABLE_PASSWORD_HASH,)


def test_unmigrated_database_says_to_migrate_first(empty_db):
    with pytest.raises(SeedError, match=r"hv db upgrade"):
        seed_once(empty_db)
