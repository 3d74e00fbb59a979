"""What `rehydrate_month` refuses, and that a refusal loads nothing: a target name it must not write, a
table it did not make, a month with no committed archive, a month whose archives disagree with their
records; and what it loads: that month's rows only, once, however often it runs."""

from __future__ import annotations

import pytest

from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import Month
from hv_pipelines.core.archival.rehydrate import MARK
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError
from tests.core.archival.audit_rows import insert_audit_rows, month_rows

FEBRUARY, MARCH = Month(2024, 2), Month(2024, 3)


ARCHIVED: dict[Month, list[tuple]] = {}


@pytest.fixture
def archived(migrated_db: str, user_id: str, local_store, keyring) -> str:
    """February (40 rows) and March (50, then 5 late rows in a supplementary archive) archived;
    `ARCHIVED` holds each month's rows as they were in audit_logs."""
    insert_audit_rows(migrated_db, FEBRUARY, 40, user_id)
    insert_audit_rows(migrated_db, MARCH, 50, user_id)
    ARCHIVED[FEBRUARY], march = month_rows(migrated_db, FEBRUARY), month_rows(migrated_db, MARCH)
    archival.archive_month(migrated_db, local_store, keyring, FEBRUARY)
    archival.archive_month(migrated_db, local_store, keyring, MARCH)
    insert_audit_rows(migrated_db, MARCH, 5, user_id, start=50)
    ARCHIVED[MARCH] = sorted([*march, *month_rows(migrated_db, MARCH)], key=lambda row: row[0])
    archival.archive_month(migrated_db, local_store, keyring, MARCH)
    return migrated_db


def tables(url: str) -> set[str]:
    with db.connect(url) as conn:
        return {name for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'audit_logs_rehydrated%'")}


@pytest.mark.parametrize("into", ["audit_logs", "Incident_42", "42_incident", "incident-42", "x" * 64])
def test_a_target_name_that_is_not_a_new_lower_case_table_is_refused(migrated_db, local_store, keyring, into):
    with pytest.raises(ConfigurationError, match=rf"^--into {into!r}: give a new lower-case table name "
                                                 r"\(letters, digits, _\), not audit_logs$"):
        archival.rehydrate_month(migrated_db, local_store, keyring, FEBRUARY, into=into)


def test_the_longest_name_postgresql_keeps_is_a_target(archived, local_store, keyring):
    name = "i" * 63
    result = archival.rehydrate_month(archived, local_store, keyring, FEBRUARY, into=name)
    assert (result.table, result.archives, result.rows_read, result.rows_inserted) == (name, 1, 40, 40)


def test_a_month_rehydrates_its_own_rows_only_and_once(archived, local_store, keyring):
    first = archival.rehydrate_month(archived, local_store, keyring, MARCH)
    assert (first.month, first.table, first.archives, first.rows_read, first.rows_inserted) == (
        "2024-03", "audit_logs_rehydrated_2024_03", 2, 55, 55)
    again = archival.rehydrate_month(archived, local_store, keyring, MARCH)
    assert (again.archives, again.rows_read, again.rows_inserted) == (2, 55, 0)
    assert month_rows(archived, MARCH, first.table) == ARCHIVED[MARCH]
    assert month_rows(archived, FEBRUARY, first.table) == []
    assert first.summary().startswith("2024-03: 55 rows from 2 archive(s) verified and loaded into "
                                      "audit_logs_rehydrated_2024_03 (55 new) in ")


def test_a_table_not_made_by_rehydrate_is_refused_and_left_as_it_was(archived, local_store, keyring):
    with db.connect(archived) as conn:
        conn.execute("CREATE TABLE incident_7 (id text PRIMARY KEY, note text)")
        conn.execute("INSERT INTO incident_7 VALUES ('a', 'kept')")
        conn.execute("COMMENT ON TABLE incident_7 IS 'the investigation''s own notes'")
    with pytest.raises(ConfigurationError, match="^table incident_7 exists and was not made by `hv audit rehydrate`"):
        archival.rehydrate_month(archived, local_store, keyring, FEBRUARY, into="incident_7")
    with db.connect(archived) as conn:
        assert conn.execute("SELECT * FROM incident_7").fetchall() == [("a", "kept")]
        assert [c for (c,) in conn.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'incident_7' ORDER BY ordinal_position")] == ["id", "note"]


def test_a_table_rehydrate_made_takes_another_month(archived, local_store, keyring):
    archival.rehydrate_month(archived, local_store, keyring, FEBRUARY, into="incident_8")
    added = archival.rehydrate_month(archived, local_store, keyring, MARCH, into="incident_8")
    assert added.rows_inserted == 55
    with db.connect(archived) as conn:
        assert conn.execute("SELECT count(*) FROM incident_8").fetchone()[0] == 95
        assert conn.execute("SELECT obj_description('incident_8'::regclass, 'pg_class')").fetchone()[0] == MARK


def test_a_month_never_archived_is_refused_saying_where_to_look(archived, local_store, keyring):
    with pytest.raises(HVError, match=r"^no committed archive of 2024-04 exists: `hv audit list` shows"):
        archival.rehydrate_month(archived, local_store, keyring, Month(2024, 4))
    assert tables(archived) == set()


def test_a_month_whose_archives_disagree_with_their_records_loads_nothing(archived, local_store, keyring):
    with db.connect(archived) as conn:
        conn.execute("""DELETE FROM audit_log_archives WHERE "storagePath" LIKE '%/2024-03/%'""")
    with pytest.raises(IntegrityError, match=r"^2024-03 cannot be rehydrated whole, so nothing was loaded: archive #2 "
                                             r".* \(and 1 more problem\(s\)\); run `hv audit verify`"):
        archival.rehydrate_month(archived, local_store, keyring, MARCH)
    assert tables(archived) == set()
    # February's archive and records agree: a problem of March's is not February's.
    assert archival.rehydrate_month(archived, local_store, keyring, FEBRUARY).rows_inserted == 40


def test_one_problem_is_named_alone(archived, local_store, keyring):
    with db.connect(archived) as conn:
        conn.execute("""DELETE FROM audit_log_archives WHERE "storagePath" LIKE '%/2024-02/%'""")
    with pytest.raises(IntegrityError) as refused:
        archival.rehydrate_month(archived, local_store, keyring, FEBRUARY)
    assert "more problem" not in str(refused.value) and "2024-02" in str(refused.value)
    assert tables(archived) == set()
