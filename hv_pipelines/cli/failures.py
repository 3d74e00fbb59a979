"""The one line `hv` prints for a database error no command turned into an `HVError` of its own.

Connecting is handled in `core.db` (`DatabaseUnreachable`, exit 2); this catches what the server
refuses mid-command — a privilege the role lacks, a lock or statement timeout, a connection lost —
so that it, too, is one `error:` line instead of a traceback. The server's message is shown only for
SQLSTATE classes whose primary message names objects, never values (a data exception can quote the
row, and rows here are PHI); the table, column and constraint come from the error's own fields.
"""

from __future__ import annotations

# 08 connection, 23 integrity (the constraint's name), 40 rollback, 42 privileges and missing objects,
# 53 resources, 55 object state (locks), 57 operator intervention (timeouts, shutdown).
_SAFE_CLASSES = ("08", "23", "40", "42", "53", "55", "57")


def database_failure(exc: BaseException) -> str | None:
    """The error line for a psycopg error (bare or wrapped by SQLAlchemy); None for anything else."""
    import psycopg
    import sqlalchemy

    error = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    if not isinstance(error, psycopg.Error):
        return None
    state = error.sqlstate or ""
    diag = error.diag
    said = None
    if state[:2] in _SAFE_CLASSES or not state:
        said = diag.message_primary or (str(error).strip().splitlines() or [""])[0]
    where = [f"{kind} {name}" for kind, name in (("table", diag.table_name), ("column", diag.column_name),
                                                 ("constraint", diag.constraint_name)) if name]
    return (f"the database stopped the command: {type(error).__name__}"
            + (f" (SQLSTATE {state})" if state else "") + (f": {said}" if said else "")
            + (f" [{', '.join(where)}]" if where else "")
            + "; its open transaction was rolled back. Fix the cause (a missing GRANT for the role, a lock held "
              "elsewhere, the server's state; the server log has the statement) and run it again")
