"""`hv audit rehydrate`: load an archived month back into a query table for an investigation.

The rows go into a separate table (default `audit_logs_rehydrated_YYYY_MM`), never into
`audit_logs`: rehydrated rows must not be archived a second time or mistaken for live ones. The
table is built from the columns the archive recorded (so a month archived before a migration
rehydrates with its own columns, arrays included), keyed by `id`, and marked with a comment; an existing table
without that mark is refused. It belongs to `hv_owner` and is granted as schema/access.py says for
`REHYDRATED` (the archiver reads it, backups see it, the application does not), so the posture's
grant check expects it. Everything happens in one transaction: each committed archive of the
month is decrypted and COPYed into a temporary staging table while it is re-hashed, and only when
every archive matched its manifest are the staged rows merged into the target (`ON CONFLICT (id)
DO NOTHING`, so re-running, or a month with supplementary archives, never duplicates a row).

Which archives make up the month is not taken from whatever sits under the month's name: first the
same checks as `hv audit verify` run over the chain, the `audit_log_archives` rows and the audit
trail (without reading objects), and any problem touching the month or the whole chain refuses the
rehydrate. So a manifest copied over another month's, or a month missing one of its archives (a
deleted supplementary manifest: its records and audit entry still name it), loads nothing rather
than part of the month.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from hv_pipelines.core import db, roles
from hv_pipelines.core.archival.manifest import ArchiveManifest
from hv_pipelines.core.archival.months import Month
from hv_pipelines.core.archival.parts import read_archive, sweep_stale_scratch
from hv_pipelines.core.archival.rows import ID_COLUMN, TABLE, TIME_COLUMN, Column
from hv_pipelines.core.archival.verify import COMMITTED, LIST, verify_archives
from hv_pipelines.core.arrow_copy import copy_arrow
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore
from hv_pipelines.schema import access

MARK = access.REHYDRATED_MARK
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# A type as format_type() spells the ones rows.arrow_type carries, written into CREATE TABLE as it stands:
# a name with a modifier, or an array of one (`character varying(20)[]`, carried as its text, which COPY
# reads back into the same array). Nothing else, so a manifest cannot smuggle SQL into the DDL.
_TYPE = re.compile(r"^[a-z][a-z0-9 (),]*(?:\[\])?$")
STAGING = sql.SQL("pg_temp.hv_rehydrate_staging")


@dataclass
class RehydrateResult:
    month: str
    table: str
    archives: int
    rows_read: int
    rows_inserted: int
    seconds: float

    def summary(self) -> str:
        return (f"{self.month}: {self.rows_read} rows from {self.archives} archive(s) verified and loaded into "
                f"{self.table} ({self.rows_inserted} new) in {self.seconds:.1f}s")


def default_table(month: Month) -> str:
    return f"audit_logs_rehydrated_{month.year:04d}_{month.month:02d}"


def _check_name(table: str) -> str:
    if not _NAME.match(table) or table == TABLE:
        raise ConfigurationError(f"--into {table!r}: give a new lower-case table name (letters, digits, _), "
                                 f"not {TABLE}")
    return table


def committed_manifests(conn: psycopg.Connection, store: ObjectStore, keyring: Keyring,
                        month: Month) -> list[ArchiveManifest]:
    """The month's archives whose deletes committed (uncommitted ones' rows are still in audit_logs),
    refused unless the chain, the records and the audit trail agree about the month."""
    report = verify_archives(store, keyring, conn, depth=LIST)
    if problems := report.problems_for(month.label):
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise IntegrityError(f"{month} cannot be rehydrated whole, so nothing was loaded: {problems[0]}{more}; run "
                             "`hv audit verify` and resolve it first")
    return [a.manifest for a in report.archives if a.month == month.label and a.state == COMMITTED]


def _column_defs(columns: list[Column]) -> sql.Composed:
    for column in columns:
        column.arrow_type  # noqa: B018 — raises for a type we cannot carry
        if not _TYPE.match(column.pg_type):
            raise ConfigurationError(f"archived column {column.name} has an unexpected type {column.pg_type!r}")
    return sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in columns)


def _prepare_target(conn: psycopg.Connection, table: str, columns: list[Column]) -> None:
    comment = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class'), to_regclass(%s) IS NOT NULL",
                           (table, table)).fetchone()
    target = sql.Identifier(table)
    if comment[1] and comment[0] != MARK:
        raise ConfigurationError(f"table {table} exists and was not made by `hv audit rehydrate`: choose another "
                                 "--into name")
    if not comment[1]:
        conn.execute(sql.SQL("CREATE TABLE {t} ({cols}, PRIMARY KEY ({id}))").format(
            t=target, cols=_column_defs(columns), id=sql.Identifier(ID_COLUMN)))
        conn.execute(sql.SQL("CREATE INDEX ON {t} ({ts})").format(t=target, ts=sql.Identifier(TIME_COLUMN)))
        conn.execute(sql.SQL("COMMENT ON TABLE {t} IS {mark}").format(t=target, mark=sql.Literal(MARK)))
        if roles.roles_exist(conn):  # PHI for the investigation, not the application (schema/access.py)
            roles.grant_matrix(conn, [table])
    for column in columns:
        conn.execute(sql.SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c} {type}").format(
            t=target, c=sql.Identifier(column.name), type=sql.SQL(column.pg_type)))


def _load_one(conn: psycopg.Connection, store: ObjectStore, keyring: Keyring, manifest: ArchiveManifest,
              table: str) -> tuple[int, int]:
    columns = [Column(name, pg_type) for name, pg_type in manifest.columns]
    _prepare_target(conn, table, columns)
    conn.execute(sql.SQL("CREATE TEMP TABLE {s} ({cols}) ON COMMIT DROP").format(
        s=STAGING, cols=_column_defs(columns)))
    names = [c.name for c in columns]
    stats = read_archive(store, keyring, manifest, on_table=lambda t: copy_arrow(conn, STAGING, names, [t]))
    listed = sql.SQL(", ").join(map(sql.Identifier, names))
    inserted = conn.execute(sql.SQL(
        "INSERT INTO {t} ({names}) SELECT {names} FROM {s} ON CONFLICT ({id}) DO NOTHING").format(
        t=sql.Identifier(table), names=listed, s=STAGING, id=sql.Identifier(ID_COLUMN))).rowcount
    conn.execute(sql.SQL("DROP TABLE {}").format(STAGING))
    return stats.rows, inserted


def rehydrate_month(database_url: str, store: ObjectStore, keyring: Keyring, month: Month, *,
                    into: str | None = None) -> RehydrateResult:
    """Verify every committed archive of `month` and load its rows into `into`, in one transaction."""
    started = time.monotonic()
    sweep_stale_scratch()
    table = _check_name(into or default_table(month))
    rows_read = rows_inserted = 0
    with db.connect(database_url) as conn:
        conn.execute("SET datestyle = 'ISO, MDY'")
        roles.assume_owner(conn)  # the query table belongs to hv_owner, as every table does
        manifests = committed_manifests(conn, store, keyring, month)
        if not manifests:
            raise HVError(f"no committed archive of {month} exists: `hv audit list` shows what is archived")
        try:
            for manifest in manifests:
                read, inserted = _load_one(conn, store, keyring, manifest, table)
                rows_read += read
                rows_inserted += inserted
        except psycopg.Error as exc:
            # The server's message can quote a row (COPY context): name the failure, never the data.
            raise HVError(f"loading the archive of {month} into {table} failed (SQLSTATE {exc.sqlstate}, "
                          f"{type(exc).__name__}): nothing was loaded") from None
    return RehydrateResult(month.label, table, len(manifests), rows_read, rows_inserted, time.monotonic() - started)
