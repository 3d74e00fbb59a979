"""PostgreSQL's own audit logging (the migration guide's fifth point): what to set, what is missing, and
setting it where this login may (`hv db audit-logging [--apply]`).

Connections and disconnections are logged with who, from where, to which database and application
(`log_line_prefix`); DDL and role changes through pgaudit (`pgaudit.log = 'ddl, role'`) when the
server offers the extension, else PostgreSQL's own `log_statement = 'ddl'`. Statement logs never
carry passwords set by `hv db roles create-login`: it sends the SCRAM verifier, not the password.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from hv_pipelines.core.errors import ConfigurationError

LINE_PREFIX = "%m [%p] user=%u db=%d app=%a client=%h "
BASE_SETTINGS = {"log_connections": "on", "log_disconnections": "on", "log_line_prefix": LINE_PREFIX}
PGAUDIT_SETTINGS = {"pgaudit.log": "ddl, role"}
STATEMENT_SETTINGS = {"log_statement": "ddl"}
_DDL_OR_MORE = {"ddl", "mod", "all"}


@dataclass(frozen=True)
class Recommendation:
    settings: dict[str, str]
    pgaudit: bool
    preload_needed: bool  # pgaudit is offered but not in shared_preload_libraries (a restart is needed)


def setting(conn: psycopg.Connection, name: str) -> str:
    """The server setting `name`, or "" when unset or hidden from this login (shared_preload_libraries
    needs pg_read_all_settings)."""
    try:
        with conn.transaction():
            return conn.execute("SELECT current_setting(%s, true)", (name,)).fetchone()[0] or ""
    except psycopg.errors.InsufficientPrivilege:
        return ""


def _pgaudit_loaded(conn: psycopg.Connection) -> bool:
    return "pgaudit" in [p.strip() for p in setting(conn, "shared_preload_libraries").split(",")]


def recommend(conn: psycopg.Connection) -> Recommendation:
    offered = conn.execute("SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pgaudit')").fetchone()[0]
    settings = dict(BASE_SETTINGS) | (PGAUDIT_SETTINGS if offered else STATEMENT_SETTINGS)
    return Recommendation(settings, offered, offered and not _pgaudit_loaded(conn))


def logging_gaps(conn: psycopg.Connection) -> list[str]:
    """What the server does not log that it should, each with the setting to change."""
    gaps = [f"{name} is off: set it on (`hv db audit-logging --apply`)"
            for name in ("log_connections", "log_disconnections") if setting(conn, name) != "on"]
    prefix = setting(conn, "log_line_prefix")
    if not all(escape in prefix for escape in ("%u", "%d", "%a")):
        gaps.append(f"log_line_prefix {prefix!r} does not name user, database and application (%u %d %a): "
                    f"set it to {LINE_PREFIX!r}")
    pgaudit_ddl = _pgaudit_loaded(conn) and "ddl" in setting(conn, "pgaudit.log").lower()
    if not pgaudit_ddl and setting(conn, "log_statement") not in _DDL_OR_MORE:
        gaps.append("DDL is not logged: set pgaudit.log = 'ddl, role' (with pgaudit preloaded) or log_statement = "
                    "'ddl' (`hv db audit-logging --apply`)")
    return gaps


def apply(conn: psycopg.Connection, recommendation: Recommendation) -> list[str]:
    """ALTER SYSTEM every recommended setting and reload (`conn` in autocommit); returns the names set.
    A login that may not (neither superuser nor granted ALTER SYSTEM on each parameter) is refused
    before anything is written, with what to do instead."""
    names = [n for n in recommendation.settings if not (n.startswith("pgaudit.") and recommendation.preload_needed)]
    allowed = conn.execute(
        "SELECT rolsuper OR (SELECT bool_and(has_parameter_privilege(p, 'ALTER SYSTEM')) FROM unnest(%s::text[]) p) "
        "FROM pg_roles WHERE rolname = current_user", (names,)).fetchone()[0]
    if not allowed:
        raise ConfigurationError(
            "this login may not ALTER SYSTEM: run `hv db audit-logging --apply` as a superuser (or GRANT ALTER "
            "SYSTEM ON PARAMETER ... to it), or on a managed service set the printed settings in its "
            "parameter group")
    for name in names:
        conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
            sql.SQL(".").join(sql.Identifier(part) for part in name.split(".")),
            sql.Literal(recommendation.settings[name])))
    conn.execute("SELECT pg_reload_conf()")
    return names
