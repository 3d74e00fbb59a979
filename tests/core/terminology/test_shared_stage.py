"""RxNorm's staging shared between connections (`shared_stage`): left nowhere, and not required.

A load stages RxNorm in the schema `hv_pipelines_staging` on two extra connections and drops it
in its own transaction; a load that fails leaves it, and the next load clears it first. A role
that may not create schemas loads the same rows on its one connection.
"""

import secrets
import uuid
import zipfile

import psycopg
import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology import ReleaseCheckError, history, load_release, rxnorm
from hv_pipelines.core.terminology.shared_stage import SCHEMA

OCTOBER = "RxNorm_full_10062025.zip"
NOVEMBER = "RxNorm_full_11032025.zip"
COLUMNS = 'rxcui, name, synonym, "termType", strength, "doseForm", ingredients, "brandNames", status'


def _codes(url: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute(f'SELECT {COLUMNS} FROM "RxNormCode" ORDER BY rxcui').fetchall()


def _staging_tables(url: str) -> list[str] | None:
    """The relations in the staging schema, or None when there is no such schema."""
    with db.connect(url) as conn:
        if conn.execute("SELECT to_regnamespace(%s)", (SCHEMA,)).fetchone()[0] is None:
            return None
        return [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace(%s) ORDER BY 1", (SCHEMA,))]


def test_a_load_clears_what_a_failed_one_left_and_leaves_nothing(migrated_db, releases, tmp_path):
    with db.connect(migrated_db) as conn:  # as a load killed mid-staging leaves it
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"CREATE UNLOGGED TABLE {SCHEMA}.stage_rxn_rel (subject bigint)")
        conn.execute(f"INSERT INTO {SCHEMA}.stage_rxn_rel VALUES (1)")
    result = load_release(migrated_db, "rxnorm", [releases / "rxnorm" / OCTOBER])
    assert result.counts.new == 12 and result.notes == [] and result.as_metadata()["notes"] == "-"
    assert _staging_tables(migrated_db) is None
    loaded = _codes(migrated_db)

    without_atoms = tmp_path / NOVEMBER  # no RXNORM atoms left: nothing to load, caught by the checks
    with zipfile.ZipFile(releases / "rxnorm" / NOVEMBER) as src, zipfile.ZipFile(without_atoms, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info, data.replace(b"|RXNORM|", b"|MTHSPL|") if info.filename.endswith("RXNCONSO.RRF")
                         else data)
    with pytest.raises(ReleaseCheckError, match="row_count_within_band"):
        load_release(migrated_db, "rxnorm", [without_atoms])
    assert _codes(migrated_db) == loaded
    left = _staging_tables(migrated_db)
    assert left and "raw_stage_rxn_rel" in left and "stage_rxn_links" in left, \
        "the failed load's own transaction could not drop what its other connections committed"

    assert load_release(migrated_db, "rxnorm", [releases / "rxnorm" / NOVEMBER]).counts.new == 1
    assert _staging_tables(migrated_db) is None


@pytest.fixture
def loader_role(migrated_db):
    """A role that owns "RxNormCode", may create in `public` and write the load history, but may not
    create schemas (PostgreSQL grants no one CREATE on a database by default)."""
    name, password = f"hv_loader_{uuid.uuid4().hex[:8]}", secrets.token_hex(12)
    with db.connect(migrated_db) as conn:
        try:
            with conn.transaction():
                conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the test server's user may not create roles")
        history.lock_and_ensure(conn)
        conn.execute(f'ALTER TABLE "RxNormCode" OWNER TO {name}')
        conn.execute(f"GRANT CREATE ON SCHEMA public TO {name}")  # its indexes are rebuilt there
        conn.execute(f"GRANT USAGE ON SCHEMA hv_pipelines TO {name}")
        conn.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA hv_pipelines TO {name}")
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA hv_pipelines TO {name}")
    yield db.sqlalchemy_url(migrated_db).set(username=name, password=password).render_as_string(
        hide_password=False).replace("postgresql+psycopg://", "postgresql://", 1)
    with db.connect(migrated_db) as conn:
        conn.execute(f'ALTER TABLE "RxNormCode" OWNER TO {conn.info.user}')
        conn.execute(f"DROP OWNED BY {name}")
        conn.execute(f"DROP ROLE {name}")


def test_a_role_that_may_not_create_schemas_loads_the_same_rows(migrated_db, migrated_template, pg_server_url,
                                                                 loader_role, releases):
    reference = db.create_database(pg_server_url, f"hv_test_{uuid.uuid4().hex[:12]}", template=migrated_template)
    try:
        load_release(reference, "rxnorm", [releases / "rxnorm" / OCTOBER])
        with psycopg.connect(db.libpq_url(loader_role)) as conn:
            assert not conn.execute("SELECT has_database_privilege(current_database(), 'CREATE')").fetchone()[0]
        result = load_release(loader_role, "rxnorm", [releases / "rxnorm" / OCTOBER])
        assert result.counts.new == 12 and result.rejects["count"] == 2
        assert result.notes == [rxnorm.ONE_CONNECTION] and "GRANT CREATE ON DATABASE" in result.as_metadata()["notes"]
        assert _codes(migrated_db) == _codes(reference)
        assert _staging_tables(migrated_db) is None
    finally:
        db.drop_database(pg_server_url, db.database_name(reference))


def test_a_failure_on_another_connection_fails_the_load_and_changes_nothing(migrated_db, releases, monkeypatch,
                                                                            alongside_threads):
    load_release(migrated_db, "rxnorm", [releases / "rxnorm" / OCTOBER])
    loaded = _codes(migrated_db)
    monkeypatch.setattr(rxnorm, "LINKS", "SELECT 1 / 0 AS rxcui")
    with pytest.raises(psycopg.errors.DivisionByZero):
        load_release(migrated_db, "rxnorm", [releases / "rxnorm" / NOVEMBER])
    assert _codes(migrated_db) == loaded
    assert not alongside_threads()
    monkeypatch.undo()
    assert load_release(migrated_db, "rxnorm", [releases / "rxnorm" / NOVEMBER]).counts.new == 1


def test_dropping_the_staging_does_not_wait_on_a_reader(empty_db, monkeypatch):
    from hv_pipelines.core.terminology import shared_stage

    monkeypatch.setattr(shared_stage, "LOCK_WAIT", "200ms")
    with db.connect(empty_db) as conn:
        assert shared_stage.fresh(conn)
        with db.connect(empty_db) as reader:
            reader.execute(f"CREATE TABLE {SCHEMA}.stage_rxn_links (rxcui bigint)")
            reader.commit()
            reader.execute(f"SELECT * FROM {SCHEMA}.stage_rxn_links")  # holds its lock until it commits
            conn.execute("SET LOCAL lock_timeout = '1min'")
            search_path = shared_stage.use(conn, local=True)
            shared_stage.drop(conn, search_path)
            settings = conn.execute("SELECT current_setting('lock_timeout'), current_setting('search_path')").fetchone()
            assert settings == ("1min", search_path) and SCHEMA not in search_path
            assert _staging_tables(empty_db) == ["stage_rxn_links"], "left for the next load"
            conn.commit()
        shared_stage.drop(conn, shared_stage.use(conn, local=True))
        assert conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0] == "0"
        conn.commit()
    assert _staging_tables(empty_db) is None
