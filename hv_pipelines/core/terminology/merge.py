"""The set-based merge of a staged release into its code table: insert, update, retire.

Three statements, each one pass over the staging table, inside the load's transaction:
changed rows are updated (only when a column really differs, so a re-load changes nothing and
keeps `updatedAt`), new codes are inserted, and codes absent from the release are marked with
the code system's retired status — except a code whose line the release rejected (`held`): absent
because its line was damaged is not absent from the release. Codes are never deleted: other
tables hold foreign keys to them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql

from hv_pipelines.core.row_ids import new_id, new_ids
from hv_pipelines.core.terminology.staging import analyze


@dataclass(frozen=True)
class TargetTable:
    """A code table, its natural key, the columns a release sets, and how a retired code is marked.

    `columns` are compared: a row whose values differ is "changed". `stamped` columns (the release's
    effective date) are written with new and changed rows only, so an unchanged code keeps the
    date its current wording took effect. The staging table `stage` has the key and all of these
    columns, with the target's types."""

    table: str
    key: str
    columns: tuple[str, ...]
    retired_status: str
    stage: str
    stamped: tuple[str, ...] = ()
    updated_at: str = "updatedAt"


@dataclass
class MergeCounts:
    new: int = 0
    changed: int = 0
    retired: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def merge_codes(conn: psycopg.Connection, target: TargetTable, staged: int, *, was_empty: bool = False,
                held: str | None = None, retire: bool = True) -> MergeCounts:
    """Merge `target.stage` (holding `staged` rows) into `target.table`. `was_empty` (the table held
    no rows when the load locked it, ACCESS EXCLUSIVE) skips what could only find nothing: the two
    updates, the staging table's statistics, which only they need, and the insert's test for an
    existing code. Codes listed in the table `held` (column `code`) are never retired, and without
    `retire` none is."""
    table, stage, key = sql.Identifier(target.table), sql.Identifier(target.stage), sql.Identifier(target.key)
    compared = [sql.Identifier(c) for c in target.columns]
    cols = compared + [sql.Identifier(c) for c in target.stamped]
    t_compared = sql.SQL(", ").join(sql.SQL("t.{}").format(c) for c in compared)
    s_compared = sql.SQL(", ").join(sql.SQL("s.{}").format(c) for c in compared)
    s_cols = sql.SQL(", ").join(sql.SQL("s.{}").format(c) for c in cols)
    updated = sql.Identifier(target.updated_at)
    if not was_empty:
        analyze(conn, target.stage)  # without statistics the updates' joins would be planned as nested loops

    changed = 0 if was_empty else conn.execute(sql.SQL(
        "UPDATE {table} t SET ({cols}, {updated}) = ({s_cols}, now()) FROM {stage} s "
        "WHERE t.{key} = s.{key} AND ({t_compared}) IS DISTINCT FROM ({s_compared})").format(
        table=table, cols=sql.SQL(", ").join(cols), updated=updated, s_cols=s_cols, stage=stage, key=key,
        t_compared=t_compared, s_compared=s_compared)).rowcount
    absent = sql.SQL("") if was_empty else sql.SQL(
        " WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = s.{key})").format(table=table, key=key)
    new = conn.execute(sql.SQL(
        "INSERT INTO {table} (id, {key}, {cols}, {updated}) "
        "SELECT {id}, s.{key}, {s_cols}, now() FROM {stage} s{absent}").format(
        table=table, key=key, cols=sql.SQL(", ").join(cols), updated=updated, s_cols=s_cols,
        stage=stage, id=sql.SQL(new_id("ids")), absent=absent), {"ids": new_ids(staged)}).rowcount
    kept = sql.SQL("") if held is None else sql.SQL(
        " AND NOT EXISTS (SELECT 1 FROM {held} h WHERE h.code = t.{key}::text)").format(
        held=sql.Identifier(held), key=key)
    retired = 0 if was_empty or not retire else conn.execute(sql.SQL(
        "UPDATE {table} t SET status = %s, {updated} = now() WHERE t.status IS DISTINCT FROM %s "
        "AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.{key} = t.{key}){kept}").format(
        table=table, updated=updated, stage=stage, key=key, kept=kept),
        (target.retired_status, target.retired_status)).rowcount
    return MergeCounts(new=new, changed=changed, retired=retired, unchanged=staged - new - changed)
