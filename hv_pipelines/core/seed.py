"""Seed data: roles, permissions, retention policies, security configuration and the service account.

The seed is a YAML file (the packaged `seed_data/holovitals.yaml`, or `HV_SEED_FILE`), validated in
full before the database is touched: every problem is reported with the file, the entry and what is
wrong. Applying it is one transaction that makes the seeded tables match the file by natural key
(see `seed_tables`): a second run changes nothing, an edited value updates exactly its row, and rows
the file does not name are reported as extra and deleted only when pruning.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import psycopg
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PositiveInt,
    Strict,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from hv_pipelines.core import seed_tables
from hv_pipelines.core.audit_trail import (
    SYSTEM_USER_EMAIL,
    SYSTEM_USER_ROLE,
    UNUSABLE_PASSWORD_HASH,
    system_user_id,
    write_audit_entry,
)
from hv_pipelines.core.errors import ConfigurationError, HVError
from hv_pipelines.core.seed_tables import SEEDED_TABLES, TablePlan
from hv_pipelines.core.settings import load_settings
from hv_pipelines.schema.enums import PermissionScope

ALL_PERMISSIONS = "*"
_NAME = r"^[A-Z][A-Z0-9_]*$"
_SNAKE = r"^[a-z][a-z0-9_]*$"
_RULES = {"min", "max", "itemFormat"}
# libyaml when PyYAML was built with it: ~10x faster on large files, same safe subset.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SeedFileError(ConfigurationError):
    """The seed file is missing, not YAML, or not valid; nothing was written."""


class SeedError(HVError):
    """Applying the seed failed; the transaction was rolled back and nothing was written."""


class _Entry(BaseModel):
    # strict: YAML gives real booleans and numbers; "yes" or "12" in the file is a mistake to report.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, alias_generator=to_camel,
                              populate_by_name=True)


class Role(_Entry):
    name: str = Field(pattern=_NAME)
    display_name: str = Field(min_length=1)
    description: str
    priority: int
    is_system: bool
    is_active: bool = True


class Permission(_Entry):
    name: str = Field(pattern=_NAME)
    display_name: str = Field(min_length=1)
    description: str
    resource: str = Field(pattern=_SNAKE)
    action: str = Field(pattern=_SNAKE)
    scope: Annotated[PermissionScope, Strict(False)]
    conditions: dict[str, JsonValue] | None = None


def _grant_from_name(value: Any) -> Any:
    return {"permission": value} if isinstance(value, str) else value


class Grant(_Entry):
    permission: str
    constraints: dict[str, JsonValue] | None = None


class RetentionPolicy(_Entry):
    name: str = Field(pattern=_NAME)
    description: str
    data_type: str = Field(min_length=1)
    category: str | None = None
    retention_period_days: PositiveInt
    archive_after_days: PositiveInt | None = None
    delete_after_days: PositiveInt | None = None
    legal_basis: str | None = None
    jurisdiction: str | None = None
    active: bool = True

    @model_validator(mode="after")
    def _periods_are_ordered(self) -> RetentionPolicy:
        if self.archive_after_days and self.archive_after_days >= self.retention_period_days:
            raise ValueError("archiveAfterDays must be less than retentionPeriodDays")
        if self.delete_after_days and self.delete_after_days < self.retention_period_days:
            raise ValueError("deleteAfterDays must not be less than retentionPeriodDays "
                             "(data would be deleted while it must still be retained)")
        return self


_VALUE_TYPES = {"number": (int, float), "boolean": (bool,), "string": (str,), "array": (list,),
                "object": (dict,)}


class SecuritySetting(_Entry):
    key: str = Field(pattern=r"^[a-z][A-Za-z0-9]*$")
    category: str = Field(pattern=_SNAKE)
    value: JsonValue
    value_type: Literal["number", "boolean", "string", "array", "object"]
    validation: dict[str, JsonValue] | None = None
    description: str | None = None
    active: bool = True

    @model_validator(mode="after")
    def _value_obeys_its_rules(self) -> SecuritySetting:
        value, rules = self.value, self.validation or {}
        # bool is an int in Python: `true` must not pass as a number, nor 1 as a boolean.
        wrong_bool = isinstance(value, bool) != (self.value_type == "boolean")
        if wrong_bool or not isinstance(value, _VALUE_TYPES[self.value_type]):
            raise ValueError(f"value {value!r} is not of valueType {self.value_type!r}")
        unknown = sorted(set(rules) - _RULES)
        if unknown:
            raise ValueError(f"unknown validation rule(s) {unknown}; known: {sorted(_RULES)}")
        if "min" in rules and value < rules["min"]:
            raise ValueError(f"value {value} is below its validation min {rules['min']}")
        if "max" in rules and value > rules["max"]:
            raise ValueError(f"value {value} is above its validation max {rules['max']}")
        if rules.get("itemFormat") == "cidr":
            for item in value:
                try:
                    ipaddress.ip_network(item)
                except (TypeError, ValueError):
                    raise ValueError(f"{item!r} is not a CIDR range such as 10.0.0.0/8") from None
        return self


class SeedContent(BaseModel):
    """The whole seed file. Section names are the table names."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    version: Literal[1]
    roles: list[Role]
    permissions: list[Permission]
    role_permissions: dict[str, list[Annotated[Grant, BeforeValidator(_grant_from_name)]]] = {}
    data_retention_policies: list[RetentionPolicy] = []
    security_configurations: list[SecuritySetting] = []

    def grants(self) -> dict[str, list[Grant]]:
        """Role name -> its grants, with "*" expanded to every permission in the file."""
        every = [Grant(permission=p.name) for p in self.permissions]
        return {role: (every if [g.permission for g in grants] == [ALL_PERMISSIONS] else grants)
                for role, grants in self.role_permissions.items()}


@dataclass(frozen=True)
class Seed:
    """A validated seed file and where it came from (the path and digest go into reports)."""

    path: Path
    sha256: str
    content: SeedContent


def default_seed_path() -> Path:
    return Path(str(resources.files("hv_pipelines.core") / "seed_data" / "holovitals.yaml"))


def resolve_seed_path(explicit: str | Path | None = None) -> Path:
    """`explicit` (the --file option) wins over HV_SEED_FILE, which wins over the packaged file."""
    if explicit:
        return Path(explicit)
    return load_settings().seed_file or default_seed_path()


def load_seed(path: str | Path | None = None) -> Seed:
    """Read and validate a seed file; raise SeedFileError listing every problem found."""
    source = resolve_seed_path(path)
    try:
        raw_bytes = source.read_bytes()
    except OSError as exc:
        raise SeedFileError(f"seed file {source} cannot be read ({exc.strerror}): check the path "
                            "given with --file or HV_SEED_FILE") from None
    try:
        raw = yaml.load(raw_bytes, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SeedFileError(f"seed file {source} is not valid YAML{where}: "
                            f"{getattr(exc, 'problem', None) or exc}") from None
    try:
        content = SeedContent.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(err, raw) for err in exc.errors(include_url=False)]
    else:
        problems = _cross_reference_problems(content)
        if not problems:
            return Seed(source, hashlib.sha256(raw_bytes).hexdigest(), content)
    raise SeedFileError(f"seed file {source} is invalid ({len(problems)} problem(s)); fix these "
                        "entries and run again, nothing was written:\n  " + "\n  ".join(problems))


def _describe(err: dict[str, Any], raw: Any) -> str:
    """`permissions #4 "READ_OWN_PHI": scope: Input should be 'OWN', ... (got 'SELF')`."""
    parts: list[str] = []
    node = raw
    for step in err["loc"]:
        node = _child(node, step)
        if isinstance(step, int):
            name = node.get("name", node.get("key")) if isinstance(node, dict) else None
            label = f"#{step + 1}" + (f" {json.dumps(name)}" if isinstance(name, str) else "")
            parts.append(f"{parts.pop()} {label}" if parts else label)
        else:
            parts.append(str(step))
    if err["type"] == "missing":
        message = "required field is missing"
    elif err["type"] == "extra_forbidden":
        message = "unknown field (misspelt, or not a column of this table)"
    else:
        message = err["msg"].removeprefix("Value error, ")
        given = err.get("input")
        if isinstance(given, str | int | float | bool) and len(repr(given)) <= 60:
            message += f" (got {given!r})"
    return ": ".join([*(parts or ["top level (a mapping of version, roles, permissions, ...)"]), message])


def _child(node: Any, step: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and step < len(node):
        return node[step]
    return None


def _duplicates(names: list[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({n for n in names if n in seen or seen.add(n)})


def _cross_reference_problems(content: SeedContent) -> list[str]:
    problems = []
    sections = {"roles": [r.name for r in content.roles],
                "permissions": [p.name for p in content.permissions],
                "data_retention_policies": [p.name for p in content.data_retention_policies],
                "security_configurations": [s.key for s in content.security_configurations]}
    for section, names in sections.items():
        problems += [f"{section} {json.dumps(n)}: defined more than once" for n in _duplicates(names)]
    triples = [f"{p.resource}/{p.action}/{p.scope.value}" for p in content.permissions]
    problems += [f"permissions: more than one permission has resource/action/scope {t} "
                 "(unique in the database)" for t in _duplicates(triples)]
    roles, permissions = set(sections["roles"]), set(sections["permissions"])
    for role, grants in content.role_permissions.items():
        if role not in roles:
            problems.append(f"role_permissions {json.dumps(role)}: not a role defined under roles")
        granted = [g.permission for g in grants]
        if ALL_PERMISSIONS in granted and len(granted) > 1:
            problems.append(f'role_permissions {json.dumps(role)}: "*" must be the only entry')
        for name in sorted(set(granted) - permissions - {ALL_PERMISSIONS}):
            problems.append(f"role_permissions {json.dumps(role)}: {json.dumps(name)} is not a "
                            "permission defined under permissions")
        problems += [f"role_permissions {json.dumps(role)}: {json.dumps(n)} granted more than once"
                     for n in _duplicates(granted)]
    return problems


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _row(entry: _Entry, *json_columns: str) -> dict[str, Any]:
    """An entry as {database column: value}; the field aliases are the column names."""
    row = entry.model_dump(by_alias=True, mode="json")
    return row | {column: _json(row[column]) for column in json_columns}


def staged_rows(content: SeedContent) -> dict[str, list[dict[str, Any]]]:
    """The desired rows of each seeded table, keyed by its `SeededTable.columns`."""
    return {
        "users": [{"email": SYSTEM_USER_EMAIL, "password_hash": UNUSABLE_PASSWORD_HASH,
                   "role": SYSTEM_USER_ROLE}],
        "roles": [_row(r) for r in content.roles],
        "permissions": [_row(p, "conditions") for p in content.permissions],
        "role_permissions": [{"role_name": role, "permission_name": g.permission,
                              "constraints": _json(g.constraints)}
                             for role, grants in content.grants().items() for g in grants],
        "data_retention_policies": [_row(p) for p in content.data_retention_policies],
        "security_configurations": [_row(s, "value", "validation") for s in content.security_configurations],
    }


@dataclass(frozen=True)
class SeedReport:
    """The plan per table, and whether it was applied (and extras pruned)."""

    seed: Seed
    plans: dict[str, TablePlan]
    applied: bool
    pruned: bool
    seconds: float

    @property
    def changes(self) -> int:
        return sum(p.changes for p in self.plans.values()) + (
            sum(len(p.extra) for p in self.plans.values()) if self.pruned else 0)

    def deleted(self, table: str) -> int:
        return len(self.plans[table].extra) if self.applied and self.pruned else 0


def plan_seed(conn: psycopg.Connection, seed: Seed) -> SeedReport:
    """What applying `seed` would do; writes nothing (the staging work is rolled back)."""
    started = time.monotonic()
    with _explained(), conn.transaction(force_rollback=True):
        plans = _stage_and_plan(conn, seed.content)
    return SeedReport(seed, plans, applied=False, pruned=False, seconds=time.monotonic() - started)


def apply_seed(conn: psycopg.Connection, seed: Seed, *, prune: bool = False) -> SeedReport:
    """Make the seeded tables match `seed` in one transaction, verify, and audit the change."""
    started = time.monotonic()
    with _explained(), conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '30s'")
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('hv_pipelines.seed'))")
        plans = _stage_and_plan(conn, seed.content)
        if prune:
            _prune(conn, plans)
        actor: dict[str, object] = {}
        for table in SEEDED_TABLES:
            seed_tables.upsert(conn, table, actor)
            actor = actor or {"actor": system_user_id(conn)}
        _verify(conn, prune)
        report = SeedReport(seed, plans, applied=True, pruned=prune, seconds=time.monotonic() - started)
        if report.changes:
            write_audit_entry(conn, action="SEED_APPLIED", resource="seed", resource_id=seed.sha256[:16],
                              details={"file": seed.path.name, "pruned": prune,
                                       **{t: p.counts() for t, p in plans.items()}})
    return report


def _stage_and_plan(conn: psycopg.Connection, content: SeedContent) -> dict[str, TablePlan]:
    rows = staged_rows(content)
    for table in SEEDED_TABLES:
        seed_tables.stage(conn, table, rows[table.name])
    return {table.name: seed_tables.plan(conn, table) for table in SEEDED_TABLES}


def _prune(conn: psycopg.Connection, plans: dict[str, TablePlan]) -> None:
    for table in SEEDED_TABLES:
        blockers = seed_tables.prune_blockers(conn, table)
        if blockers:
            listed = ", ".join(f"{name} ({count})" for name, count in blockers)
            raise SeedError(f"--prune would delete {table.name} still in use: {listed} assignment(s) in "
                            "user_roles. Reassign those users, or add the rows to the seed file; "
                            "nothing was written")
    for table in reversed(SEEDED_TABLES):
        seed_tables.delete_extras(conn, table)


def _verify(conn: psycopg.Connection, pruned: bool) -> None:
    """Re-plan after writing: anything still to do means a concurrent writer or a merge bug."""
    for table in SEEDED_TABLES:
        after = seed_tables.plan(conn, table)
        if after.changes or (pruned and after.extra):
            raise SeedError(f"{table.name} does not match the seed file after applying it "
                            f"({after.counts()}); nothing was written — run again, and report a bug if "
                            "it persists")


@contextmanager
def _explained() -> Iterator[None]:
    """Turn database errors into messages that say what to do (the transaction is already undone)."""
    try:
        yield
    except psycopg.errors.UndefinedTable as exc:
        raise SeedError(f"table missing ({exc.diag.message_primary}): the schema is not migrated — run "
                        "`hv db upgrade` first; nothing was written") from None
    except psycopg.errors.UniqueViolation as exc:
        raise SeedError(f"{exc.diag.table_name}: a row the seed file does not name already holds values "
                        f"that must be unique ({exc.diag.constraint_name}). Rename it in the seed file to "
                        "match, or run with --prune to replace it; nothing was written") from None
    except psycopg.errors.LockNotAvailable:
        raise SeedError("another session holds a lock on the seeded tables (30 s timeout): wait for it "
                        "to finish and run again; nothing was written") from None


def permission_matrix_markdown(content: SeedContent) -> str:
    """Role → permission matrix as a Markdown table (the README and the Dagster UI show it)."""
    grants = {role: {g.permission for g in gs} for role, gs in content.grants().items()}
    roles = [r.name for r in sorted(content.roles, key=lambda r: -r.priority)]
    lines = ["| permission | resource / action / scope | " + " | ".join(roles) + " |",
             "|---|---|" + "---|" * len(roles)]
    for p in content.permissions:
        marks = " | ".join("✓" if p.name in grants.get(role, set()) else "" for role in roles)
        lines.append(f"| {p.name} | {p.resource} / {p.action} / {p.scope.value} | {marks} |")
    return "\n".join(lines)
