"""Declarative, set-based upsert of the seeded tables, matched by natural key.

Each table's desired rows are COPYed into a TEMP staging table shaped like the table's *current*
relation (its rows as the seed file names them: `role_permissions` by role and permission name, not by
id). Plan, update, insert and prune are then one statement each, joining staging to that relation, so
a table of seven rows and one of seven thousand cost the same few round trips. A row is updated only
when one of its compared columns differs, so a second run touches nothing and `updatedAt` keeps its
value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import psycopg


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SeededTable:
    """How one table is seeded.

    `current` selects `id`, the `key` columns and the `compared` columns; staging takes its column
    types from it, so enum, JSONB and boolean values are checked by PostgreSQL on COPY.
    """

    name: str
    current: str
    key: tuple[str, ...]
    compared: tuple[str, ...]
    # Target column -> SQL over staging row `s`; defaults to the key and compared columns as they are.
    inserted: Mapping[str, str] | None = None
    # Columns written on every insert and update (`updatedAt`), and on insert only (`createdBy`).
    stamped: Mapping[str, str] = field(default_factory=dict)
    insert_only: Mapping[str, str] = field(default_factory=dict)
    # False for `users`: its other rows are the application's, never "extra", never pruned.
    owns_rows: bool = True
    # SELECT over CTE `extra` (the rows --prune would delete) returning (name, count) of blockers.
    prune_guard: str | None = None

    @property
    def staging(self) -> str:
        return _q(f"hv_seed_{self.name}")

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.compared

    def _cur(self) -> str:
        return f"WITH cur AS ({self.current})"

    def _matches(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in self.key)

    def _differs(self) -> str:
        cols = [_q(c) for c in self.compared]
        return (f"ROW({', '.join('c.' + c for c in cols)}) IS DISTINCT FROM "
                f"ROW({', '.join('s.' + c for c in cols)})")

    def _extra(self) -> str:
        return (f"SELECT c.* FROM cur c WHERE NOT EXISTS "
                f"(SELECT 1 FROM {self.staging} s WHERE {self._matches('c', 's')})")


@dataclass(frozen=True)
class TablePlan:
    """What seeding one table does: the natural keys of the rows in each state."""

    table: str
    insert: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def changes(self) -> int:
        return len(self.insert) + len(self.update)

    def counts(self) -> dict[str, int]:
        return {"insert": len(self.insert), "update": len(self.update),
                "unchanged": len(self.unchanged), "extra": len(self.extra)}


def stage(conn: psycopg.Connection, table: SeededTable, rows: Iterable[Mapping[str, object]]) -> None:
    """COPY the desired rows ({column: value}, at least `table.columns`) into TEMP staging."""
    cols = ", ".join(_q(c) for c in table.columns)
    conn.execute(f"DROP TABLE IF EXISTS pg_temp.{table.staging}")
    conn.execute(f"CREATE TEMP TABLE {table.staging} ON COMMIT DROP AS "
                 f"SELECT {cols} FROM ({table.current}) c WITH NO DATA")
    with conn.cursor() as cur, cur.copy(f"COPY {table.staging} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in table.columns])


def plan(conn: psycopg.Connection, table: SeededTable) -> TablePlan:
    """Classify every staged row (insert / update / unchanged) and every unnamed row (extra)."""
    s_keys = ", ".join(f"s.{_q(k)}" for k in table.key)
    query = (f"{table._cur()} SELECT {s_keys}, CASE WHEN c.id IS NULL THEN 'insert' "
             f"WHEN {table._differs()} THEN 'update' ELSE 'unchanged' END "
             f"FROM {table.staging} s LEFT JOIN cur c ON {table._matches('c', 's')}")
    if table.owns_rows:
        c_keys = ", ".join(f"x.{_q(k)}" for k in table.key)
        query += f" UNION ALL SELECT {c_keys}, 'extra' FROM ({table._extra()}) x"
    query += " ORDER BY " + ", ".join(str(i + 1) for i in range(len(table.key)))
    found: dict[str, list[str]] = {"insert": [], "update": [], "unchanged": [], "extra": []}
    for *key, state in conn.execute(query):
        found[state].append("/".join(str(k) for k in key))
    return TablePlan(table.name, **{state: tuple(keys) for state, keys in found.items()})


def prune_blockers(conn: psycopg.Connection, table: SeededTable) -> list[tuple[str, int]]:
    """Rows --prune would delete that something outside the seed still depends on."""
    if not table.prune_guard:
        return []
    query = f"{table._cur()}, extra AS ({table._extra()}) {table.prune_guard}"
    return [(name, count) for name, count in conn.execute(query)]


def delete_extras(conn: psycopg.Connection, table: SeededTable) -> int:
    if not table.owns_rows:
        return 0
    cur = conn.execute(f"{table._cur()} DELETE FROM {_q(table.name)} "
                       f"WHERE id IN (SELECT x.id FROM ({table._extra()}) x)")
    return cur.rowcount


def upsert(conn: psycopg.Connection, table: SeededTable, params: Mapping[str, object]) -> tuple[int, int]:
    """Update the rows that differ, insert the missing ones; return (updated, inserted)."""
    assignments = [f"{_q(c)} = s.{_q(c)}" for c in table.compared]
    assignments += [f"{_q(c)} = {expr}" for c, expr in table.stamped.items()]
    updated = conn.execute(
        f"{table._cur()} UPDATE {_q(table.name)} AS t SET {', '.join(assignments)} "
        f"FROM cur c JOIN {table.staging} s ON {table._matches('c', 's')} "
        f"WHERE t.id = c.id AND {table._differs()}", params).rowcount
    values = dict(table.inserted or {c: f"s.{_q(c)}" for c in table.columns})
    values.update(table.stamped)
    values.update(table.insert_only)
    inserted = conn.execute(
        f"{table._cur()} INSERT INTO {_q(table.name)} (id, {', '.join(_q(c) for c in values)}) "
        f"SELECT gen_random_uuid()::text, {', '.join(values.values())} FROM {table.staging} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE {table._matches('c', 's')})", params).rowcount
    return updated, inserted


_UPDATED_AT = {"updatedAt": "now()"}

SERVICE_ACCOUNTS = SeededTable(
    name="users",
    current="SELECT id, email, password_hash, role FROM users",
    key=("email",),
    compared=("password_hash", "role"),
    stamped={"updated_at": "now()"},
    owns_rows=False,
)
ROLES = SeededTable(
    name="roles",
    current='SELECT id, name, "displayName", description, priority, "isSystem", "isActive" FROM roles',
    key=("name",),
    compared=("displayName", "description", "priority", "isSystem", "isActive"),
    stamped=_UPDATED_AT,
    insert_only={"createdBy": "%(actor)s"},
    prune_guard=('SELECT e.name, count(*)::int FROM extra e JOIN user_roles ur ON ur."roleId" = e.id '
                 "GROUP BY e.name ORDER BY e.name"),
)
PERMISSIONS = SeededTable(
    name="permissions",
    current=('SELECT id, name, "displayName", description, resource, action, scope, conditions '
             "FROM permissions"),
    key=("name",),
    compared=("displayName", "description", "resource", "action", "scope", "conditions"),
    stamped=_UPDATED_AT,
)
ROLE_PERMISSIONS = SeededTable(
    name="role_permissions",
    current=("SELECT rp.id, r.name AS role_name, p.name AS permission_name, rp.constraints "
             'FROM role_permissions rp JOIN roles r ON r.id = rp."roleId" '
             'JOIN permissions p ON p.id = rp."permissionId"'),
    key=("role_name", "permission_name"),
    compared=("constraints",),
    inserted={"roleId": "(SELECT id FROM roles WHERE name = s.role_name)",
              "permissionId": "(SELECT id FROM permissions WHERE name = s.permission_name)",
              "constraints": "s.constraints"},
)
RETENTION_POLICIES = SeededTable(
    name="data_retention_policies",
    current=('SELECT id, name, description, "dataType", category, "retentionPeriodDays", '
             '"archiveAfterDays", "deleteAfterDays", "legalBasis", jurisdiction, active '
             "FROM data_retention_policies"),
    key=("name",),
    compared=("description", "dataType", "category", "retentionPeriodDays", "archiveAfterDays",
              "deleteAfterDays", "legalBasis", "jurisdiction", "active"),
    stamped=_UPDATED_AT,
    insert_only={"createdBy": "%(actor)s"},
)
SECURITY_CONFIGURATIONS = SeededTable(
    name="security_configurations",
    current=('SELECT id, key, category, value, description, "valueType", validation, active '
             "FROM security_configurations"),
    key=("key",),
    compared=("category", "value", "description", "valueType", "validation", "active"),
    stamped={**_UPDATED_AT, "updatedBy": "%(actor)s"},
)

# Apply order: parents before children (role_permissions names roles and permissions); prune runs
# in reverse. The service account comes first: it is the `actor` the other rows are stamped with.
SEEDED_TABLES = (SERVICE_ACCOUNTS, ROLES, PERMISSIONS, ROLE_PERMISSIONS, RETENTION_POLICIES,
                 SECURITY_CONFIGURATIONS)
