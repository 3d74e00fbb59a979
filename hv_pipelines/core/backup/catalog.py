"""What a database holds, in terms a restore can be checked against: tables, row counts, schema.

The schema fingerprint hashes the catalog (columns with types, nullability and defaults;
constraints; indexes; enum labels; views; functions) so a restore into a fresh database can be
compared with its source without comparing a single row of data. Owners and grants are left out:
a restore into another server may legitimately assign them differently.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

_USER_NAMESPACES = """
    n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
    AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""

_CATALOG_QUERIES = (
    f"""SELECT 'column|' || n.nspname || '.' || c.relname || '|' || a.attname || '|'
              || format_type(a.atttypid, a.atttypmod) || '|' || a.attnotnull || '|'
              || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped AND {_USER_NAMESPACES}""",
    f"""SELECT 'constraint|' || n.nspname || '.' || c.relname || '|' || k.conname || '|' || pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_NAMESPACES}""",
    """SELECT 'index|' || schemaname || '|' || indexdef FROM pg_indexes
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')""",
    f"""SELECT 'enum|' || n.nspname || '.' || t.typname || '|' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
        FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_USER_NAMESPACES} GROUP BY n.nspname, t.typname""",
    """SELECT 'view|' || schemaname || '.' || viewname || '|' || md5(definition) FROM pg_views
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')""",
    f"""SELECT 'sequence|' || n.nspname || '.' || c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND {_USER_NAMESPACES}""",
    f"""SELECT 'function|' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid)
              || ')|' || md5(coalesce(p.prosrc, ''))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_USER_NAMESPACES} AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.objid = p.oid AND x.deptype = 'e')""",
)


def user_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Ordinary tables (and partitions) outside the system schemas, as (schema, name), sorted."""
    return [tuple(row) for row in conn.execute(
        f"""SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND {_USER_NAMESPACES} ORDER BY 1, 2""").fetchall()]


def row_counts(conn: psycopg.Connection, tables: list[tuple[str, str]] | None = None) -> dict[str, int]:
    """Exact row count of every user table, keyed `schema.table` (one count(*) per table)."""
    counts = {}
    for schema, table in tables if tables is not None else user_tables(conn):
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        counts[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
    return counts


def schema_fingerprint(conn: psycopg.Connection) -> str:
    """SHA-256 over the sorted catalog description of every user schema object."""
    lines = sorted(row[0] for query in _CATALOG_QUERIES for row in conn.execute(query).fetchall())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def alembic_revision(conn: psycopg.Connection) -> str | None:
    """The Alembic revision(s) the database is at (comma-joined if branched), None if unmanaged."""
    if conn.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None:
        return None
    revisions = sorted(row[0] for row in conn.execute("SELECT version_num FROM alembic_version").fetchall())
    return ",".join(revisions) or None


def is_empty(conn: psycopg.Connection) -> bool:
    """True when no table, view, sequence, type or function lives outside the system schemas."""
    return conn.execute(
        f"""SELECT NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                               WHERE {_USER_NAMESPACES})
               AND NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                               WHERE t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0 AND {_USER_NAMESPACES})
        """).fetchone()[0]
