"""The database's security posture: one finding per thing the CIS PostgreSQL Benchmark, pgaudit and the
HIPAA technical safeguards ask of it, each naming the setting or role and what to do.

Read from the catalog and `SHOW` only, so any login may run it; what a login may not read (the
password hashes in `pg_authid` need a superuser) is reported as not checked rather than as passed.
`assess` never changes anything. The asset `database_security_posture` turns each finding into an
asset check: ERROR for the `high` ones in production, WARN otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from hv_pipelines.core import roles
from hv_pipelines.core.audit_logging import logging_gaps, setting
from hv_pipelines.core.backup import list_backups
from hv_pipelines.core.backup.inventory import BackupEntry
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore
from hv_pipelines.schema import access

# The newest verified backup must be younger than this (a nightly backup, plus slack for a slow run).
BACKUP_MAX_AGE = timedelta(hours=26)
KEY_ROTATION_SETTING = "encryptionKeyRotationDays"
DEFAULT_KEY_ROTATION = timedelta(days=365)


@dataclass(frozen=True)
class Finding:
    check: str
    passed: bool
    high: bool
    message: str  # what is wrong and what to do, or what was seen when it passed



@dataclass(frozen=True)
class Check:
    name: str
    high: bool
    description: str


CHECKS = [
    Check("server_ssl_on", True, "The server's `ssl` is on."),
    Check("client_connections_use_tls", True, "No TCP client connection without TLS (pg_stat_ssl)."),
    Check("password_encryption_scram", True, "`password_encryption` is scram-sha-256."),
    Check("no_md5_password_hashes", True, "No role has an md5 password hash (where pg_authid can be read)."),
    Check("pipeline_roles_unprivileged", True,
          "No hv_* role, nor a login in one, is SUPERUSER, BYPASSRLS or CREATEROLE (hv_owner's migrating "
          "login excepted)."),
    Check("grants_as_migrated", True, "The table grants are exactly the matrix of schema/access.py."),
    Check("public_schema_hardened", True, "PUBLIC may not CREATE in schema public."),
    Check("data_checksums_on", False, "`data_checksums` is on (initdb --data-checksums / pg_checksums)."),
    Check("audit_logging_on", True, "Connections, disconnections and DDL are logged (`hv db audit-logging`)."),
    Check("backup_fresh_and_encrypted", True, "The newest verified backup is younger than 26 h and encrypted."),
    Check("master_key_within_rotation", False,
          "The active master key is younger than the rotation period (security_configurations "
          "encryptionKeyRotationDays, default 365 days), judged by the oldest backup it sealed."),
]
HIGH = {c.name: c.high for c in CHECKS}


def _finding(check: str, problems: list[str], ok: str) -> Finding:
    return Finding(check, not problems, HIGH[check], "; ".join(problems) if problems else ok)


def server_ssl(conn: psycopg.Connection) -> Finding:
    on = setting(conn, "ssl") == "on"
    return _finding("server_ssl_on", [] if on else [
        "ssl is off: set ssl = on with ssl_cert_file / ssl_key_file, allow only hostssl lines in pg_hba.conf, "
        "and connect with sslmode=verify-full (docs/security.md)"], "ssl = on")


def client_tls(conn: psycopg.Connection) -> Finding:
    if not conn.execute("SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')").fetchone()[0]:
        # Other logins' client addresses are hidden from it: their TCP sessions would look local.
        return _finding("client_connections_use_tls", [
            "not checked: this login cannot see other logins' connections; GRANT pg_read_all_stats TO it"], "")
    rows = conn.execute(
        "SELECT coalesce(a.usename, '?'), count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid "
        "WHERE a.client_addr IS NOT NULL AND NOT s.ssl GROUP BY 1 ORDER BY 1").fetchall()
    plain = ", ".join(f"{user} ({n})" for user, n in rows)
    return _finding("client_connections_use_tls", [f"TCP connections without TLS from {plain}: make pg_hba.conf "
                                                   "hostssl-only and give those clients sslmode=verify-full"]
                    if rows else [], "every TCP connection uses TLS")


def scram(conn: psycopg.Connection) -> Finding:
    value = setting(conn, "password_encryption")
    return _finding("password_encryption_scram", [] if value == "scram-sha-256" else [
        f"password_encryption is {value}: ALTER SYSTEM SET password_encryption = 'scram-sha-256', reload, then "
        "reset every password (hv db roles create-login for new logins)"], "scram-sha-256")


def md5_hashes(conn: psycopg.Connection) -> Finding:
    try:
        with conn.transaction():
            names = [r[0] for r in conn.execute(
                "SELECT rolname FROM pg_authid WHERE rolpassword LIKE 'md5%' ORDER BY 1")]
    except psycopg.errors.InsufficientPrivilege:
        return Finding("no_md5_password_hashes", True, HIGH["no_md5_password_hashes"],
                       "not checked: this login may not read pg_authid (run the posture as a superuser to check)")
    return _finding("no_md5_password_hashes", [f"md5 password hashes for {', '.join(names)}: set a new password for "
                                               "each with password_encryption = 'scram-sha-256'"] if names else [],
                    "no md5 hashes")


def privileged_roles(conn: psycopg.Connection) -> Finding:
    # Since PostgreSQL 16 the CREATEROLE login that created a role administers it without holding
    # its privileges (no INHERIT, no SET): that membership is not a job's login.
    acts_as = sql.SQL("(m.inherit_option OR m.set_option)" if conn.info.server_version >= 160000 else "true")
    rows = conn.execute(sql.SQL(
        """
        SELECT r.rolname, array_remove(ARRAY[CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
                 CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END], NULL)
        FROM pg_roles r
        WHERE (r.rolname = ANY(%(all)s) OR EXISTS (
                 SELECT FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                 WHERE m.member = r.oid AND g.rolname = ANY(%(granted)s) AND {acts_as}))
          AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole)
        ORDER BY 1
        """).format(acts_as=acts_as), {"all": list(access.ROLES), "granted": list(access.GRANTED_ROLES)}).fetchall()
    problems = [f"{name} is {' and '.join(attributes)}: ALTER ROLE {name} NO{' NO'.join(attributes)}"
                for name, attributes in rows]
    return _finding("pipeline_roles_unprivileged", problems, "no hv_* role or member is privileged")


def grants(conn: psycopg.Connection) -> Finding:
    drift = roles.grant_drift(conn)
    return _finding("grants_as_migrated", drift, "the grants are the matrix's")


def public_schema(conn: psycopg.Connection) -> Finding:
    open_ = conn.execute("SELECT has_schema_privilege('public', 'public', 'CREATE')").fetchone()[0]
    return _finding("public_schema_hardened", ["PUBLIC may CREATE in schema public: REVOKE CREATE ON SCHEMA public "
                                               "FROM PUBLIC (the roles migration does)"] if open_ else [],
                    "PUBLIC may not create in public")


def checksums(conn: psycopg.Connection) -> Finding:
    on = setting(conn, "data_checksums") == "on"
    return _finding("data_checksums_on", [] if on else [
        "data_checksums is off: enable them with pg_checksums --enable on the stopped cluster (or initdb "
        "--data-checksums for a new one) so silent corruption is detected"], "data_checksums = on")


def audit_logging(conn: psycopg.Connection) -> Finding:
    return _finding("audit_logging_on", logging_gaps(conn), "connections, disconnections and DDL are logged")


SERVER_CHECKS: list[Callable[[psycopg.Connection], Finding]] = [
    server_ssl, client_tls, scram, md5_hashes, privileged_roles, grants, public_schema, checksums, audit_logging]


def backup_finding(newest_created_at: datetime | None, encrypted: bool, *, now: datetime | None = None) -> Finding:
    """From the newest backup that counts (verified, authentic manifest) of this database, if any."""
    now = now or datetime.now(UTC)
    if newest_created_at is None:
        return _finding("backup_fresh_and_encrypted", ["no verified backup of this database: run `hv backup create` "
                                                       "and check the nightly_backup schedule"], "")
    age = now - newest_created_at
    problems = []
    if age > BACKUP_MAX_AGE:
        problems.append(f"the newest verified backup is {age.total_seconds() / 3600:.0f} h old (limit "
                        f"{BACKUP_MAX_AGE.total_seconds() / 3600:.0f} h): see the runbook 'The nightly backup failed'")
    if not encrypted:
        problems.append("the newest backup names no encryption key: take a new one with `hv backup create`")
    return _finding("backup_fresh_and_encrypted", problems, f"newest verified backup {age.total_seconds() / 3600:.1f} h old")


def key_rotation(conn: psycopg.Connection) -> timedelta:
    """The master key's rotation period: `security_configurations` key `encryptionKeyRotationDays`
    when an active row sets it, else `DEFAULT_KEY_ROTATION`."""
    row = conn.execute("SELECT value FROM security_configurations WHERE key = %s AND active",
                       (KEY_ROTATION_SETTING,)).fetchone()
    try:
        return timedelta(days=int(row[0])) if row else DEFAULT_KEY_ROTATION
    except ValueError:
        return DEFAULT_KEY_ROTATION


def master_key_finding(entries: list[BackupEntry], active_key_id: str, rotation: timedelta, *,
                       now: datetime | None = None) -> Finding:
    """The active master key has been in use at least since the oldest backup it sealed: older than
    the rotation period is a finding."""
    sealed = [e.manifest.created_at for e in entries if e.manifest and e.manifest.key_id == active_key_id]
    if not sealed:
        return _finding("master_key_within_rotation", [], f"no backup sealed with {active_key_id} yet")
    days = ((now or datetime.now(UTC)) - min(sealed)).days
    return _finding("master_key_within_rotation", [
        f"the master key {active_key_id} has sealed backups for {days} days, more than the rotation period of "
        f"{rotation.days} days (security_configurations {KEY_ROTATION_SETTING}): rotate it (README, 'Rotate the "
        "master key')"] if days > rotation.days else [], f"{active_key_id} in use for {days} days")


def store_findings(store: ObjectStore, keyring: Keyring, database: str, rotation: timedelta, *,
                   now: datetime | None = None) -> list[Finding]:
    """The findings read from the backups of `database` in the store (those that count)."""
    counted = [e for e in list_backups(store, keyring, database) if e.counts]
    newest = counted[-1].manifest if counted else None
    return [backup_finding(newest.created_at if newest else None, bool(newest and newest.key_id), now=now),
            master_key_finding(counted, keyring.active_key_id, rotation, now=now)]


def assess(conn: psycopg.Connection) -> list[Finding]:
    """Every server-side finding, in CHECKS order (the backups' come from `store_findings`)."""
    return [check(conn) for check in SERVER_CHECKS]
