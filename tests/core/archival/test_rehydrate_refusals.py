"""What `rehydrate_month` refuses, and that a refusal loads nothing: a target name it must not write, a
table it did not make, a month with no committed archive, a month whose archives disagree with their
records; and what it loads: that month's rows only, once, however often it runs."""

from __future__ import annotations

import re

import pytest

from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import Month
from hv_pipelines.core.archival.rehydrate import MARK, _column_defs
from hv_pipelines.core.archival.rows import Column
from hv_pipelines.core.archival.verify import LIST, verify_archives
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError
from hv_pipelines.core.storage import LocalStore
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
    assert 0 <= first.seconds < 600 and 0 <= again.seconds < 600
    assert first.summary().startswith("2024-03: 55 rows from 2 archive(s) verified and loaded into "
                                      "audit_logs_rehydrated_2024_03 (55 new) in ")


def test_a_table_not_made_by_rehydrate_is_refused_and_left_as_it_was(archived, local_store, keyring):
    with db.connect(archived) as conn:
        conn.execute("CREATE TABLE incident_7 (id text PRIMARY KEY, note text)")
        conn.execute("INSERT INTO incident_7 VALUES ('a', 'kept')")
        conn.execute("COMMENT ON TABLE incident_7 IS 'the investigation''s own notes'")
    with pytest.raises(ConfigurationError, match="^table incident_7 exists and was not made by `hv audit rehydrate`: "
                                                 "choose another --into name$"):
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
    with db.connect(archived) as conn:
        (problem,) = verify_archives(local_store, keyring, conn, depth=LIST).problems_for("2024-02")
    assert str(refused.value) == (f"2024-02 cannot be rehydrated whole, so nothing was loaded: {problem}; run "
                                  "`hv audit verify` and resolve it first")
    assert problem.startswith("archive #1 ")
    assert tables(archived) == set()


class OpenCountingStore(LocalStore):
    """The fixture's directory, recording every key opened (manifests and archive objects alike)."""

    def __init__(self, root):
        super().__init__(root)
        self.opened: list[str] = []

    def open(self, key: str):
        self.opened.append(key)
        return super().open(key)


def test_a_month_is_checked_against_its_records_without_reading_any_archive_object(archived, local_store, keyring):
    """The chain and records are checked from manifests alone; the month's own objects are read once, by
    the load that re-hashes them, and no other month's object is read at all."""
    store = OpenCountingStore(local_store.root)
    assert archival.rehydrate_month(archived, store, keyring, FEBRUARY).rows_inserted == 40
    objects = [key for key in store.opened if not key.endswith(".json")]
    assert len(objects) == len(set(objects)) >= 1 and all("/2024-02/" in key for key in objects)


ARRAYS = [  # (labels varchar(20)[], codes character(3)[]) as SQL literals: what an array's text can hold
    ("""'{plain,"comma, \\"quoted\\"",NULL,"",患者,"back\\\\slash","NULL"}'""", "'{ab,\"c \",NULL}'"),
    ("'{}'", "NULL"),
    ("NULL", "'{}'"),
    ("'{{a,b},{c,d}}'", "'[0:1]={x,yz}'"),
]


def test_a_month_archived_with_array_columns_rehydrates_value_for_value_after_its_rows_left_audit_logs(
        migrated_db, user_id, local_store, keyring):
    """The archiver carries a character varying or character array as its text (`{a,"b c",NULL}`, bounds
    and dimensions included); rehydrate recreates the column with its type, and COPY reads that text back
    into the same array. Archived (the month's rows deleted from audit_logs), then rehydrated."""
    with db.connect(migrated_db) as conn:
        conn.execute("ALTER TABLE audit_logs ADD COLUMN labels character varying(20)[], ADD COLUMN codes character(3)[]")
    insert_audit_rows(migrated_db, FEBRUARY, len(ARRAYS), user_id)
    with db.connect(migrated_db) as conn:
        ids = [i for (i,) in conn.execute('SELECT id FROM audit_logs ORDER BY id COLLATE "C"')]
        for row_id, (labels, codes) in zip(ids, ARRAYS, strict=True):
            conn.execute(f"UPDATE audit_logs SET labels = {labels}, codes = {codes} WHERE id = %s", (row_id,))
    arrays = 'SELECT id, labels, codes, labels::text, codes::text FROM {} ORDER BY id COLLATE "C"'
    with db.connect(migrated_db) as conn:
        before = conn.execute(arrays.format("audit_logs")).fetchall()
    rows = month_rows(migrated_db, FEBRUARY)
    assert [r[1] for r in before][:2] == [["plain", 'comma, "quoted"', None, "", "患者", "back\\slash", "NULL"], []]

    archived = archival.archive_month(migrated_db, local_store, keyring, FEBRUARY)
    assert archived.rows == len(ARRAYS) and month_rows(migrated_db, FEBRUARY) == []
    loaded = archival.rehydrate_month(migrated_db, local_store, keyring, FEBRUARY)

    assert (loaded.rows_read, loaded.rows_inserted) == (len(ARRAYS), len(ARRAYS))
    assert month_rows(migrated_db, FEBRUARY, loaded.table) == rows
    with db.connect(migrated_db) as conn:
        assert conn.execute(arrays.format(loaded.table)).fetchall() == before
        assert conn.execute("SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns "
                            "JOIN pg_attribute ON attrelid = %s::regclass AND attname = column_name "
                            "WHERE table_name = %s AND data_type = 'ARRAY' ORDER BY ordinal_position",
                            (loaded.table, loaded.table)).fetchall() == [
            ("labels", "character varying(20)[]"), ("codes", "character(3)[]")]


@pytest.mark.parametrize("pg_type", ["character varying(20)); DROP TABLE audit_logs; --", "character varying[]]",
                                     "character varying(20)[]x"])
def test_an_archived_type_that_is_not_a_plain_type_name_is_refused_by_name_and_type(pg_type):
    """The types rehydrate writes into CREATE TABLE come from the sealed manifest; one that is not a type
    name as PostgreSQL's format_type spells it (only a forged or foreign manifest could hold it) is refused."""
    with pytest.raises(ConfigurationError, match=rf"^archived column labels has an unexpected type "
                                                 rf"{re.escape(repr(pg_type))}$"):
        _column_defs([Column("id", "uuid"), Column("labels", pg_type)])


def test_a_load_the_database_refuses_names_its_sqlstate_never_a_row_and_loads_nothing(archived, local_store,
                                                                                    keyring):
    """The target rehydrate made for February, constrained since to February's rows: March's rows violate
    the constraint, whose server message would quote a row (PHI)."""
    archival.rehydrate_month(archived, local_store, keyring, FEBRUARY, into="incident_9")
    with db.connect(archived) as conn:
        conn.execute("""ALTER TABLE incident_9 ADD CONSTRAINT february_only CHECK ("timestamp" < '2024-03-01')""")
    with pytest.raises(HVError) as refused:
        archival.rehydrate_month(archived, local_store, keyring, MARCH, into="incident_9")
    assert str(refused.value) == ("loading the archive of 2024-03 into incident_9 failed (SQLSTATE 23514, "
                                  "CheckViolation): nothing was loaded")
    assert month_rows(archived, FEBRUARY, "incident_9") == ARCHIVED[FEBRUARY]
    assert month_rows(archived, MARCH, "incident_9") == []
