"""Staging several connections can read: UNLOGGED tables in the schema `hv_pipelines_staging`.

A load's temp tables belong to its one connection. RxNorm splits its staging and its build over
two more connections (two cores at work instead of one), so those connections commit UNLOGGED
tables here and the load's transaction reads them. Terminology loads run one at a time (history's
advisory lock, held by the load's transaction from its start), so whatever the schema holds when a
load starts was left by a load that failed or was killed: `fresh` drops it and creates it empty.
The load's own transaction drops the schema once its build has read it (`drop`): a committed load
leaves nothing behind, a failed one leaves its staging to the next load, which removes it.

Creating a schema needs CREATE on the database, and a failed load's staging may still be read by
someone; in either case `fresh` says no and the load stages in temp tables on its one connection:
slower, the same rows.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from hv_pipelines.core import db
from hv_pipelines.core.terminology.staging import connect_like

SCHEMA = "hv_pipelines_staging"
# How long `fresh` waits for a session still reading what a failed load left, before giving up on it.
LOCK_WAIT = "5s"


def fresh(conn: psycopg.Connection) -> bool:
    """Create the schema empty (committed, on a connection of its own); False when this role may
    not, or when what a failed load left cannot be dropped now."""
    try:
        with connect_like(conn, autocommit=True) as admin:
            admin.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_WAIT)))
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.LockNotAvailable):
        return False
    return True


def use(conn: psycopg.Connection, *, local: bool = False) -> str:
    """Put the schema first on `conn`'s search path (until the transaction ends with `local`):
    unqualified staging names then resolve there (after the session's temp tables, as always).
    Returns the search path it replaced."""
    before = conn.execute("SELECT current_setting('search_path')").fetchone()[0]
    conn.execute("SELECT set_config('search_path', %s, %s)", (f"{SCHEMA}, {before}", local))
    return before


def drop(conn: psycopg.Connection, search_path: str) -> None:
    """Within the load's transaction, once its build has read the staging: drop the schema with
    everything in it and give the session back `search_path` (what `use` returned). When someone
    else keeps a staging table locked for more than `LOCK_WAIT`, the load goes on without waiting
    for them and the next load drops the schema."""
    db.within_lock_wait(conn, sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(SCHEMA)), LOCK_WAIT)
    conn.execute("SELECT set_config('search_path', %s, true)", (search_path,))
