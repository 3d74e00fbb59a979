"""Connections to the target PostgreSQL: psycopg 3 for COPY and DDL, SQLAlchemy for models.

The platform writes URLs as `postgresql://...` (Prisma's form, sometimes with `?schema=public`);
SQLAlchemy needs the `postgresql+psycopg` driver name and psycopg rejects Prisma's query keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import sqlalchemy as sa
from psycopg import sql

_PRISMA_ONLY_PARAMS = {"schema", "connection_limit", "pool_timeout", "pgbouncer", "socket_timeout"}


def libpq_url(url: str) -> str:
    """Return `url` as libpq accepts it: plain `postgresql://` scheme, Prisma-only parameters dropped."""
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in _PRISMA_ONLY_PARAMS])
    return urlunsplit((scheme, parts.netloc, parts.path, query, parts.fragment))


def sqlalchemy_url(url: str) -> sa.URL:
    return sa.make_url(libpq_url(url)).set(drivername="postgresql+psycopg")


def create_engine(url: str, **kwargs: object) -> sa.Engine:
    return sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True, **kwargs)


@contextmanager
def connect(url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection; commits on success and rolls back on error unless `autocommit`."""
    with psycopg.connect(libpq_url(url), autocommit=autocommit) as conn:
        yield conn


def within_lock_wait(conn: psycopg.Connection, statement: sql.Composable, wait: str) -> bool:
    """Run `statement` in a savepoint of `conn`'s transaction, waiting at most `wait` for its locks;
    False (and nothing done) when another session keeps them longer. The transaction's own
    `lock_timeout` is the same afterwards either way."""
    before = conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (wait,))
            conn.execute(statement)
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (before,))
    except psycopg.errors.LockNotAvailable:
        return False  # the savepoint's rollback restored lock_timeout too
    return True


def database_name(url: str) -> str:
    return sqlalchemy_url(url).database or ""


def with_database(url: str, name: str) -> str:
    """The same server and credentials as `url`, pointing at database `name`."""
    return sqlalchemy_url(url).set(database=name).render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://", 1)


def create_database(url: str, name: str, *, template: str | None = None) -> str:
    """Create database `name` on the server of `url` (optionally from `template`); return its URL."""
    with connect(with_database(url, "postgres"), autocommit=True) as conn:
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(stmt)
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    with connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_version(url: str) -> str:
    with connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
