"""Reference ranges and molar masses: the curated adult set shipped with the pipeline, and a lab's own.

`data/reference_ranges.csv` holds normal (and, where widely used, critical) ranges of common adult
tests; every row cites its public source. `data/molar_masses.csv` holds the analytes' molar masses,
kept on the LOINC term's primary unit (`LOINCUnit.conversionFactor`), which is what lets a result in
mmol/L and one in mg/dL meet. A lab's own ranges (`hv standardize ranges load FILE.csv`, same columns)
are stored with population `lab` and win over the curated ones wherever both match a result.

Both are keyed naturally (LOINC code, type, sex, ages, population), so loading the same file twice
changes nothing. A range whose LOINC code is not loaded yet waits: the next load (seed, or the
standardization run after a LOINC release) adds it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import psycopg

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.row_ids import new_id, new_ids

CURATED = "curated"
LAB = "lab"
RANGE_COLUMNS = ("loinc", "type", "low", "high", "unit", "sex", "age_min", "age_max", "source")
RANGE_TYPES = {"NORMAL", "CRITICAL_LOW", "CRITICAL_HIGH", "THERAPEUTIC", "TOXIC"}
SEXES = {"", "male", "female"}


class RangeFileError(HVError):
    """A ranges file that cannot be loaded as a whole; nothing was written."""


@dataclass(frozen=True)
class RangeRow:
    loinc: str
    type: str
    low: float | None
    high: float | None
    unit: str
    sex: str | None
    age_min: int | None
    age_max: int | None
    source: str


@dataclass
class RangeLoad:
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    waiting_for_loinc: list[str] = field(default_factory=list)
    molar_masses_set: int = 0


def _number(text: str, cast=float):
    return cast(text) if text.strip() else None


def parse_ranges(text: str, name: str) -> list[RangeRow]:
    """Every row of a ranges CSV, or `RangeFileError` naming the first bad line (nothing half-read)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in RANGE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RangeFileError(f"{name}: missing column(s) {', '.join(missing)}; expected "
                             f"{','.join(RANGE_COLUMNS)} (see docs/standardization.md)")
    parsed: list[RangeRow] = []
    for line, row in enumerate(reader, start=2):
        try:
            item = RangeRow(loinc=row["loinc"].strip(), type=row["type"].strip().upper(),
                            low=_number(row["low"]), high=_number(row["high"]), unit=row["unit"].strip(),
                            sex=row["sex"].strip().lower() or None, age_min=_number(row["age_min"], int),
                            age_max=_number(row["age_max"], int), source=row["source"].strip())
        except ValueError:
            raise RangeFileError(f"{name} line {line}: low/high must be numbers and ages whole years") from None
        problem = (
            "no LOINC code" if not item.loinc else
            f"type must be one of {', '.join(sorted(RANGE_TYPES))}" if item.type not in RANGE_TYPES else
            "sex must be male, female or empty" if (item.sex or "") not in SEXES else
            "a range needs low, high or both" if item.low is None and item.high is None else
            "low is above high" if None not in (item.low, item.high) and item.low > item.high else
            "no unit" if not item.unit else
            "no source: every range cites where it comes from" if not item.source else None)
        if problem:
            raise RangeFileError(f"{name} line {line}: {problem}")
        parsed.append(item)
    return parsed


def curated_ranges() -> list[RangeRow]:
    text = resources.files(__package__).joinpath("data/reference_ranges.csv").read_text()
    return parse_ranges(text, "reference_ranges.csv")


def curated_molar_masses() -> dict[str, float]:
    text = resources.files(__package__).joinpath("data/molar_masses.csv").read_text()
    return {row["loinc"]: float(row["molar_mass_g_per_mol"]) for row in csv.DictReader(io.StringIO(text))}


def load_lab_ranges(conn: psycopg.Connection, path: Path) -> RangeLoad:
    """A lab's own ranges from `path`, upserted with population `lab` (rows it no longer lists stay)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RangeFileError(f"cannot read {path}: {exc.strerror}") from None
    return merge_ranges(conn, parse_ranges(text, path.name), population=LAB, prune=False)


def sync_curated(conn: psycopg.Connection) -> RangeLoad:
    """The shipped ranges and molar masses, exactly: curated rows the file no longer lists are removed."""
    loaded = merge_ranges(conn, curated_ranges(), population=CURATED, prune=True)
    loaded.molar_masses_set = set_molar_masses(conn, curated_molar_masses())
    return loaded


def merge_ranges(conn: psycopg.Connection, rows: Iterable[RangeRow], *, population: str,
                 prune: bool) -> RangeLoad:
    """Upsert `rows` by natural key in the caller's transaction; ranges of unloaded LOINC codes wait."""
    rows = list(rows)
    # Two partitions' runs sync the curated ranges at once: without the lock both would insert a row.
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('hv-reference-ranges', 0))")
    conn.execute("""CREATE TEMP TABLE std_range_file (loinc text, type text, low float8, high float8,
                    unit text, gender text, age_min int, age_max int, source text) ON COMMIT DROP""")
    with conn.cursor().copy("COPY std_range_file FROM STDIN") as copy:
        for r in rows:
            copy.write_row((r.loinc, r.type, r.low, r.high, r.unit, r.sex, r.age_min, r.age_max, r.source))
    loaded = RangeLoad()
    loaded.waiting_for_loinc = [r[0] for r in conn.execute(
        """SELECT DISTINCT f.loinc FROM std_range_file f
           WHERE NOT EXISTS (SELECT 1 FROM "LOINCCode" c WHERE c."loincNumber" = f.loinc) ORDER BY 1""")]
    conn.execute("""CREATE TEMP TABLE std_range_target ON COMMIT DROP AS
                    SELECT c.id AS loinc_id, f.* FROM std_range_file f
                    JOIN "LOINCCode" c ON c."loincNumber" = f.loinc""")
    key = """r."loincCodeId" = t.loinc_id AND r.type::text = t.type AND r.gender IS NOT DISTINCT FROM t.gender
             AND r."ageMin" IS NOT DISTINCT FROM t.age_min AND r."ageMax" IS NOT DISTINCT FROM t.age_max
             AND r.population = %(population)s"""
    loaded.updated = conn.execute(
        f"""UPDATE "ReferenceRange" r SET "lowValue" = t.low, "highValue" = t.high, unit = t.unit,
            source = t.source FROM std_range_target t WHERE {key}
            AND (r."lowValue", r."highValue", r.unit, r.source)
                IS DISTINCT FROM (t.low, t.high, t.unit, t.source)""", {"population": population}).rowcount
    missing = conn.execute(f"""SELECT count(*) FROM std_range_target t WHERE NOT EXISTS
                               (SELECT 1 FROM "ReferenceRange" r WHERE {key})""",
                           {"population": population}).fetchone()[0]
    loaded.inserted = conn.execute(
        f"""INSERT INTO "ReferenceRange" (id, "loincCodeId", type, "lowValue", "highValue", unit, "ageMin",
                                          "ageMax", gender, population, source)
            SELECT {new_id("ids")}, t.loinc_id, t.type::"ReferenceRangeType", t.low, t.high, t.unit, t.age_min,
                   t.age_max, t.gender, %(population)s, t.source
            FROM std_range_target t WHERE NOT EXISTS (SELECT 1 FROM "ReferenceRange" r WHERE {key})""",
        {"population": population, "ids": new_ids(missing)}).rowcount
    if prune:
        loaded.removed = conn.execute(
            """DELETE FROM "ReferenceRange" r WHERE r.population = %(population)s AND NOT EXISTS (
                   SELECT 1 FROM std_range_file t JOIN "LOINCCode" c ON c."loincNumber" = t.loinc
                   WHERE r."loincCodeId" = c.id AND r.type::text = t.type
                     AND r.gender IS NOT DISTINCT FROM t.gender AND r."ageMin" IS NOT DISTINCT FROM t.age_min
                     AND r."ageMax" IS NOT DISTINCT FROM t.age_max)""", {"population": population}).rowcount
    loaded.unchanged = conn.execute("SELECT count(*) FROM std_range_target").fetchone()[0] \
        - loaded.inserted - loaded.updated
    conn.execute("DROP TABLE std_range_target, std_range_file")
    return loaded


def set_molar_masses(conn: psycopg.Connection, masses: dict[str, float]) -> int:
    """Each analyte's molar mass on its LOINC term's primary unit; returns the rows changed."""
    return conn.execute(
        """UPDATE "LOINCUnit" u SET "conversionFactor" = m.mass
           FROM "LOINCCode" c, unnest(%s::text[], %s::float8[]) AS m(loinc, mass)
           WHERE c."loincNumber" = m.loinc AND u."loincCodeId" = c.id AND u."isPrimary"
             AND u."conversionFactor" IS DISTINCT FROM m.mass""",
        (list(masses), list(masses.values()))).rowcount
