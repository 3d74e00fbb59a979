"""Opt-in monthly partitioning of `audit_logs`: an archived month is detached and dropped, not deleted.

Unpartitioned (the default), archiving a month DELETEs its rows and VACUUMs `audit_logs`, whose index
pass reads every index of the whole table; that pass, not the export, is what bounds archival's
speed (docs/archival.md has the figures). Partitioned by month of `timestamp`, the month is its own
table: after the same export, read-back and verification it is DETACHed and DROPped, with no dead
rows and nothing to vacuum.

What changes against the Prisma reference, on purpose and only here: a partitioned table's primary
key must include the partition key, so `audit_logs_pkey` is `(id, "timestamp")`, not `(id)`. The
Prisma client keeps working (it inserts and reads by `id`; nothing references `audit_logs`). `id`
stays unique within each month by a unique index on every partition; across months it rests on
how ids are made (uuid v4: Prisma's `@default(uuid())` and core/audit_trail.py) and on rows never
moving between months (no role but `hv_owner` may UPDATE `audit_logs`). `ON CONFLICT (id)` on
`audit_logs` would no longer find its constraint: neither the application nor the pipeline uses it.
The drift check (core/migrations.py `audit_logs_shape`) reports this as accepted, not as drift.

DDL on a partitioned table needs its owner, so two SECURITY DEFINER functions owned by it (in
the pipeline's schema, EXECUTE for `hv_archiver` only) do what the archiver's role may not:
`audit_logs_add_partitions` creates months ahead (moving a month's rows out of the default
partition first when some landed there) and `audit_logs_drop_month` detaches and drops one month's
partition after checking it holds exactly the rows archived. The archiver could already DELETE
any audit row, so neither function lets it do more than it could before.

`enable` and `disable` rebuild the table in one transaction under an ACCESS EXCLUSIVE lock (writers
wait; a failure rolls everything back), copying month by month with progress, then building the
keys and indexes once, as a bulk load should, and re-applying the grants of schema/access.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from hv_pipelines.core import db, roles
from hv_pipelines.core.archival.months import Month, utc_naive
from hv_pipelines.core.archival.rows import ID_COLUMN, TABLE, TIME_COLUMN
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError
from hv_pipelines.schema import access

SCHEMA = "public"
FUNCTIONS = access.PIPELINE_SCHEMA
DEFAULT_PARTITION = f"{TABLE}_default"
MONTHS_AHEAD = 3
_OLD = f"{TABLE}_hv_rebuild"
PARTITIONED_PKEY = (ID_COLUMN, TIME_COLUMN)

Progress = Callable[[str], None]


def partition_name(month: Month) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


# Created by `enable`, owned by the table's owner. Every name is schema-qualified and the
# search_path pinned: a SECURITY DEFINER function must not resolve names through the caller's path.
_ADD_PARTITIONS = """
CREATE OR REPLACE FUNCTION {fn}(first_month date, last_month date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET datestyle = 'ISO, MDY' AS $fn$
DECLARE
    month date := date_trunc('month', first_month);
    part text;
    created integer := 0;
    grant_row record;
BEGIN
    WHILE month <= last_month LOOP
        part := format('audit_logs_y%sm%s', to_char(month, 'YYYY'), to_char(month, 'MM'));
        IF to_regclass(format('public.%I', part)) IS NULL THEN
            -- Rows of the month already in the default partition move into the new one.
            EXECUTE format('CREATE TABLE public.%I (LIKE public.audit_logs INCLUDING DEFAULTS)', part);
            EXECUTE format('WITH moved AS (DELETE FROM public.audit_logs_default WHERE "timestamp" >= %L '
                           'AND "timestamp" < %L RETURNING *) INSERT INTO public.%I SELECT * FROM moved',
                           month, month + interval '1 month', part);
            EXECUTE format('ALTER TABLE public.audit_logs ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
                           part, month, month + interval '1 month');
            EXECUTE format('CREATE UNIQUE INDEX %I ON public.%I (id)', part || '_id_key', part);
            EXECUTE format('REVOKE ALL ON public.%I FROM PUBLIC', part);
            FOR grant_row IN
                SELECT DISTINCT r.rolname FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
                WHERE c.oid = 'public.audit_logs'::regclass AND a.grantee <> c.relowner
                UNION
                SELECT r.rolname FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
                WHERE c.oid = format('public.%I', part)::regclass AND a.grantee <> c.relowner
            LOOP
                EXECUTE format('REVOKE ALL ON public.%I FROM %I', part, grant_row.rolname);
            END LOOP;
            FOR grant_row IN
                SELECT r.rolname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
                JOIN pg_roles r ON r.oid = a.grantee
                WHERE c.oid = 'public.audit_logs'::regclass AND a.grantee <> c.relowner
            LOOP
                EXECUTE format('GRANT %s ON public.%I TO %I', grant_row.privilege_type, part, grant_row.rolname);
            END LOOP;
            created := created + 1;
        END IF;
        month := month + interval '1 month';
    END LOOP;
    RETURN created;
END
$fn$"""

_DROP_MONTH = """
CREATE OR REPLACE FUNCTION {fn}(month_start timestamp, archived_rows bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET datestyle = 'ISO, MDY' AS $fn$
DECLARE
    part text := format('audit_logs_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    held bigint;
BEGIN
    IF month_start <> date_trunc('month', month_start) THEN
        RAISE EXCEPTION '% is not the start of a month', month_start;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'public.audit_logs'::regclass AND c.relname = part
                     AND c.relnamespace = 'public'::regnamespace
                     AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES FROM (%L) TO (%L)',
                         month_start, month_start + interval '1 month')) THEN
        RAISE EXCEPTION 'public.% is not the partition of audit_logs for the month from %', part, month_start;
    END IF;
    EXECUTE format('SELECT count(*) FROM public.%I', part) INTO held;
    IF held <> archived_rows THEN
        RAISE EXCEPTION 'public.% holds % rows, the archive % (nothing was dropped)', part, held, archived_rows
            USING ERRCODE = 'data_exception';
    END IF;
    EXECUTE format('ALTER TABLE public.audit_logs DETACH PARTITION public.%I', part);
    EXECUTE format('DROP TABLE public.%I', part);
    RETURN part;
END
$fn$"""

ADD_FUNCTION = sql.Identifier(FUNCTIONS, "audit_logs_add_partitions")
DROP_FUNCTION = sql.Identifier(FUNCTIONS, "audit_logs_drop_month")
_FUNCTION_SIGNATURES = ((ADD_FUNCTION, "date, date"), (DROP_FUNCTION, "timestamp, bigint"))


def is_partitioned(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)",
                        (f"{SCHEMA}.{TABLE}",)).fetchone() == (True,)


def partitions(conn: psycopg.Connection) -> list[str]:
    """The partitions of `audit_logs` (empty when it is not partitioned), by name."""
    return [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s) ORDER BY 1", (f"{SCHEMA}.{TABLE}",))]


def month_partition(conn: psycopg.Connection, month: Month) -> str | None:
    """The month's own partition, when `audit_logs` is partitioned and has one."""
    name = partition_name(month)
    return name if name in partitions(conn) else None


def add_partitions(conn: psycopg.Connection, first: Month, last: Month) -> int:
    """Create the missing month partitions from `first` to `last` (through the owner's function)."""
    return conn.execute(sql.SQL("SELECT {}(%s, %s)").format(ADD_FUNCTION), (first.start.date(), last.start.date())
                        ).fetchone()[0]


def _this_and_ahead(now: datetime | None, months_ahead: int) -> tuple[Month, Month]:
    current = Month.of(utc_naive(now or datetime.now(UTC)))
    last = current
    for _ in range(months_ahead):
        last = last.next()
    return current, last


def ensure_ahead(database_url: str, *, months_ahead: int = MONTHS_AHEAD, now: datetime | None = None) -> int | None:
    """Partitions from this month to `months_ahead` months on; None when `audit_logs` is not partitioned."""
    current, last = _this_and_ahead(now, months_ahead)
    with db.connect(database_url) as conn:
        if not is_partitioned(conn):
            return None
        return add_partitions(conn, current, last)


def drop_month(conn: psycopg.Connection, month: Month, archived_rows: int) -> str:
    """In the caller's transaction: detach and drop the month's partition, refused unless it holds
    exactly `archived_rows` rows (seen by the caller's snapshot)."""
    try:
        return conn.execute(sql.SQL("SELECT {}(%s, %s)").format(DROP_FUNCTION),
                            (month.start, archived_rows)).fetchone()[0]
    except psycopg.errors.DataException:
        raise IntegrityError(f"{month}: the partition {partition_name(month)} no longer holds exactly the {archived_rows} "
                             "rows archived, so nothing was dropped; re-run the archive") from None


@dataclass
class RebuildResult:
    partitioned: bool
    rows: int
    partitions: int
    seconds: float

    def summary(self) -> str:
        shape = f"partitioned by month ({self.partitions} partitions)" if self.partitioned else "a plain table"
        return f"{TABLE} is now {shape}: {self.rows:,} rows kept, in {self.seconds:.1f}s"


def _table_definitions(conn: psycopg.Connection) -> tuple[list[str], list[str]]:
    """The table's non-key index definitions and its foreign keys, to recreate after the rebuild."""
    oid = f"{SCHEMA}.{TABLE}"
    indexes = [r[0] for r in conn.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY c.relname", (oid,))]
    fks = [sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
        sql.Identifier(SCHEMA, TABLE), sql.Identifier(name), sql.SQL(definition)).as_string(conn)
        for name, definition in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f' ORDER BY conname", (oid,))]
    return indexes, fks


def _refuse_dependents(conn: psycopg.Connection) -> None:
    """What a rebuild could not carry over: keys pointing at the table, triggers, policies, views."""
    oid = f"{SCHEMA}.{TABLE}"
    found = conn.execute(
        """
        SELECT 'foreign key ' || conname FROM pg_constraint WHERE confrelid = %(t)s::regclass AND contype = 'f'
        UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = %(t)s::regclass AND NOT tgisinternal
        UNION ALL SELECT 'policy ' || polname FROM pg_policy WHERE polrelid = %(t)s::regclass
        UNION ALL SELECT DISTINCT 'view ' || v.relname FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
                  JOIN pg_class v ON v.oid = w.ev_class WHERE d.refobjid = %(t)s::regclass AND v.oid <> %(t)s::regclass
        """, {"t": oid}).fetchall()
    if found:
        raise ConfigurationError(f"{TABLE} has {', '.join(r[0] for r in found)}, which the rebuild would not carry "
                                 "over: nothing was changed; drop or move them first")


def _months_of(conn: psycopg.Connection, table: str) -> list[tuple[Month, int]]:
    rows = conn.execute(sql.SQL('SELECT date_trunc(\'month\', {ts}) AS m, count(*) FROM {t} GROUP BY m ORDER BY m')
                        .format(ts=sql.Identifier(TIME_COLUMN), t=sql.Identifier(SCHEMA, table))).fetchall()
    return [(Month.of(m), n) for m, n in rows]


def _create_functions(conn: psycopg.Connection) -> None:
    for template, name in ((_ADD_PARTITIONS, ADD_FUNCTION), (_DROP_MONTH, DROP_FUNCTION)):
        conn.execute(sql.SQL(template).format(fn=name))
    for name, signature in _FUNCTION_SIGNATURES:
        function = sql.SQL("{}({})").format(name, sql.SQL(signature))
        conn.execute(sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(function))
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(function, sql.Identifier(access.ARCHIVER)))


def _drop_functions(conn: psycopg.Connection) -> None:
    for name, signature in _FUNCTION_SIGNATURES:
        conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {}({})").format(name, sql.SQL(signature)))


def _begin_rebuild(conn: psycopg.Connection, lock_timeout: str, say: Progress) -> tuple[int, list[str], list[str]]:
    """Lock the table, remember its indexes and keys, and rename it aside; returns its row count."""
    if not roles.assume_owner(conn):
        raise ConfigurationError(f"{TABLE} can be rebuilt only once the roles migration has run here (hv_owner owns "
                                 "the table and the functions the archiver uses): run `hv db upgrade` first")
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
    try:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(SCHEMA, TABLE)))
    except psycopg.errors.LockNotAvailable:
        raise HVError(f"{TABLE} stayed in use for {lock_timeout}: nothing was changed; retry when fewer sessions "
                      "write audit rows, or with a longer --lock-timeout") from None
    conn.execute("SET LOCAL lock_timeout = DEFAULT; SET LOCAL statement_timeout = 0")
    conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
    _refuse_dependents(conn)
    indexes, fks = _table_definitions(conn)
    total = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(SCHEMA, TABLE))).fetchone()[0]
    say(f"{TABLE}: {total:,} rows to rebuild, with {len(indexes)} indexes and {len(fks)} foreign key(s)")
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(SCHEMA, TABLE), sql.Identifier(_OLD)))
    return total, indexes, fks


def _finish_rebuild(conn: psycopg.Connection, total: int, pkey: tuple[str, ...], indexes: list[str],
                    fks: list[str], say: Progress) -> None:
    """Check every row came over, drop the old table, build the keys and indexes, grant per the matrix."""
    copied = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(SCHEMA, TABLE))).fetchone()[0]
    if copied != total:
        raise IntegrityError(f"{TABLE}: {copied:,} of {total:,} rows copied; rolled back, nothing was changed")
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(SCHEMA, _OLD)))
    tick = time.monotonic()
    try:
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
            sql.Identifier(SCHEMA, TABLE), sql.Identifier(f"{TABLE}_pkey"), sql.SQL(", ").join(map(sql.Identifier, pkey))))
    except psycopg.errors.UniqueViolation:
        raise IntegrityError(f"{TABLE}: an id occurs in more than one month, so ({', '.join(pkey)}) cannot be its "
                             "primary key; rolled back, nothing was changed") from None
    for statement in [*indexes, *fks]:
        conn.execute(statement.encode())
    say(f"  built the primary key ({', '.join(pkey)}), {len(indexes)} indexes and {len(fks)} foreign key(s) in "
        f"{time.monotonic() - tick:.1f}s")
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(SCHEMA, TABLE)))
    roles.grant_matrix(conn, [TABLE, *partitions(conn)])


def _copy_month(conn: psycopg.Connection, target: str, month: Month | None, rows: int, done: int, total: int,
                say: Progress) -> None:
    where = sql.SQL("")
    params: tuple = ()
    if month is not None:
        where = sql.SQL(" WHERE {ts} >= %s AND {ts} < %s").format(ts=sql.Identifier(TIME_COLUMN))
        params = (month.start, month.end)
    conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}{}").format(
        sql.Identifier(SCHEMA, target), sql.Identifier(SCHEMA, _OLD), where), params)
    say(f"  {month or 'all'}: {rows:,} rows ({done + rows:,} of {total:,})")


def enable(database_url: str, *, months_ahead: int = MONTHS_AHEAD, now: datetime | None = None,
           lock_timeout: str = "30s", progress: Progress = lambda _: None) -> RebuildResult:
    """Turn `audit_logs` into a table partitioned by month, in one transaction; see the module docstring."""
    started = time.monotonic()
    current, last = _this_and_ahead(now, months_ahead)
    with db.connect(database_url) as conn:
        if is_partitioned(conn):
            raise ConfigurationError(f"{TABLE} is already partitioned by month: nothing to do "
                                     "(`hv db audit-partitions status` lists its partitions)")
        total, indexes, fks = _begin_rebuild(conn, lock_timeout, progress)
        months = _months_of(conn, _OLD)
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING STORAGE) PARTITION BY RANGE ({})")
                     .format(sql.Identifier(SCHEMA, TABLE), sql.Identifier(SCHEMA, _OLD), sql.Identifier(TIME_COLUMN)))
        conn.execute(sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
            sql.Identifier(SCHEMA, DEFAULT_PARTITION), sql.Identifier(SCHEMA, TABLE)))
        conn.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(
            sql.Identifier(f"{DEFAULT_PARTITION}_id_key"), sql.Identifier(SCHEMA, DEFAULT_PARTITION),
            sql.Identifier(ID_COLUMN)))
        _create_functions(conn)
        first = min([m for m, _ in months] + [current])
        add_partitions(conn, first, max([m for m, _ in months] + [last]))
        done = 0
        for month, rows in months:
            _copy_month(conn, partition_name(month), month, rows, done, total, progress)
            done += rows
        _finish_rebuild(conn, total, PARTITIONED_PKEY, indexes, fks, progress)
        count = len(partitions(conn))
    return RebuildResult(True, total, count, time.monotonic() - started)


def disable(database_url: str, *, lock_timeout: str = "30s", progress: Progress = lambda _: None) -> RebuildResult:
    """Turn a partitioned `audit_logs` back into the reference's plain table keyed by `id`."""
    started = time.monotonic()
    with db.connect(database_url) as conn:
        if not is_partitioned(conn):
            raise ConfigurationError(f"{TABLE} is not partitioned: nothing to do")
        total, indexes, fks = _begin_rebuild(conn, lock_timeout, progress)
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING STORAGE)").format(
            sql.Identifier(SCHEMA, TABLE), sql.Identifier(SCHEMA, _OLD)))
        _copy_month(conn, TABLE, None, total, 0, total, progress)
        _drop_functions(conn)
        _finish_rebuild(conn, total, (ID_COLUMN,), indexes, fks, progress)
    return RebuildResult(False, total, 0, time.monotonic() - started)
