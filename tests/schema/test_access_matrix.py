"""The grants matrix of schema/access.py: every table reviewed once, PHI kept from who must not see it."""

from __future__ import annotations

from hv_pipelines.schema import access, metadata


def test_every_table_is_classified_as_phi_or_not_exactly_once() -> None:
    tables = set(metadata.tables)
    assert not access.PHI_TABLES & access.NON_PHI_TABLES
    assert tables - (access.PHI_TABLES | access.NON_PHI_TABLES) == set(), "add the new table to one list"
    assert (access.PHI_TABLES | access.NON_PHI_TABLES) - tables == set(), "a listed table no longer exists"


def test_no_phi_reaches_the_terminology_or_readonly_roles() -> None:
    for table in access.PHI_TABLES:
        grants = access.table_grants(table)
        assert access.TERMINOLOGY not in grants and access.READONLY not in grants, table


def test_the_audit_trail_is_append_only_for_everyone_but_the_archiver() -> None:
    grants = access.table_grants("audit_logs")
    rewriters = {role for role, privileges in grants.items() if privileges & {"UPDATE", "DELETE", "TRUNCATE"}}
    assert rewriters == {access.ARCHIVER}
    assert "UPDATE" not in grants[access.ARCHIVER]
