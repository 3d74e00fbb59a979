"""Connections to the target PostgreSQL: psycopg 3 for COPY and DDL, SQLAlchemy for models.

The platform writes URLs as `postgresql://...` (Prisma's form, sometimes with `?schema=public`);
SQLAlchemy needs the `postgresql+psycopg` driver name and psycopg rejects Prisma's query keys.

Every connection is opened here, so a URL that cannot be parsed, a server that does not answer and
a login the server refuses all become one `DatabaseUnreachable` that names the cause and what to
fix, with the URL's password masked (libpq's own message can quote the connection string).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlunsplit

import psycopg
from psycopg import sql

from hv_pipelines.core.errors import DatabaseUnreachable
from hv_pipelines.core.settings import DATABASE_URL_EXAMPLE, mask_url, split_database_url

if TYPE_CHECKING:
    import sqlalchemy as sa

_PRISMA_ONLY_PARAMS = {"schema", "connection_limit", "pool_timeout", "pgbouncer", "socket_timeout"}
_PASSWORD = re.compile(r"://[^:/@]*:(?P<password>[^@]+)@")
# libpq's wording -> what the operator should fix (first match wins).
_ADVICE = (
    (("certificate verify failed", "does not match host name", "root certificate file", "certificate present",
      "ssl error"),
     "TLS verification failed: sslrootcert must name the CA that signed the server's certificate, and the "
     "URL's host must be a name that certificate lists (sslmode=verify-full; docs/security.md)"),
    (("no encryption",), "the server accepts TLS connections only: add sslmode=verify-full and sslrootcert to "
     "the URL (docs/security.md)"),
    (("password authentication failed", "no pg_hba.conf entry", "role \"", "authentication"),
     "the server refused the login: check the user name and password in the URL"),
    (("database \"",), "no such database on that server: create it or fix the database name in the URL"),
    (("connection refused", "no such file or directory"),
     "nothing accepts connections there: start PostgreSQL, or fix the host and port in the URL"),
    (("resolve host", "translate host name", "name or service not known"), "fix the host name in the URL"),
    (("timeout", "timed out"), "the server did not answer: check the host, port and firewall"),
    (("invalid", "missing", "unrecognized"), f"fix the URL: it should read like {DATABASE_URL_EXAMPLE}"),
)


def _scrub(text: str, url: str) -> str:
    """`text` (a libpq message) with the URL's password masked wherever it appears."""
    text = mask_url(text) or ""
    if (found := _PASSWORD.search(url)) and found["password"] != "***":
        text = text.replace(found["password"], "***")
    return text


def _unreachable(url: str, cause: str) -> DatabaseUnreachable:
    lowered = cause.lower()
    advice = next((what for needles, what in _ADVICE if any(n in lowered for n in needles)),
                  "check that the URL and the server are right")
    return DatabaseUnreachable(f"cannot connect to the database {_scrub(url, url)}: {_scrub(cause, url)}; {advice}")


def _failure(url: str, exc: BaseException) -> DatabaseUnreachable:
    """libpq's first line of what went wrong (it repeats per address tried; the rest is hints)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return _unreachable(url, lines[0].removeprefix("connection failed: ") if lines else type(exc).__name__)


def libpq_url(url: str) -> str:
    """Return `url` as libpq accepts it: plain `postgresql://` scheme, Prisma-only parameters dropped.
    A URL that is not a PostgreSQL URL, or whose port is not a number, is refused here."""
    parts = split_database_url(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in _PRISMA_ONLY_PARAMS])
    return urlunsplit(("postgresql", parts.netloc, parts.path, query, parts.fragment))


def sqlalchemy_url(url: str) -> sa.URL:
    import sqlalchemy as sa  # here, not above: `hv pitr restore` and `hv wal` connect with psycopg alone

    try:
        return sa.make_url(libpq_url(url)).set(drivername="postgresql+psycopg")
    except sa.exc.ArgumentError:
        raise DatabaseUnreachable(f"the database URL is malformed (SQLAlchemy cannot parse it): write it like "
                                  f"{DATABASE_URL_EXAMPLE}") from None


def create_engine(url: str, **kwargs: object) -> sa.Engine:
    """An engine whose failure to connect raises `DatabaseUnreachable`, as `connect` does."""
    import sqlalchemy as sa
    from sqlalchemy import event

    engine = sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True, **kwargs)

    @event.listens_for(engine, "handle_error")
    def _connect_failed(context: sa.engine.ExceptionContext) -> None:
        if context.connection is None and isinstance(context.original_exception, psycopg.Error):
            raise _failure(url, context.original_exception) from None

    return engine


@contextmanager
def connect(url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection; commits on success and rolls back on error unless `autocommit`."""
    try:
        conn = psycopg.connect(libpq_url(url), autocommit=autocommit)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        raise _failure(url, exc) from None
    with conn:
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


def with_login(url: str, user: str, password: str | None = None) -> str:
    """The same server and database as `url`, as login `user`."""
    return sqlalchemy_url(url).set(username=user, password=password).render_as_string(
        hide_password=False).replace("postgresql+psycopg://", "postgresql://", 1)


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
