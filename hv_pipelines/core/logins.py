"""Login roles for people and jobs, and who holds what: `hv db roles create-login` and `hv db roles list`.

A login is a member of one of the group roles of schema/access.py and holds no privilege of its
own. Its password is hashed with SCRAM-SHA-256 by libpq on this side (`PQencryptPasswordConn`),
so the server, and any statement log it keeps (`log_statement = 'ddl'` records CREATE ROLE),
only ever sees the verifier, never the password.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.roles import create_roles
from hv_pipelines.schema import access

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PASSWORD_BYTES = 24


@dataclass(frozen=True)
class RoleSummary:
    """One row of `hv db roles list`: a group role, its members and what it may do on `public`."""

    name: str
    description: str
    exists: bool
    members: list[str]
    table_privileges: dict[str, int]  # privilege -> number of tables
    attributes: list[str]


def generate_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def create_login(conn: psycopg.Connection, name: str, role: str, password: str) -> list[str]:
    """Create login `name` as a member of group `role`; returns notes for the operator (what it could not set)."""
    if not _NAME.match(name):
        raise ConfigurationError(f"login name {name!r} must be lower-case letters, digits and _ (at most 63), "
                                 "starting with a letter or _")
    if name in access.ROLES:
        raise ConfigurationError(f"{name} is a group role; choose another name for the login")
    if role not in access.ROLES:
        raise ConfigurationError(f"unknown role {role!r}: one of {', '.join(access.ROLES)}")
    if not conn.execute("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", (role,)).fetchone()[0]:
        raise ConfigurationError(f"role {role} does not exist on this server: run `hv db upgrade` first")
    if conn.execute("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", (name,)).fetchone()[0]:
        raise ConfigurationError(f"a role named {name} already exists; choose another name or drop it first")
    verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
        sql.Identifier(name), sql.Literal(verifier), sql.Identifier(role)))
    notes = []
    if role == access.BACKUP:
        # Role attributes are not inherited from groups: base backups need it on the login itself.
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            conn.execute(sql.SQL("ALTER ROLE {} REPLICATION").format(sql.Identifier(name)))
        else:
            notes.append(f"{name} has no REPLICATION, which base backups need: as a superuser run "
                         f"ALTER ROLE {name} REPLICATION")
    return notes


# The login each kind of job uses on the embedded development server (SCRAM over TLS, its password in
# the server's passfile): development meets the permission errors production would.
DEV_LOGINS = {
    "terminology": ("hv_dev_terminology", access.TERMINOLOGY),
    "ehr": ("hv_dev_ehr", access.EHR_INGEST),
    "archival": ("hv_dev_archival", access.ARCHIVER),
    "backup": ("hv_dev_backup", access.BACKUP),
}


def ensure_dev_logins(conn: psycopg.Connection, password_of: Callable[[str], str]) -> dict[str, str]:
    """Create the group roles and the development logins that are missing, each with the password
    `password_of(login)` (set again every time, so the passfile and the server agree); domain -> login."""
    create_roles(conn)
    for name, role in DEV_LOGINS.values():
        conn.execute(sql.SQL("DO $$ BEGIN CREATE ROLE {} LOGIN IN ROLE {}; "
                             "EXCEPTION WHEN duplicate_object THEN NULL; END $$").format(
            sql.Identifier(name), sql.Identifier(role)))
        verifier = conn.pgconn.encrypt_password(password_of(name).encode(), name.encode(), b"scram-sha-256")
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name),
                                                                  sql.Literal(verifier.decode())))
    conn.execute(sql.SQL("ALTER ROLE {} REPLICATION").format(sql.Identifier(DEV_LOGINS["backup"][0])))
    return {domain: name for domain, (name, _role) in DEV_LOGINS.items()}


def summaries(conn: psycopg.Connection) -> list[RoleSummary]:
    """Every group role of the matrix, in its order, with members, table privileges and attributes."""
    # PostgreSQL 16: the CREATEROLE login that created a role administers it (no INHERIT, no SET),
    # which does not make it one of the role's members.
    acts_as = sql.SQL("(am.inherit_option OR am.set_option)" if conn.info.server_version >= 160000 else "true")
    rows = conn.execute(sql.SQL(
        """
        SELECT r.rolname,
               coalesce((SELECT array_agg(m.rolname ORDER BY m.rolname) FROM pg_auth_members am
                         JOIN pg_roles m ON m.oid = am.member WHERE am.roleid = r.oid AND {acts_as}), '{{}}'),
               coalesce((SELECT json_object_agg(p, n) FROM (
                   SELECT a.privilege_type AS p, count(DISTINCT c.oid) AS n
                   FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
                   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.grantee = r.oid
                   GROUP BY 1) x), '{{}}'),
               array_remove(ARRAY[CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcanlogin THEN 'LOGIN' END,
                     CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END, CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
                     CASE WHEN r.rolreplication THEN 'REPLICATION' END, CASE WHEN r.rolcreatedb THEN 'CREATEDB' END],
                     NULL)
        FROM pg_roles r WHERE r.rolname = ANY(%s)
        """).format(acts_as=acts_as), (list(access.ROLES),)).fetchall()
    found = {name: (members, privileges, attributes) for name, members, privileges, attributes in rows}
    if owner := conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                             "AND relkind IN ('r', 'p') AND relowner = (SELECT oid FROM pg_roles WHERE rolname = %s)",
                             (access.OWNER,)).fetchone()[0]:
        found[access.OWNER][1]["OWNER"] = owner
    return [RoleSummary(name, description, name in found, *(found.get(name) or ([], {}, [])))
            for name, description in access.ROLES.items()]
