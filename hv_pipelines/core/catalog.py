"""A PostgreSQL schema's catalog as comparable data, and the differences between two of them.

Used where "the same schema" must mean exactly the same: adopting a database that `prisma migrate`
created (its catalog against the baseline's), and the test that holds the models to Prisma's DDL.
Everything is read back through PostgreSQL's own renderers (`format_type`, `pg_get_expr`,
`pg_get_indexdef`, `pg_get_constraintdef`), so two catalogs compare equal exactly when PostgreSQL
would print the same definitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg

# Bookkeeping tables of the two migration tools: present in one database and not the other by design.
IGNORED_TABLES = frozenset({"alembic_version", "_prisma_migrations"})
# The month partitions of an opt-in partitioned `audit_logs` (core/archival/partitions.py): the
# models describe the parent only; the partitions are its storage, not tables of their own.
AUDIT_LOG_PARTITION = re.compile(r"^audit_logs_(y\d{4}m\d{2}|default)$")


@dataclass
class Catalog:
    enums: dict[str, list[str]] = field(default_factory=dict)
    columns: dict[str, dict[str, tuple[str, bool, str | None]]] = field(default_factory=dict)
    indexes: dict[str, tuple[str, str]] = field(default_factory=dict)
    constraints: dict[str, tuple[str, str]] = field(default_factory=dict)


def read_enums(conn: psycopg.Connection, schema: str = "public") -> dict[str, list[str]]:
    """Each enum type's labels in their sort order (the order PostgreSQL compares them by)."""
    rows = conn.execute(
        """
        SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = %s GROUP BY t.typname
        """,
        (schema,),
    )
    return {name: list(labels) for name, labels in rows}


def read_catalog(conn: psycopg.Connection, schema: str = "public") -> Catalog:
    """Snapshot enum labels (in order), columns (type, NOT NULL, default), indexes and constraints."""
    cat = Catalog(enums=read_enums(conn, schema))
    for table, column, type_, notnull, default in conn.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
        """,
        (schema,),
    ):
        if table not in IGNORED_TABLES:
            cat.columns.setdefault(table, {})[column] = (type_, notnull, default)
    for table, name, definition in conn.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %s
        """,
        (schema,),
    ):
        if table not in IGNORED_TABLES:
            cat.indexes[name] = (table, definition)
    for table, name, definition in conn.execute(
        """
        SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = %s AND c.contype IN ('p', 'u', 'f', 'c', 'x')
        """,
        (schema,),
    ):
        if table not in IGNORED_TABLES:
            cat.constraints[name] = (table, definition)
    return cat


def _diff_named(kind: str, expected: dict, actual: dict, render=repr) -> list[str]:
    out = []
    for name in sorted(expected.keys() - actual.keys()):
        out.append(f"{kind} {name}: missing")
    for name in sorted(actual.keys() - expected.keys()):
        out.append(f"{kind} {name}: unexpected")
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            out.append(f"{kind} {name}: expected {render(expected[name])}, found {render(actual[name])}")
    return out


def _render_column(col: tuple[str, bool, str | None]) -> str:
    type_, notnull, default = col
    return type_ + (" NOT NULL" if notnull else " NULL") + (f" DEFAULT {default}" if default else "")


def diff_catalogs(expected: Catalog, actual: Catalog) -> list[str]:
    """Human-readable differences, one per line; empty when the catalogs are identical."""
    out = _diff_named("enum", expected.enums, actual.enums)
    out += _diff_named("table", {t: None for t in expected.columns}, {t: None for t in actual.columns})
    common = expected.columns.keys() & actual.columns.keys()
    out += _diff_named("column", _flat_columns(expected, common), _flat_columns(actual, common),
                       _render_column)
    out += _diff_named("index", expected.indexes, actual.indexes, lambda v: v[1])
    out += _diff_named("constraint", expected.constraints, actual.constraints, lambda v: f"{v[0]}: {v[1]}")
    return out


def _flat_columns(cat: Catalog, tables: set[str]) -> dict[str, tuple[str, bool, str | None]]:
    return {f"{t}.{c}": v for t in tables for c, v in cat.columns[t].items()}
