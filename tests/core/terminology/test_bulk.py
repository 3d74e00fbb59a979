"""First loads fill empty code tables without their indexes and rebuild them: same catalog after,
same rows, and nothing of it left behind when the load fails."""

import time

import psycopg
import pytest

from hv_pipelines.core import db
from hv_pipelines.core.catalog import diff_catalogs, read_catalog
from hv_pipelines.core.terminology import load_release
from hv_pipelines.core.terminology.bulk import set_aside


def _catalog(url: str):
    with db.connect(url) as conn:
        return read_catalog(conn)


def _index_names(url: str, table: str) -> set[str]:
    with db.connect(url) as conn:
        return _index_names_on(conn, table)


def _index_names_on(conn, table: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))}


def test_first_load_rebuilds_every_index_and_foreign_key_it_set_aside(migrated_db, releases, rejects_store):
    before = _catalog(migrated_db)
    result = load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"], store=rejects_store)
    assert result.counts.new == 13 and result.related["LOINCUnit"].new > 0
    assert result.as_metadata()["rebuilt_indexes"] == "LOINCCode, LOINCUnit, CodeMapping"
    again = load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"], store=rejects_store)
    assert again.as_metadata()["rebuilt_indexes"] == "-"
    assert diff_catalogs(before, _catalog(migrated_db)) == []
    with db.connect(migrated_db) as conn:
        # The rebuilt foreign keys hold: every unit points at its code, every mapping at a code.
        assert conn.execute('SELECT count(*) FROM "LOINCUnit" u LEFT JOIN "LOINCCode" c ON c.id = u."loincCodeId" '
                            "WHERE c.id IS NULL").fetchone()[0] == 0
        with conn.transaction():
            conn.execute("SET LOCAL enable_seqscan = off")
            found = conn.execute('EXPLAIN SELECT * FROM "LOINCCode" WHERE "commonName" = %s', ("x",)).fetchall()
        assert "LOINCCode_commonName_idx" in " ".join(r[0] for r in found)


def test_only_empty_tables_are_set_aside_and_referenced_indexes_stay(migrated_db):
    with db.connect(migrated_db) as conn:
        conn.execute("""INSERT INTO "CPTCode" (id, code, description, category, status, "updatedAt")
                        VALUES ('c1', '99213', 'Office visit', 'EVALUATION_MANAGEMENT', 'ACTIVE', now())""")
        with set_aside(conn, ["CPTCode", "LOINCCode", "LOINCUnit"]) as emptied:
            assert emptied == ["LOINCCode", "LOINCUnit"]
            left = {r[0]: r[1] for r in conn.execute(
                "SELECT indexname, tablename FROM pg_indexes WHERE tablename IN ('CPTCode', 'LOINCCode', 'LOINCUnit')")}
            # LOINCCode's primary key backs other tables' foreign keys; unique natural keys stay.
            assert {n for n, t in left.items() if t == "LOINCCode"} == {"LOINCCode_pkey", "LOINCCode_loincNumber_key"}
            assert {n for n, t in left.items() if t == "LOINCUnit"} == set()
            assert len([t for t in left.values() if t == "CPTCode"]) == len(_index_names(migrated_db, "CPTCode"))
        conn.rollback()
    assert "LOINCUnit_unit_idx" in _index_names(migrated_db, "LOINCUnit")


def test_a_code_table_without_related_merges_has_its_key_rebuilt_too(migrated_db, releases, rejects_store):
    before = _catalog(migrated_db)
    with db.connect(migrated_db) as conn:
        with set_aside(conn, ["ICD10Code"], keys=["ICD10Code"]):
            assert _index_names_on(conn, "ICD10Code") == set()
        conn.rollback()
    result = load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"],
                          store=rejects_store)
    assert result.counts.new > 0 and result.as_metadata()["rebuilt_indexes"] == "ICD10Code"
    assert diff_catalogs(before, _catalog(migrated_db)) == []


def test_a_key_set_aside_is_enforced_again_when_it_is_rebuilt(migrated_db):
    with db.connect(migrated_db) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation, match="CPTCode_code_key"), \
                set_aside(conn, ["CPTCode"], keys=["CPTCode"]):
            conn.execute("""INSERT INTO "CPTCode" (id, code, description, category, status, "updatedAt")
                            VALUES ('c1', '99213', 'Office visit', 'EVALUATION_MANAGEMENT', 'ACTIVE', now()),
                                   ('c2', '99213', 'Office visit', 'EVALUATION_MANAGEMENT', 'ACTIVE', now())""")
        conn.rollback()
    assert "CPTCode_code_key" in _index_names(migrated_db, "CPTCode")


def test_a_failed_first_load_leaves_the_indexes_in_place(migrated_db, releases, rejects_store, monkeypatch):
    before = _catalog(migrated_db)

    def fail(*args, **kwargs):
        raise RuntimeError("injected after the indexes were set aside")

    monkeypatch.setattr("hv_pipelines.core.terminology.loinc._merge_mappings", fail)
    with pytest.raises(RuntimeError, match="injected"):
        load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"], store=rejects_store)
    assert diff_catalogs(before, _catalog(migrated_db)) == []
    with db.connect(migrated_db) as conn:
        assert conn.execute('SELECT count(*) FROM "LOINCCode"').fetchone()[0] == 0


def test_a_table_another_session_holds_is_filled_the_ordinary_way(migrated_db):
    with db.connect(migrated_db) as reader, db.connect(migrated_db) as conn:
        reader.execute('SELECT count(*) FROM "LOINCUnit"')  # its transaction keeps ACCESS SHARE
        started = time.monotonic()
        with set_aside(conn, ["LOINCCode", "LOINCUnit"]) as emptied:
            assert emptied == ["LOINCCode"]
            assert "LOINCUnit_unit_idx" in {r[0] for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'LOINCUnit'")}
        assert time.monotonic() - started < 10
        assert conn.execute("SHOW lock_timeout").fetchone()[0] == "0"
        conn.rollback()
