"""The database roles and their grants, applied from the matrix in `schema/access.py` and compared with it.

`sync` is what the roles migration runs, idempotent and without passwords: it creates the NOLOGIN
group roles that are missing, hands every object of the `public` schema to `hv_owner`, replaces
the `hv_*` grants of every table with the matrix's, sets `ALTER DEFAULT PRIVILEGES` for what
`hv_owner` creates later, and revokes `CREATE ON SCHEMA public` from PUBLIC. `grant_drift` lists
how the live grants differ from the matrix: the posture check reports it as schema drift is reported.

Roles are cluster-wide, so creating one tolerates a concurrent migration of another database on
the same server creating it first.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from hv_pipelines.schema import access

SCHEMA = "public"
VERSION_TABLE = "alembic_version"
# The version table is the migrations' own: analysts and backups may read it, nobody else.
VERSION_TABLE_GRANTS = {access.BACKUP: access.READ, access.READONLY: access.READ}

_CREATE_ROLE = """
DO $$ BEGIN
    CREATE ROLE {role} NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$"""


def _ident(*names: str) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _privileges(privileges: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(p) for p in sorted(privileges))


def public_tables(conn: psycopg.Connection) -> list[str]:
    """Tables, views and partitioned tables of `public`, the version table excluded."""
    return [r[0] for r in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind IN ('r', 'p', 'v', 'm') "
        "AND relname <> %s ORDER BY relname", (SCHEMA, VERSION_TABLE))]


def grant_sources(conn: psycopg.Connection) -> dict[str, str]:
    """Tables of `public` whose grants follow another entry of the matrix: a partition its parent's,
    a table `hv audit rehydrate` made (marked by its comment) `access.REHYDRATED`'s."""
    return dict(conn.execute(
        """
        SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent WHERE c.relnamespace = %(s)s::regnamespace
        UNION ALL
        SELECT c.relname, %(rehydrated)s FROM pg_class c
        WHERE c.relnamespace = %(s)s::regnamespace AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') = %(mark)s
        """, {"s": SCHEMA, "rehydrated": access.REHYDRATED, "mark": access.REHYDRATED_MARK}).fetchall())


def roles_exist(conn: psycopg.Connection) -> bool:
    """Whether the roles migration has created every role of the matrix on this server."""
    return conn.execute("SELECT count(*) = %s FROM pg_roles WHERE rolname = ANY(%s)",
                        (len(access.ROLES), list(access.ROLES))).fetchone()[0]


def is_superuser(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]


def create_roles(conn: psycopg.Connection) -> None:
    for role in access.ROLES:
        conn.execute(sql.SQL(_CREATE_ROLE).format(role=sql.Identifier(role)))
    # A CREATEROLE login administers the roles it created, but since PostgreSQL 16 that membership
    # does not let it SET ROLE (createrole_self_grant is empty): it grants itself that, once.
    pg16 = conn.info.server_version >= 160000
    may_set = conn.execute(sql.SQL("SELECT pg_has_role(current_user, %s, {})").format(
        sql.Literal("SET" if pg16 else "MEMBER")), (access.OWNER,)).fetchone()[0]
    if not is_superuser(conn) and not may_set:
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER{}").format(
            sql.Identifier(access.OWNER), sql.SQL(" WITH INHERIT TRUE, SET TRUE" if pg16 else "")))
    may_grant_read_all = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pg_read_all_data') "
        "AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)").fetchone()[0]
    if may_grant_read_all:  # PostgreSQL 14+: also covers schemas outside `public` (hv_pipelines)
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(access.BACKUP)))
    if is_superuser(conn):  # the PITR drill closes the segment its markers are in (core/pitr/markers.py)
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO {}").format(
            sql.Identifier(access.BACKUP)))


def transfer_ownership(conn: psycopg.Connection) -> None:
    """Every table, view, sequence, type and function of `public` and of the pipeline's schema to `hv_owner`."""
    conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(
        sql.Identifier(access.PIPELINE_SCHEMA), sql.Identifier(access.OWNER)))
    for schema in (SCHEMA, access.PIPELINE_SCHEMA):
        _transfer_schema_objects(conn, schema)


def _transfer_schema_objects(conn: psycopg.Connection, schema: str) -> None:
    objects = conn.execute(
        """
        SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' WHEN c.relkind IN ('v') THEN 'VIEW'
                    WHEN c.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, c.relname
        FROM pg_class c WHERE c.relnamespace = %(s)s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> %(o)s::regrole
          -- identity sequences follow their table (sequences only: a partitioned table depends on itself)
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i'))
        UNION ALL
        SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.typname
        FROM pg_type t WHERE t.typnamespace = %(s)s::regnamespace AND t.typtype IN ('e', 'd')
          AND t.typowner <> %(o)s::regrole
        """, {"s": schema, "o": access.OWNER}).fetchall()
    for kind, name in objects:
        conn.execute(sql.SQL("ALTER {} {}.{} OWNER TO {}").format(
            sql.SQL(kind), sql.Identifier(schema), sql.Identifier(name), sql.Identifier(access.OWNER)))
    # Functions too: a SECURITY DEFINER function (core/archival/partitions.py) acts as its owner.
    for (function,) in conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = %(s)s::regnamespace "
            "AND p.proowner <> %(o)s::regrole", {"s": schema, "o": access.OWNER}).fetchall():
        conn.execute(sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(sql.SQL(function), sql.Identifier(access.OWNER)))


def _grant_tables(conn: psycopg.Connection, tables: list[str]) -> None:
    granted = _ident(*access.GRANTED_ROLES)
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC, {}").format(
        sql.Identifier(SCHEMA), granted))
    _grant(conn, tables, {VERSION_TABLE: VERSION_TABLE_GRANTS})


def grant_matrix(conn: psycopg.Connection, tables: list[str]) -> None:
    """Make the `hv_*` grants of `tables` (only) the matrix's: for a table made after the migration,
    which the default privileges would otherwise grant `access.NEW_TABLE_GRANTS`."""
    conn.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM PUBLIC, {}").format(
        sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in tables), _ident(*access.GRANTED_ROLES)))
    _grant(conn, tables, {})


def _grant(conn: psycopg.Connection, tables: list[str], extra: dict[str, dict[str, frozenset[str]]]) -> None:
    by_grant: dict[tuple[str, frozenset[str]], list[str]] = {}
    for (role, table), privileges in access.expected_grants(tables, grant_sources(conn)).items():
        by_grant.setdefault((role, privileges), []).append(table)
    for table, grants in extra.items():
        for role, privileges in grants.items():
            by_grant.setdefault((role, privileges), []).append(table)
    for (role, privileges), names in sorted(by_grant.items(), key=lambda item: (item[0][0], sorted(item[0][1]))):
        conn.execute(sql.SQL("GRANT {} ON TABLE {} TO {}").format(
            _privileges(privileges), sql.SQL(", ").join(sql.Identifier(SCHEMA, n) for n in sorted(names)),
            sql.Identifier(role)))


def _grant_sequences(conn: psycopg.Connection) -> None:
    conn.execute(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM PUBLIC, {}").format(
        sql.Identifier(SCHEMA), _ident(*access.GRANTED_ROLES)))
    for role, privileges in access.NEW_SEQUENCE_GRANTS.items():
        conn.execute(sql.SQL("GRANT {} ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
            _privileges(privileges), sql.Identifier(SCHEMA), sql.Identifier(role)))


def _default_privileges(conn: psycopg.Connection) -> None:
    prefix = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}").format(
        sql.Identifier(access.OWNER), sql.Identifier(SCHEMA))
    for kind, grants in (("TABLES", access.NEW_TABLE_GRANTS), ("SEQUENCES", access.NEW_SEQUENCE_GRANTS)):
        conn.execute(sql.SQL("{} REVOKE ALL ON {} FROM PUBLIC, {}").format(
            prefix, sql.SQL(kind), _ident(*access.GRANTED_ROLES)))
        for role, privileges in grants.items():
            conn.execute(sql.SQL("{} GRANT {} ON {} TO {}").format(
                prefix, _privileges(privileges), sql.SQL(kind), sql.Identifier(role)))


def _schema_privileges(conn: psycopg.Connection) -> None:
    schema = sql.Identifier(SCHEMA)
    conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(schema))
    conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(schema, sql.Identifier(access.OWNER)))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, _ident(*access.GRANTED_ROLES)))
    pipeline = sql.Identifier(access.PIPELINE_SCHEMA)
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(pipeline))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(pipeline, _ident(*access.GRANTED_ROLES)))
    for table, grants in access.PIPELINE_TABLE_GRANTS.items():
        if conn.execute("SELECT to_regclass(%s)", (f"{access.PIPELINE_SCHEMA}.{table}",)).fetchone()[0] is None:
            continue  # created by a later revision, which syncs again
        target = sql.Identifier(access.PIPELINE_SCHEMA, table)
        conn.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(target, _ident(*access.GRANTED_ROLES)))
        for role, privileges in grants.items():
            conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(_privileges(privileges), target, sql.Identifier(role)))
    # RxNorm stages in a schema of its own when it may create one (core/terminology/shared_stage.py):
    # faster, not needed. A database cloned or restored elsewhere does not carry this grant.
    conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}, {}").format(
        sql.Identifier(conn.info.dbname), sql.Identifier(access.OWNER), sql.Identifier(access.TERMINOLOGY)))


def sync(conn: psycopg.Connection) -> None:
    """Make roles, ownership and grants exactly the matrix's (in the caller's transaction). The
    pipeline's schema must exist; its tables are granted once they exist (the migration that creates
    one syncs again)."""
    create_roles(conn)
    _schema_privileges(conn)  # first: a new owner must be allowed to create in the schema
    transfer_ownership(conn)
    _grant_tables(conn, public_tables(conn))
    _grant_sequences(conn)
    _default_privileges(conn)


def assume_owner(conn: psycopg.Connection) -> bool:
    """`SET LOCAL ROLE hv_owner` once the roles migration has handed the schema to it, so that
    what a migration creates belongs to `hv_owner` and inherits the default privileges. False
    (nothing done) before that."""
    owned = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_class WHERE oid = to_regclass(%s) AND relowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = %s))", (f"{SCHEMA}.{VERSION_TABLE}", access.OWNER)).fetchone()[0]
    if owned:
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(access.OWNER)))
    return owned


def unsync(conn: psycopg.Connection) -> None:
    """Undo `sync` in this database (the roles themselves stay: other databases may use them).
    What `hv_owner` owns goes back to the session's login."""
    conn.execute("RESET ROLE")
    granted = _ident(*access.GRANTED_ROLES)
    schema = sql.Identifier(SCHEMA)
    for kind in ("TABLES", "SEQUENCES"):
        conn.execute(sql.SQL("REVOKE ALL ON ALL {} IN SCHEMA {} FROM {}").format(sql.SQL(kind), schema, granted))
        conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} REVOKE ALL ON {} FROM {}").format(
            sql.Identifier(access.OWNER), schema, sql.SQL(kind), granted))
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}, {}").format(schema, sql.Identifier(access.OWNER), granted))
    pipeline = sql.Identifier(access.PIPELINE_SCHEMA)
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(pipeline, granted))
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(pipeline, granted))
    conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}, {}").format(
        sql.Identifier(conn.info.dbname), sql.Identifier(access.OWNER), sql.Identifier(access.TERMINOLOGY)))
    if is_superuser(conn):
        conn.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() FROM {}").format(
            sql.Identifier(access.BACKUP)))
    conn.execute(sql.SQL("REASSIGN OWNED BY {} TO SESSION_USER").format(sql.Identifier(access.OWNER)))


def live_grants(conn: psycopg.Connection) -> dict[tuple[str, str], frozenset[str]]:
    """(grantee, table) -> privileges on every table of `public`, owners' own rights left out;
    PUBLIC appears as `PUBLIC`. Read from the catalog, so any login can run it."""
    rows = conn.execute(
        """
        SELECT coalesce(r.rolname, 'PUBLIC'), c.relname, array_agg(DISTINCT a.privilege_type)
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
        LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND a.grantee <> c.relowner
          AND c.relname <> %s
        GROUP BY 1, 2
        """, (SCHEMA, VERSION_TABLE)).fetchall()
    return {(grantee, table): frozenset(privileges) for grantee, table, privileges in rows}


def grant_drift(conn: psycopg.Connection) -> list[str]:
    """How the live table grants differ from the matrix, one line per (grantee, table), saying what to do."""
    live = live_grants(conn)
    expected = access.expected_grants(public_tables(conn), grant_sources(conn))
    problems = []
    for grantee, table in sorted(set(live) | set(expected)):
        have, want = live.get((grantee, table), frozenset()), expected.get((grantee, table), frozenset())
        if extra := have - want:
            problems.append(f"{grantee} has {', '.join(sorted(extra))} on {table}, which the matrix "
                            f"(schema/access.py) does not grant: REVOKE {', '.join(sorted(extra))} ON "
                            f'"{table}" FROM {grantee}')
        if missing := want - have:
            problems.append(f"{grantee} lacks {', '.join(sorted(missing))} on {table}: run `hv db upgrade` "
                            "(the roles migration re-applies the matrix)")
    return problems
