"""The opt-in monthly partitioning of `audit_logs`: the rebuild keeps everything, the drift check
accepts it, migrations still run, and an archive drops the month's partition only after verifying."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg
import pytest

from hv_pipelines.core import archival, db, migrations, roles
from hv_pipelines.core.archival import DECRYPT, Month, partitions
from hv_pipelines.core.archival import archive as archive_module
from hv_pipelines.core.audit_trail import system_user_id
from hv_pipelines.core.errors import ConfigurationError, IntegrityError
from hv_pipelines.schema import access
from tests.core.archival.audit_rows import count_rows, insert_audit_rows, month_rows

pytestmark = pytest.mark.slow  # each rebuilds audit_logs into two dozen partitions

MONTH = Month(2025, 6)
NOW = datetime(2026, 12, 4)


def _checksum(url: str) -> tuple[int, str]:
    with db.connect(url) as conn:
        return conn.execute("SELECT count(*), md5(string_agg(a::text, '|' ORDER BY id COLLATE \"C\")) "
                            "FROM audit_logs a").fetchone()


def _shape(url: str) -> tuple[set[str], list[str], list[str]]:
    """The parent's index names, its foreign keys and its columns' defaults."""
    with db.connect(url) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'audit_logs'")}
        fks = [r[0] for r in conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                                          "conrelid = 'audit_logs'::regclass AND contype = 'f'")]
        defaults = [r[0] for r in conn.execute(
            "SELECT column_name || '=' || coalesce(column_default, '') FROM information_schema.columns "
            "WHERE table_name = 'audit_logs' ORDER BY ordinal_position")]
    return indexes, fks, defaults


def _insert(url: str, user_id: str, moment: datetime, entry_id: str | None = None) -> None:
    with db.connect(url) as conn:
        conn.execute("INSERT INTO audit_logs (id, user_id, action, resource, resource_id, severity, \"timestamp\") "
                     "VALUES (%s, %s, 'READ', 'patient_record', 'r', 'INFO', %s)",
                     (entry_id or str(uuid.uuid4()), user_id, moment))


@pytest.fixture
def filled(migrated_db: str, user_id: str) -> str:
    for month, rows in ((MONTH, 300), (MONTH.next(), 200), (Month(2026, 11), 50)):
        insert_audit_rows(migrated_db, month, rows, user_id)
    return migrated_db


def test_enable_keeps_every_row_index_key_default_and_grant(filled: str, user_id: str) -> None:
    before, shape = _checksum(filled), _shape(filled)
    lines: list[str] = []

    result = partitions.enable(filled, now=NOW, progress=lines.append)

    assert (result.partitioned, result.rows) == (True, 550)
    assert _checksum(filled) == before
    indexes, fks, defaults = _shape(filled)
    assert (indexes, fks, defaults) == shape  # audit_logs_pkey included, now on (id, timestamp)
    assert "550 rows to rebuild" in lines[0] and any("2025-07: 200 rows (500 of 550)" in line for line in lines)
    with db.connect(filled) as conn:
        names = partitions.partitions(conn)
        assert roles.grant_drift(conn) == []
        # A partition grants no more than its parent: the application may not delete audit rows through it.
        assert not conn.execute("SELECT has_table_privilege('hv_app', 'audit_logs_y2025m06', 'DELETE')").fetchone()[0]
        assert conn.execute("SELECT has_table_privilege('hv_archiver', 'audit_logs_y2025m06', 'DELETE')").fetchone()[0]
    # from the first month with rows through three months after the current one, and the default
    assert names[0] == "audit_logs_default" and names[1] == "audit_logs_y2025m06" and names[-1] == "audit_logs_y2027m03"
    assert len(names) == 1 + 22

    for moment in (datetime(2019, 6, 1), datetime(2025, 6, 15), datetime(2031, 1, 1)):  # before, inside, after
        _insert(filled, user_id, moment)
    assert count_rows(filled, Month(2019, 6)) == 1 and count_rows(filled, MONTH) == 301
    duplicate = str(uuid.uuid4())
    _insert(filled, user_id, datetime(2025, 6, 2), duplicate)
    with pytest.raises(psycopg.errors.UniqueViolation):  # id stays unique within a month
        _insert(filled, user_id, datetime(2025, 6, 3), duplicate)


def test_the_drift_check_reports_partitioning_as_an_accepted_difference(filled: str) -> None:
    assert migrations.status(filled).accepted == []
    partitions.enable(filled, now=NOW)

    status = migrations.status(filled)

    assert status.drift == []
    [accepted] = status.accepted
    assert "primary key is (id, timestamp)" in accepted and "Prisma client keeps working" in accepted


def test_a_differently_partitioned_audit_logs_is_drift(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("DROP TABLE audit_logs")
        conn.execute("CREATE TABLE audit_logs (LIKE audit_log_archives) PARTITION BY HASH (id)")
    with db.connect(migrated_db) as conn:
        drift, accepted = migrations.audit_logs_shape(conn)
    assert accepted == [] and "not as `hv db audit-partitions enable` does" in drift[0]


def test_enable_refuses_what_it_could_not_carry_over(filled: str) -> None:
    before = _checksum(filled)
    with db.connect(filled) as conn:
        conn.execute("CREATE VIEW audit_view AS SELECT id FROM audit_logs")

    with pytest.raises(ConfigurationError, match="view audit_view"):
        partitions.enable(filled, now=NOW)

    with db.connect(filled) as conn:
        assert not partitions.is_partitioned(conn)
    assert _checksum(filled) == before


def test_a_failed_rebuild_rolls_back_whole(filled: str, user_id: str) -> None:
    partitions.enable(filled, now=NOW)
    shared = str(uuid.uuid4())
    _insert(filled, user_id, datetime(2025, 6, 5), shared)
    _insert(filled, user_id, datetime(2025, 7, 5), shared)  # one id in two months: no plain key on id
    before = _checksum(filled)

    with pytest.raises(IntegrityError, match="an id occurs in more than one month"):
        partitions.disable(filled)

    with db.connect(filled) as conn:
        assert partitions.is_partitioned(conn) and len(partitions.partitions(conn)) == 23
    assert _checksum(filled) == before and migrations.status(filled).drift == []


def test_migrations_downgrade_and_upgrade_on_a_partitioned_database(filled: str) -> None:
    partitions.enable(filled, now=NOW)

    migrations.downgrade(filled, "0001_baseline")  # the roles migration's downgrade: owners back to the login
    migrations.upgrade(filled, "head")  # its upgrade: hv_owner owns the partitions and functions, grants per matrix
    migrations.downgrade(filled, "0002_database_roles")
    migrations.upgrade(filled, "head")

    status = migrations.status(filled)
    assert (status.pending, status.drift, len(status.accepted)) == ([], [], 1)
    with db.connect(filled) as conn:
        assert roles.grant_drift(conn) == []
        owners = {r[0] for r in conn.execute(
            "SELECT relowner::regrole::text FROM pg_class WHERE relname LIKE 'audit_logs%%' AND relkind IN ('r', 'p') "
            "UNION SELECT proowner::regrole::text FROM pg_proc WHERE proname LIKE 'audit_logs%%'")}
    assert owners == {access.OWNER}
    assert count_rows(filled, MONTH) == 300


def test_enable_needs_the_roles_migration(empty_db: str) -> None:
    migrations.upgrade(empty_db, "0001_baseline")
    with pytest.raises(ConfigurationError, match="run `hv db upgrade` first"):
        partitions.enable(empty_db, now=NOW)


def test_disable_restores_the_reference_table(filled: str) -> None:
    before, shape = _checksum(filled), _shape(filled)
    partitions.enable(filled, now=NOW)

    result = partitions.disable(filled)

    assert (result.partitioned, result.rows) == (False, 550)
    assert _checksum(filled) == before and _shape(filled) == shape
    status = migrations.status(filled)
    assert (status.drift, status.accepted) == ([], [])
    with db.connect(filled) as conn:
        assert roles.grant_drift(conn) == []
        assert conn.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'audit_logs_%%'").fetchone()[0] == 0


def test_a_new_month_whose_rows_landed_in_the_default_partition_takes_them(filled: str, user_id: str,
                                                                        login_url) -> None:
    partitions.enable(filled, now=NOW, months_ahead=0)
    _insert(filled, user_id, datetime(2027, 2, 10))
    _insert(filled, user_id, datetime(2027, 2, 11))

    # as the archiver, as the schedule runs it: through the owner's function
    created = partitions.ensure_ahead(login_url(access.ARCHIVER), now=datetime(2027, 1, 5), months_ahead=2)

    assert created == 3
    with db.connect(filled) as conn:
        assert conn.execute("SELECT count(*) FROM audit_logs_y2027m02").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM audit_logs_default").fetchone()[0] == 0
        assert roles.grant_drift(conn) == []


def test_an_archived_month_is_dropped_and_rehydrates(filled: str, user_id: str, login_url, local_store,
                                                     keyring) -> None:
    partitions.enable(filled, now=NOW)
    originals = month_rows(filled, MONTH)
    with db.connect(filled) as conn:
        system_user_id(conn)  # what `hv seed` creates

    result = archival.archive_month(login_url(access.ARCHIVER), local_store, keyring, MONTH)

    assert (result.status, result.rows, result.dropped_partition) == ("archived", 300, "audit_logs_y2025m06")
    assert "vacuum" not in result.timings
    with db.connect(filled) as conn:
        assert "audit_logs_y2025m06" not in partitions.partitions(conn)
        report = archival.verify_archives(local_store, keyring, conn, depth=DECRYPT)
        assert report.ok, report.problems
        assert roles.grant_drift(conn) == []
    assert count_rows(filled, MONTH) == 0 and count_rows(filled, MONTH.next()) == 200

    rehydrated = archival.rehydrate_month(filled, local_store, keyring, MONTH)
    assert month_rows(filled, MONTH, rehydrated.table) == originals
    # a late row of the archived month lands in the default partition and is archived by delete
    insert_audit_rows(filled, MONTH, 3, user_id, start=1000)
    late = archival.archive_month(filled, local_store, keyring, MONTH)
    assert (late.kind, late.rows, late.dropped_partition) == ("supplementary", 3, None)
    assert count_rows(filled, MONTH) == 0


def test_a_failure_between_export_and_drop_leaves_the_partition(filled: str, local_store, keyring,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    partitions.enable(filled, now=NOW)
    originals = month_rows(filled, MONTH)

    def refuse(*args, **kwargs):
        raise IntegrityError("the read-back did not match")

    with monkeypatch.context() as patch:
        patch.setattr(archive_module, "read_archive", refuse)
        with pytest.raises(IntegrityError):
            archival.archive_month(filled, local_store, keyring, MONTH)

    assert month_rows(filled, MONTH) == originals
    with db.connect(filled) as conn:
        assert "audit_logs_y2025m06" in partitions.partitions(conn)
    assert archival.archive_month(filled, local_store, keyring, MONTH).dropped_partition == "audit_logs_y2025m06"


def test_the_drop_refuses_a_partition_that_holds_other_rows_than_archived(filled: str) -> None:
    partitions.enable(filled, now=NOW)
    with db.connect(filled) as conn:
        with pytest.raises(IntegrityError, match="no longer holds exactly the 299 rows"):
            partitions.drop_month(conn, MONTH, 299)
        conn.rollback()
        assert "audit_logs_y2025m06" in partitions.partitions(conn)
        assert partitions.drop_month(conn, MONTH, 300) == "audit_logs_y2025m06"


def test_the_archiver_may_drop_months_only_through_the_functions(filled: str, login_url) -> None:
    partitions.enable(filled, now=NOW)
    with db.connect(login_url(access.ARCHIVER)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DROP TABLE audit_logs_y2025m07")
    with db.connect(login_url(access.APP)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        partitions.drop_month(conn, MONTH.next(), 200)
    assert count_rows(filled, MONTH.next()) == 200
