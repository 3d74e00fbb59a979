"""Schema migrations: Alembic, driven safely.

- One transaction per command with `lock_timeout` / `statement_timeout`: a failing revision leaves
  the database at the revision it started from, nothing half-applied (PostgreSQL DDL is transactional).
- With a shadow database, pending revisions are first rehearsed there from an empty schema and
  drift-checked; the target is touched only when the rehearsal is clean (what `prisma migrate dev`
  did with SHADOW_DATABASE_URL). The rehearsal also lists what the pending revisions create (types,
  tables, indexes, constraints) and refuses when the target already holds one of them: an object
  made by hand (a stray enum type) would otherwise fail the target's upgrade, or worse, be adopted.
- A revision recorded in `alembic_version` that no script defines (a newer release migrated the
  database, or the table was edited) and a failed statement are each reported in one line.
- Drift = the live schema differs from the models: Alembic's autogenerate comparison plus enum labels,
  which autogenerate does not compare.
- Adopt = take over a database `prisma migrate` created: stamp it at the baseline if, and only if,
  its catalog is identical to the baseline's.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError

from hv_pipelines.core import db
from hv_pipelines.core.catalog import (
    AUDIT_LOG_PARTITION,
    IGNORED_TABLES,
    Catalog,
    diff_catalogs,
    read_catalog,
    read_enums,
)
from hv_pipelines.core.errors import ConfigurationError, HVError
from hv_pipelines.core.settings import mask_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
BASELINE = "0001_baseline"
DEFAULT_LOCK_TIMEOUT = "10s"
DEFAULT_STATEMENT_TIMEOUT = "30min"
_TIMEOUT = re.compile(r"^\d+(ms|s|min|h)?$")


class MigrationError(HVError):
    """A migration failed; the database is still at the revision it started from."""


class UnknownRevisionError(MigrationError):
    """`alembic_version` names a revision these scripts do not define: nothing can be planned from it."""

    exit_code = 2


class DriftError(HVError):
    """The live schema differs from the models (or from the baseline, when adopting)."""

    def __init__(self, message: str, differences: list[str]):
        super().__init__(message + "\n  " + "\n  ".join(differences))
        self.differences = differences


@dataclass
class UpgradeResult:
    before: str | None
    after: str | None
    applied: list[str]
    seconds: float
    rehearsed_on_shadow: bool = False


@dataclass
class Status:
    current: str | None
    heads: list[str]
    pending: list[str]
    drift: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # known, opt-in differences from the reference

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.drift and len(self.heads) == 1


def compare_options() -> dict:
    """Autogenerate settings shared by env.py (`alembic check`) and `drift()`."""
    return {"compare_type": True, "compare_server_default": True, "include_object": _include_object}


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and name in IGNORED_TABLES:
        return False
    # A partition of the opt-in partitioned audit_logs (and its indexes) exists only in the database;
    # its parent is compared with the model like any table.
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (reflected and compare_to is None and AUDIT_LOG_PARTITION.match(table or ""))


# The opt-in partitioning of audit_logs (core/archival/partitions.py, `hv db audit-partitions`): what it
# changes against the models and the Prisma reference, reported as accepted rather than as drift.
PARTITIONED_AUDIT_LOGS = (
    'audit_logs is partitioned by month of "timestamp" (opt-in, `hv db audit-partitions enable`): its primary key '
    "is (id, timestamp) where the Prisma reference has (id), since a partitioned table's key must hold the "
    "partition key. Accepted, not drift: the Prisma client keeps working (it inserts, and finds rows by id); "
    "id stays unique within each month by a unique index on every partition and across months by its uuid v4 "
    "generation, and a row never changes month (only hv_owner may UPDATE audit_logs). `hv db audit-partitions "
    "disable` restores the reference's table")


def audit_logs_shape(conn: psycopg.Connection) -> tuple[list[str], list[str]]:
    """(drift, accepted) for audit_logs' partitioning: accepted when it is the opt-in's shape exactly,
    drift when it is partitioned otherwise."""
    row = conn.execute(
        """
        SELECT pg_get_partkeydef(c.oid), (SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_constraint p
               CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = k.attnum
               WHERE p.conrelid = c.oid AND p.contype = 'p')
        FROM pg_class c WHERE c.oid = to_regclass('public.audit_logs') AND c.relkind = 'p'
        """).fetchone()
    if row is None:
        return [], []
    partkey, pkey = row
    if partkey != 'RANGE ("timestamp")' or pkey != ["id", "timestamp"]:
        return [f"audit_logs is partitioned ({partkey}, primary key {pkey}) but not as `hv db audit-partitions "
                'enable` does (RANGE ("timestamp"), primary key id, timestamp): run `hv db audit-partitions '
                "disable`, then enable"], []
    return [], [PARTITIONED_AUDIT_LOGS]


def alembic_config(url: str, *, script_location: Path | None = None, lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
                   statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT) -> Config:
    location = Path(script_location or MIGRATIONS_DIR)
    if not (location / "env.py").exists():
        raise ConfigurationError(f"no Alembic scripts at {location}: run from a checkout of hv_pipelines "
                                 "(pip install -e .) so that migrations/ is present")
    for name, value in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout)):
        if not _TIMEOUT.match(value):
            raise ConfigurationError(f"{name} {value!r} is not a PostgreSQL duration such as 10s or 30min")
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes.update(url=url, lock_timeout=lock_timeout, statement_timeout=statement_timeout)
    return cfg


def _script(cfg: Config) -> ScriptDirectory:
    return ScriptDirectory.from_config(cfg)


def heads(*, script_location: Path | None = None) -> list[str]:
    cfg = alembic_config("postgresql:///unused", script_location=script_location)
    return list(_script(cfg).get_heads())


def current_revision(url: str) -> str | None:
    engine = db.create_engine(url)
    try:
        with engine.connect() as conn:
            revs = MigrationContext.configure(conn).get_current_heads()
    except sa.exc.ProgrammingError as exc:
        if not isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
            raise
        raise MigrationError(f"the login of {mask_url(url)} may not read alembic_version: migrations run as a "
                             "member of hv_owner (set HV_DATABASE_URL_MIGRATIONS to such a login; "
                             "docs/security.md)") from None
    finally:
        engine.dispose()
    return revs[0] if revs else None


def known_revision(url: str, script: ScriptDirectory) -> str | None:
    """The database's current revision, refused unless `script` defines it."""
    current = current_revision(url)
    if current is not None:
        try:
            script.get_revision(current)
        except (ResolutionError, CommandError):
            raise UnknownRevisionError(
                f"{mask_url(url)} records Alembic revision {current!r}, which none of these migration scripts "
                f"defines (head: {', '.join(script.get_heads())}): a newer hv_pipelines migrated it (run that "
                "release), or alembic_version was edited (set it back to the revision the schema is at: "
                "`alembic stamp --purge <revision>`)") from None
    return current


def pending_revisions(url: str, *, script_location: Path | None = None) -> list[str]:
    """Revisions between the database's current one and head, oldest first."""
    cfg = alembic_config(url, script_location=script_location)
    script = _script(cfg)
    head_list = script.get_heads()
    if len(head_list) != 1:
        raise MigrationError(f"the migration scripts have {len(head_list)} heads ({', '.join(head_list)}): "
                             "merge them with `alembic merge heads` before upgrading")
    current = known_revision(url, script)
    revs = list(script.iterate_revisions(head_list[0], current))
    return [r.revision for r in reversed(revs)]


NOT_MIGRATED = "the database is not migrated yet: run migrate_and_seed"
# What a query reports when the database lacks a table or column a newer migration creates.
MISSING_SCHEMA = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn)


def behind(url: str) -> str | None:
    """What to do when the database is not at the head revision (never migrated, or migrations
    pending), so a sensor finding a table missing can say so instead of failing; None at head."""
    if current_revision(url) is None:
        return NOT_MIGRATED
    pending = pending_revisions(url)
    if not pending:
        return None
    return f"the database is {len(pending)} migration(s) behind ({', '.join(pending)}): run migrate_and_seed"


def drift(url: str) -> list[str]:
    """Differences between the live schema and the models; empty when there is none."""
    from hv_pipelines.schema import metadata
    from hv_pipelines.schema.enums import all_enums

    engine = db.create_engine(url)
    try:
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts=compare_options())
            diffs = [_describe(d) for d in compare_metadata(mc, metadata)]
    finally:
        engine.dispose()
    with db.connect(url) as pg:
        live_enums = read_enums(pg)
        diffs.extend(audit_logs_shape(pg)[0])
    model_enums = {e.__name__: [m.value for m in e] for e in all_enums()}
    for name, labels in sorted(model_enums.items()):
        if name not in live_enums:
            diffs.append(f"enum {name}: missing")
        elif live_enums[name] != labels:
            diffs.append(f"enum {name}: labels {live_enums[name]} differ from the models' {labels}")
    return diffs


def _describe(diff) -> str:
    """One line per autogenerate difference, naming the object, never row data."""
    if isinstance(diff, list):  # column-level modifications come grouped
        return "; ".join(_describe(d) for d in diff)
    op = diff[0]
    if op in ("add_table", "remove_table"):
        return f"{op.replace('_', ' ')} {diff[1].name}"
    if op in ("add_column", "remove_column"):
        return f"{op.replace('_', ' ')} {diff[2]}.{diff[3].name}"
    if op in ("add_index", "remove_index"):
        return f"{op.replace('_', ' ')} {diff[1].name} on {diff[1].table.name}"
    if op in ("add_fk", "remove_fk", "add_constraint", "remove_constraint"):
        return f"{op.replace('_', ' ')} {diff[1].name}"
    if op.startswith("modify_"):
        _, _schema, table, column, _info, old, new = diff
        return f"{op.replace('_', ' ')} {table}.{column}: database has {old!s}, models have {new!s}"
    return repr(diff)


@contextmanager
def _scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = db.create_database(server_url, name)
    try:
        yield url
    finally:
        db.drop_database(server_url, name)


def _reset_schema(url: str) -> None:
    with db.connect(url) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def failure_cause(exc: BaseException) -> str:
    """One line: the error and its first line, and the first line of the statement that failed
    (never a whole CREATE TABLE)."""
    orig = getattr(exc, "orig", None) or exc
    first = next((line.strip() for line in str(orig).splitlines() if line.strip()), "")
    cause = f"{type(orig).__name__}: {first}"
    if statement := getattr(exc, "statement", None):
        line = statement.strip().splitlines()[0]
        cause += f" (in: {line[:100]}{'…' if len(line) > 100 else ''})"
    if getattr(orig, "sqlstate", None) in ("42710", "42P07"):  # duplicate object / table
        cause += ("; the database already holds an object the revision creates: drop it, or if `prisma migrate` "
                  "made this schema, run `hv db adopt`")
    return cause


def _created(before: Catalog, after: Catalog) -> dict[str, set[str]]:
    """What the revisions between two catalogs create, by kind."""
    return {"enum": after.enums.keys() - before.enums.keys(), "table": after.columns.keys() - before.columns.keys(),
            "index": after.indexes.keys() - before.indexes.keys(),
            "constraint": after.constraints.keys() - before.constraints.keys()}


def _clashes(created: dict[str, set[str]], target: Catalog) -> list[str]:
    held = {"enum": target.enums, "table": target.columns, "index": target.indexes, "constraint": target.constraints}
    return [f"{kind} {name}" for kind, names in created.items() for name in sorted(names & held[kind].keys())]


def rehearse_on_shadow(shadow_url: str, revision: str = "head", *, target_url: str | None = None,
                       script_location: Path | None = None, **timeouts: str) -> None:
    """Apply every revision up to `revision` to an emptied shadow database and drift-check it. With
    `target_url`, the shadow first goes to the target's revision, and what the rest creates must not
    already exist in the target."""
    _reset_schema(shadow_url)
    cfg = alembic_config(shadow_url, script_location=script_location, **timeouts)
    start = known_revision(target_url, _script(cfg)) if target_url else None
    try:
        if start:
            command.upgrade(cfg, start)
        with db.connect(shadow_url) as conn:
            at_start = read_catalog(conn)
        command.upgrade(cfg, revision)
    except Exception as exc:
        raise MigrationError(f"the migrations fail on the shadow database ({failure_cause(exc)}); "
                             "the target database was not touched") from exc
    if target_url:
        with db.connect(shadow_url) as shadow, db.connect(target_url) as target:
            clashes = _clashes(_created(at_start, read_catalog(shadow)), read_catalog(target))
        if clashes:
            raise MigrationError(
                f"{mask_url(target_url)} already holds {', '.join(clashes)}, which the pending revisions create "
                "(found while rehearsing on the shadow database); the target database was not touched: drop "
                "what was made by hand, or if `prisma migrate` made this schema, run `hv db adopt`")
    if revision == "head" and script_location is None and (diffs := drift(shadow_url)):
        raise DriftError("after upgrading the shadow database the schema differs from the models; "
                         "the target database was not touched. Differences:", diffs)


def upgrade(url: str, revision: str = "head", *, shadow_url: str | None = None,
            script_location: Path | None = None, **timeouts: str) -> UpgradeResult:
    """Upgrade `url` to `revision` in one transaction; rehearse on `shadow_url` first when given."""
    started = time.monotonic()
    cfg = alembic_config(url, script_location=script_location, **timeouts)
    before = known_revision(url, _script(cfg))
    applied = pending_revisions(url, script_location=script_location) if revision == "head" else []
    if shadow_url and (applied or revision != "head"):
        rehearse_on_shadow(shadow_url, revision, target_url=url, script_location=script_location, **timeouts)
    try:
        command.upgrade(cfg, revision)
    except Exception as exc:
        raise MigrationError(
            f"upgrade of {mask_url(url)} to {revision} failed and was rolled back; the database is still "
            f"at {before or 'an empty schema'}. Cause: {failure_cause(exc)}") from exc
    after = current_revision(url)
    if revision != "head":
        applied = _between(cfg, before, after)
    return UpgradeResult(before, after, applied, time.monotonic() - started, bool(shadow_url and applied))


def _between(cfg: Config, lower: str | None, upper: str | None) -> list[str]:
    if upper is None or lower == upper:
        return []
    return [r.revision for r in reversed(list(_script(cfg).iterate_revisions(upper, lower)))]


def downgrade(url: str, revision: str, *, script_location: Path | None = None, **timeouts: str) -> UpgradeResult:
    """Downgrade to `revision` (`base` removes every table and type) in one transaction."""
    started = time.monotonic()
    cfg = alembic_config(url, script_location=script_location, **timeouts)
    before = known_revision(url, _script(cfg))
    try:
        command.downgrade(cfg, revision)
    except Exception as exc:
        raise MigrationError(f"downgrade to {revision} failed and was rolled back; the database is still at "
                             f"{before}. Cause: {failure_cause(exc)}") from exc
    after = current_revision(url)
    reverted = _between(cfg, after, before)
    return UpgradeResult(before, after, list(reversed(reverted)), time.monotonic() - started)


def status(url: str, *, script_location: Path | None = None) -> Status:
    cfg = alembic_config(url, script_location=script_location)
    head_list = list(_script(cfg).get_heads())
    current = known_revision(url, _script(cfg))
    pending = pending_revisions(url, script_location=script_location) if len(head_list) == 1 else []
    # Drift is measured against the models, which describe head: only meaningful at head.
    diffs = drift(url) if current is not None and not pending else []
    accepted = []
    if current is not None:
        with db.connect(url) as conn:
            accepted = audit_logs_shape(conn)[1]
    return Status(current, head_list, pending, diffs, accepted)


def adopt(url: str, *, shadow_url: str | None = None) -> str:
    """Stamp a database created by `prisma migrate` at the baseline when its catalog is identical.

    The baseline catalog is built in the shadow database when given, else in a scratch database on
    the same server (dropped afterwards). Returns the revision stamped; raises DriftError listing
    every difference otherwise, touching nothing.
    """
    if (current := current_revision(url)) is not None:
        raise MigrationError(f"{mask_url(url)} is already managed by Alembic (revision {current}); "
                             "use `hv db status` / `hv db upgrade`")
    with db.connect(url) as conn:
        live = read_catalog(conn)
    if not live.columns:
        raise MigrationError(f"{mask_url(url)} has no tables: there is nothing to adopt, run `hv db upgrade`")

    def baseline_catalog(baseline_url: str):
        command.upgrade(alembic_config(baseline_url), BASELINE)
        with db.connect(baseline_url) as conn:
            return read_catalog(conn)

    if shadow_url:
        _reset_schema(shadow_url)
        expected = baseline_catalog(shadow_url)
    else:
        with _scratch_database(url, "hv_adopt") as scratch:
            expected = baseline_catalog(scratch)
    if differences := diff_catalogs(expected, live):
        raise DriftError(f"{mask_url(url)} differs from the baseline {BASELINE}; not adopted. Reconcile these "
                         "differences (or write a migration for them) and run `hv db adopt` again:", differences)
    command.stamp(alembic_config(url), BASELINE)
    return BASELINE

