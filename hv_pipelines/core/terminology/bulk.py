"""First loads: fill an empty code table without its indexes, then build them, as PostgreSQL advises.

Inserting a few hundred thousand rows into a table with six btree indexes (one over random uuid
ids) updates every index row by row, and a foreign key runs a lookup per row. Building an index
over rows already in the table is one sort, and adding a foreign key is one join — PostgreSQL's
"Populating a Database" advice. A code table is empty exactly once, on the first load of its code
system, and that load writes every row, so that is when `set_aside` does it:

- only for tables the session's role owns (a load as `hv_terminology` takes the ordinary path), and
  only for tables that are empty once locked (ACCESS EXCLUSIVE until the load commits: an empty
  table has nothing for readers, and nobody can add rows behind the load's back); a table another
  session holds for more than `LOCK_WAIT` is filled the ordinary way instead;
- the tables' own foreign keys, primary keys (over the ids the load generates) and non-unique
  indexes are dropped and recreated from PostgreSQL's own definitions (`pg_get_constraintdef`,
  `pg_get_indexdef`), with the same names, before the commit;
- a unique index on a natural key goes too when the caller names its table in `keys`: nothing in the
  block may then look rows up by that key or rely on it in an ON CONFLICT (LOINC's related merges do
  both, so LOINC keeps its keys). Maintaining SNOMED CT's key row by row takes 0.9 s of a 1.9 s insert;
  rebuilding it takes 0.4 s, and the rebuild fails on a code the release lists twice: on such a
  load it is the duplicate check (the loader then names the codes and refuses the release);
- an index another table's foreign key depends on stays (that key would have to go too).

All of it is DDL inside the load's transaction: a failed load rolls it back with the rows, and a
committed one leaves a catalog identical to the one before (the drift check compares it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from hv_pipelines.core import db

# Index builds sort in memory up to this much (per build), then spill to disk.
BUILD_MEMORY = "512MB"
# How long a first load waits for sessions reading the empty table before it takes the ordinary path.
LOCK_WAIT = "2s"


@dataclass(frozen=True)
class _SetAside:
    table: str
    drop: sql.Composed
    restore: sql.Composed


def _empty(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT FROM {})").format(sql.Identifier(table))).fetchone()[0]


def _owned(conn: psycopg.Connection, table: str) -> bool:
    """Whether this session may drop the table's indexes: only its owner (`hv_owner`) may, so a load
    running as `hv_terminology` fills even an empty table the ordinary way."""
    return conn.execute("SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE relname = %s "
                        "AND relnamespace = 'public'::regnamespace", (table,)).fetchone()[0]


def _locked(conn: psycopg.Connection, table: str) -> bool:
    """ACCESS EXCLUSIVE on `table`, or False when another session keeps it longer than `LOCK_WAIT`
    (the load then fills the table the ordinary way instead of queueing the application behind it)."""
    return db.within_lock_wait(
        conn, sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)), LOCK_WAIT)


def _set_aside_plan(conn: psycopg.Connection, tables: Sequence[str], keys: Sequence[str]) -> list[_SetAside]:
    """Foreign keys of `tables`, then their primary keys and non-unique indexes (and the unique ones
    of `keys`) that no remaining foreign key depends on: the order to drop them in (a foreign key
    may need an index of another of `tables`)."""
    rows = conn.execute(
        """
        WITH mine AS (SELECT oid, relname FROM pg_class
                      WHERE relnamespace = 'public'::regnamespace AND relname = ANY(%(t)s))
        SELECT * FROM (
        SELECT c.conrelid::regclass::text AS tab, 'fk' AS kind, c.conname AS name, pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid IN (SELECT oid FROM mine)
        UNION ALL
        SELECT i.indrelid::regclass::text, coalesce(c.contype::text, 'index'), coalesce(c.conname, x.relname),
               coalesce(pg_get_constraintdef(c.oid), pg_get_indexdef(i.indexrelid))
        FROM pg_index i
        JOIN pg_class x ON x.oid = i.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid IN (SELECT oid FROM mine)
          AND (i.indisprimary OR NOT i.indisunique OR i.indrelid IN (SELECT oid FROM mine WHERE relname = ANY(%(k)s)))
          AND NOT EXISTS (SELECT FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid
                          AND f.conrelid NOT IN (SELECT oid FROM mine))
        ) s ORDER BY kind = 'fk' DESC, tab, name
        """, {"t": list(tables), "k": list(keys)}).fetchall()
    plan = []
    for table, kind, name, definition in rows:
        target = sql.SQL(table)  # regclass text: already quoted as PostgreSQL needs it
        if kind == "index":
            plan.append(_SetAside(table, sql.SQL("DROP INDEX {}").format(sql.Identifier(name)),
                                  sql.SQL(definition)))
        else:
            plan.append(_SetAside(
                table, sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(name)),
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(target, sql.Identifier(name), sql.SQL(definition))))
    return plan


@contextmanager
def set_aside(conn: psycopg.Connection, tables: Sequence[str], *, keys: Sequence[str] = ()) -> Iterator[list[str]]:
    """Within the caller's transaction: drop the indexes and foreign keys of those `tables` that are
    empty (and the unique indexes of those also in `keys`), let the block fill them, then recreate
    everything (indexes first, then foreign keys, which need the referenced unique indexes). Yields
    the tables it set aside."""
    empty = [t for t in tables if _owned(conn, t) and _empty(conn, t) and _locked(conn, t)]
    empty = [t for t in empty if _empty(conn, t)]
    plan = _set_aside_plan(conn, empty, keys) if empty else []
    for step in plan:
        conn.execute(step.drop)
    yield empty
    if plan:
        conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(BUILD_MEMORY)))
        for step in reversed(plan):  # constraints and indexes first, foreign keys last
            conn.execute(step.restore)
