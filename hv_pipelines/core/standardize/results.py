"""Lab results of one EHR connection → `LabResultStandardization`: LOINC, UCUM value, range, interpretation.

Set-based from end to end: the connection's laboratory and vital-signs Observations (and their
components: a blood-pressure panel gives a systolic and a diastolic row) are read from
`fhir_resources.raw_data` by one SQL statement into staging; Python sees only the distinct
(LOINC code, unit) pairs, converts each once with UCUM (`units.conversion`), and the ranges that could
apply; one statement then computes every row and one merge writes what changed. A rerun with nothing
new changes nothing (not even `updatedAt`); a result whose resource no longer maps loses its row.

Precedence, as a clinician reads a result: the Observation's own interpretation, else its own
reference range, else a `ReferenceRange` row matching the patient's sex and age on the day of the
observation (a lab's own ranges before the curated ones). `flags` says which applied, and why a value
was not converted: nothing is guessed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import psycopg

from hv_pipelines.core.row_ids import new_id, new_ids
from hv_pipelines.core.standardize.units import UnitError, conversion

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
STANDARDIZED_BY = "hv_pipelines"


@dataclass
class StandardizeCounts:
    results: int = 0
    standardized: int = 0
    converted: int = 0
    quantitative: int = 0
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    not_converted: Counter[str] = field(default_factory=Counter)
    interpretations: Counter[str] = field(default_factory=Counter)

    @property
    def converted_share(self) -> float:
        return self.converted / self.quantitative if self.quantitative else 1.0


# One row per result: the Observation when it carries a value, and each component that does.
_STAGE_RESULTS = """
CREATE TEMP TABLE std_results ON COMMIT DROP AS
-- OFFSET 0 keeps each subquery from being folded into the next: its columns (the parsed resource, the
-- chosen coding) are computed once per row, not once per reference.
WITH labs AS (
    SELECT * FROM (
        SELECT f.id AS resource_id, f.raw_data::jsonb AS r, s.*
        FROM std_scope s
        JOIN fhir_resources f ON f.connection_id = s.connection_id AND f.resource_type = 'OBSERVATION'
                             AND position(s.marker IN coalesce(f.metadata, '')) > 0
        OFFSET 0) o
    WHERE EXISTS (
        SELECT 1 FROM jsonb_array_elements(coalesce(o.r -> 'category', '[]')) c,
                      jsonb_array_elements(coalesce(c -> 'coding', '[]')) cc
        WHERE cc ->> 'code' IN ('laboratory', 'vital-signs'))
      AND (o.r -> 'subject' ->> 'reference' = 'Patient/' || o.patient_id
           OR right(o.r -> 'subject' ->> 'reference', length(o.patient_id) + 9) = '/Patient/' || o.patient_id)
      AND coalesce(o.r ->> 'status', '') NOT IN ('entered-in-error', 'cancelled')
), valued AS (
    SELECT l.connection_id, l.user_id, l.sex, l.birth, l.resource_id, l.r, p.part,
           coalesce((SELECT c FROM jsonb_array_elements(coalesce(p.part -> 'code' -> 'coding', '[]')) c
                     WHERE c ->> 'system' = %(loinc_system)s AND c ->> 'code' IS NOT NULL LIMIT 1),
                    (SELECT c FROM jsonb_array_elements(coalesce(p.part -> 'code' -> 'coding', '[]')) c
                     WHERE c ->> 'code' IS NOT NULL LIMIT 1)) AS coding
    FROM labs l
    CROSS JOIN LATERAL (SELECT l.r AS part
                        UNION ALL
                        SELECT component FROM jsonb_array_elements(coalesce(l.r -> 'component', '[]')) component) p
    WHERE p.part ?| array['valueQuantity', 'valueString', 'valueCodeableConcept', 'valueInteger', 'valueBoolean']
    OFFSET 0
)
-- The patient's age in whole years on the day of the result, which the ranges are chosen by.
SELECT *, CASE WHEN birth IS NOT NULL AND effective_date ~ '^\\d{4}-\\d{2}-\\d{2}$'
            THEN date_part('year', age(effective_date::date, birth))::int END AS age
FROM (
SELECT connection_id, user_id, sex, birth, resource_id,
       coding ->> 'code' AS code, coalesce(coding ->> 'system', '') AS code_system,
       coalesce(part -> 'code' ->> 'text', coding ->> 'display', coding ->> 'code') AS name,
       coalesce(coalesce(part -> 'valueQuantity' ->> 'comparator', '') || (part -> 'valueQuantity' ->> 'value'),
                part ->> 'valueString', part -> 'valueCodeableConcept' ->> 'text',
                part -> 'valueCodeableConcept' -> 'coding' -> 0 ->> 'code',
                part ->> 'valueInteger', part ->> 'valueBoolean') AS original_value,
       CASE WHEN jsonb_typeof(part -> 'valueQuantity' -> 'value') = 'number'
            THEN (part -> 'valueQuantity' ->> 'value')::float8 END AS value,
       part -> 'valueQuantity' ->> 'comparator' AS comparator,
       CASE WHEN part -> 'valueQuantity' ->> 'system' = %(ucum_system)s
            THEN coalesce(part -> 'valueQuantity' ->> 'code', part -> 'valueQuantity' ->> 'unit')
            ELSE coalesce(part -> 'valueQuantity' ->> 'unit', part -> 'valueQuantity' ->> 'code') END AS unit,
       coalesce(part -> 'valueQuantity' ->> 'unit', part -> 'valueQuantity' ->> 'code') AS original_unit,
       CASE WHEN jsonb_typeof(part -> 'referenceRange' -> 0 -> 'low' -> 'value') = 'number'
            THEN (part -> 'referenceRange' -> 0 -> 'low' ->> 'value')::float8 END AS own_low,
       CASE WHEN jsonb_typeof(part -> 'referenceRange' -> 0 -> 'high' -> 'value') = 'number'
            THEN (part -> 'referenceRange' -> 0 -> 'high' ->> 'value')::float8 END AS own_high,
       part -> 'interpretation' -> 0 -> 'coding' -> 0 ->> 'code' AS own_interpretation,
       left(coalesce(r ->> 'effectiveDateTime', r -> 'effectivePeriod' ->> 'start', r ->> 'issued'), 10)
           AS effective_date
FROM valued WHERE coding IS NOT NULL
) staged
"""

# The LOINC term of each distinct (system, code), and the ranges that apply to each distinct (term, sex,
# age): small tables, so the per-result statement below is hash joins, not a lookup per row.
_RESOLVE_CODES = """
CREATE TEMP TABLE std_codes ON COMMIT DROP AS
SELECT DISTINCT ON (s.code_system, s.code) s.code_system, s.code, c.id AS loinc_id, c."loincNumber" AS loinc_number
FROM (SELECT DISTINCT code_system, code FROM std_results) s
JOIN "LOINCCode" c ON (s.code_system = %(loinc_system)s AND c."loincNumber" = s.code)
                   OR (s.code_system <> %(loinc_system)s AND c."loincNumber" IN (
                           SELECT m."loincCode" FROM "CodeMapping" m
                           WHERE m."targetSystem" = s.code_system AND m."targetCode" = s.code))
ORDER BY s.code_system, s.code, c."loincNumber"
"""

_APPLICABLE_RANGES = """
CREATE TEMP TABLE std_applicable ON COMMIT DROP AS
SELECT k.loinc_id, k.sex, k.age, m.*
FROM (SELECT DISTINCT c.loinc_id, r.sex, r.age FROM std_results r JOIN std_codes c USING (code_system, code)) k
LEFT JOIN LATERAL (
    -- Of each type, the first matching range: a lab's own before the curated, a sex's before both sexes'.
    SELECT (array_agg(g.range_id ORDER BY g.rank, g.gender NULLS LAST) FILTER (WHERE g.type = 'NORMAL'))[1]
               AS range_id,
           (array_agg(g.low ORDER BY g.rank, g.gender NULLS LAST) FILTER (WHERE g.type = 'NORMAL'))[1] AS low,
           (array_agg(g.high ORDER BY g.rank, g.gender NULLS LAST) FILTER (WHERE g.type = 'NORMAL'))[1] AS high,
           (array_agg(g.high ORDER BY g.rank, g.gender NULLS LAST) FILTER (WHERE g.type = 'CRITICAL_LOW'))[1]
               AS critical_low,
           (array_agg(g.low ORDER BY g.rank, g.gender NULLS LAST) FILTER (WHERE g.type = 'CRITICAL_HIGH'))[1]
               AS critical_high
    FROM std_ranges g
    WHERE g.loinc_id = k.loinc_id AND (g.gender IS NULL OR g.gender = k.sex)
      AND (g.age_min IS NULL OR k.age >= g.age_min) AND (g.age_max IS NULL OR k.age <= g.age_max)
      AND (k.age IS NOT NULL OR (g.age_min IS NULL AND g.age_max IS NULL))) m ON true
"""

# Every result that resolved to a LOINC term, with its value in the term's primary unit, the
# matching reference range and the interpretation.
_BUILD_TARGET = """
CREATE TEMP TABLE std_target ON COMMIT DROP AS
WITH converted AS (
    SELECT r.*, c.loinc_id, c.loinc_number, v.target_unit, v.flag AS unit_flag,
           CASE WHEN r.value IS NOT NULL AND v.factor IS NOT NULL THEN r.value * v.factor + v.offset END
               AS standardized_value
    FROM std_results r
    JOIN std_codes c USING (code_system, code)
    LEFT JOIN std_conversions v ON v.loinc_number = c.loinc_number AND v.unit IS NOT DISTINCT FROM r.unit
), ranged AS (
    SELECT c.*, a.range_id, a.low, a.high,
           CASE WHEN c.standardized_value IS NULL OR c.comparator IS NOT NULL THEN NULL
                WHEN c.standardized_value < a.critical_low THEN 'LL'
                WHEN c.standardized_value > a.critical_high THEN 'HH' END AS critical
    FROM converted c
    LEFT JOIN std_applicable a ON a.loinc_id = c.loinc_id AND a.sex IS NOT DISTINCT FROM c.sex
                              AND a.age IS NOT DISTINCT FROM c.age
)
SELECT connection_id, user_id, resource_id, code, code_system, coalesce(name, code) AS name, original_value, original_unit,
       loinc_id, standardized_value, CASE WHEN standardized_value IS NOT NULL THEN target_unit END
           AS standardized_unit,
       range_id, interpretation, array_remove(ARRAY[
           unit_flag,
           CASE WHEN comparator IS NOT NULL THEN 'comparator:' || comparator END,
           CASE WHEN value IS NULL THEN 'not-quantitative' END,
           CASE WHEN interpretation IS NULL THEN 'interpretation:none'
                ELSE 'interpretation:' || interpretation_source END], NULL) AS flags
FROM (
    SELECT *,
        CASE WHEN own_interpretation IS NOT NULL THEN own_interpretation
             WHEN value IS NULL OR comparator IS NOT NULL THEN NULL
             WHEN own_low IS NOT NULL OR own_high IS NOT NULL THEN
                 CASE WHEN value < own_low THEN 'L' WHEN value > own_high THEN 'H' ELSE 'N' END
             WHEN critical IS NOT NULL THEN critical
             WHEN range_id IS NOT NULL AND standardized_value IS NOT NULL THEN
                 CASE WHEN standardized_value < low THEN 'L' WHEN standardized_value > high THEN 'H' ELSE 'N' END
        END AS interpretation,
        CASE WHEN own_interpretation IS NOT NULL THEN 'observation'
             WHEN own_low IS NOT NULL OR own_high IS NOT NULL THEN 'observation-range'
             WHEN critical IS NOT NULL THEN 'critical-range'
             ELSE 'reference-range' END AS interpretation_source
    FROM ranged) decided
"""

_KEY = """l."fhirResourceId" = t.resource_id AND l."originalCode" = t.code
          AND l."originalCodeSystem" = t.code_system AND l."customerId" = t.user_id"""
_VALUES = ("originalName", "originalValue", "originalUnit", "loincCodeId", "standardizedValue",
           "standardizedUnit", "referenceRangeId", "interpretation", "flags")
_SOURCES = ("name", "original_value", "original_unit", "loinc_id", "standardized_value", "standardized_unit",
            "range_id", "interpretation", "flags")


def standardize_scope(conn: psycopg.Connection) -> StandardizeCounts:
    """Standardize every lab result of the connections in `std_scope` (`scope.create_scope`), in the
    caller's transaction."""
    counts = StandardizeCounts()
    conn.execute(_STAGE_RESULTS, {"loinc_system": LOINC_SYSTEM, "ucum_system": UCUM_SYSTEM})
    conn.execute("ANALYZE std_results")
    conn.execute(_RESOLVE_CODES, {"loinc_system": LOINC_SYSTEM})
    _stage_conversions(conn)
    _stage_ranges(conn)
    conn.execute(_APPLICABLE_RANGES)
    conn.execute(_BUILD_TARGET)
    # Without statistics a temporary table looks tiny, and the merge's anti-joins against it become
    # nested loops: quadratic at a million results.
    conn.execute("ANALYZE std_target")
    _count(conn, counts)
    _merge(conn, counts)
    return counts


def _stage_conversions(conn: psycopg.Connection) -> None:
    """Each distinct (LOINC code, unit) pair converted once, with the term's primary unit and molar mass."""
    pairs = conn.execute(
        """SELECT DISTINCT c.loinc_number, s.unit, u."ucumCode", u."conversionFactor"
           FROM std_results s JOIN std_codes c USING (code_system, code)
           LEFT JOIN "LOINCUnit" u ON u."loincCodeId" = c.loinc_id AND u."isPrimary"
           WHERE s.value IS NOT NULL""").fetchall()
    conn.execute("""CREATE TEMP TABLE std_conversions (loinc_number text, unit text, target_unit text,
                    factor float8, "offset" float8, flag text) ON COMMIT DROP""")
    with conn.cursor().copy("COPY std_conversions FROM STDIN") as copy:
        for loinc_number, unit, target, molar_mass in pairs:
            copy.write_row((loinc_number, unit, target, *_convert(unit, target, molar_mass)))


def _convert(unit: str | None, target: str | None, molar_mass: float | None) -> tuple:
    if not target:
        return None, None, "unit:loinc-term-has-no-ucum-unit"
    try:
        found = conversion(unit or "", target, molar_mass)
    except UnitError as refused:
        return None, None, f"unit:{refused.flag}"
    return found.factor, found.offset, None


def _stage_ranges(conn: psycopg.Connection) -> None:
    """The ranges of the results' LOINC terms, their bounds in each term's primary unit."""
    rows = conn.execute(
        """SELECT r.id, r."loincCodeId", r.type::text, r."lowValue", r."highValue", r.unit, r.gender,
                  r."ageMin", r."ageMax", r.population, u."ucumCode", u."conversionFactor"
           FROM "ReferenceRange" r
           LEFT JOIN "LOINCUnit" u ON u."loincCodeId" = r."loincCodeId" AND u."isPrimary"
           WHERE r."loincCodeId" IN (SELECT loinc_id FROM std_codes)""").fetchall()
    conn.execute("""CREATE TEMP TABLE std_ranges (range_id text, loinc_id text, type text, low float8,
                    high float8, gender text, age_min int, age_max int, rank int) ON COMMIT DROP""")
    with conn.cursor().copy("COPY std_ranges FROM STDIN") as copy:
        for range_id, loinc_id, kind, low, high, unit, gender, age_min, age_max, population, target, molar in rows:
            try:
                found = conversion(unit, target or unit, molar)
            except UnitError:
                continue  # a range in a unit that cannot meet the results' is no evidence either way
            low, high = (None if v is None else found.apply(v) for v in (low, high))
            copy.write_row((range_id, loinc_id, kind, low, high, gender, age_min, age_max,
                            0 if population == "lab" else 1))


def _count(conn: psycopg.Connection, counts: StandardizeCounts) -> None:
    counts.results = conn.execute("SELECT count(*) FROM std_results").fetchone()[0]
    counts.unmapped.update({(code, system): n for code, system, n in conn.execute(
        """SELECT code, code_system, count(*) FROM std_results s
           WHERE NOT EXISTS (SELECT 1 FROM std_codes c WHERE c.code_system = s.code_system AND c.code = s.code)
           GROUP BY 1, 2""")})
    for standardized, quantitative, converted in conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE NOT 'not-quantitative' = ANY(flags)),
                      count(standardized_value) FROM std_target"""):
        counts.standardized, counts.quantitative, counts.converted = standardized, quantitative, converted
    counts.not_converted.update(dict(conn.execute(
        """SELECT f, count(*) FROM std_target, unnest(flags) f WHERE f LIKE 'unit:%' GROUP BY 1""").fetchall()))
    counts.interpretations.update({k or "none": n for k, n in conn.execute(
        "SELECT interpretation, count(*) FROM std_target GROUP BY 1").fetchall()})


def _merge(conn: psycopg.Connection, counts: StandardizeCounts) -> None:
    """Write what changed: update differing rows, remove those no result backs, insert new ones.

    Removing before inserting means the anti-join runs against the rows there were, not against a
    million just inserted that the planner has no statistics for; hash joins are insisted on for the
    same reason (a nested loop over two large unanalysed sets is quadratic)."""
    before = conn.execute("SELECT current_setting('enable_nestloop')").fetchone()[0]
    conn.execute("SET LOCAL enable_nestloop = off")
    target = ", ".join(f"t.{c}" for c in _SOURCES)
    current = ", ".join(f'l."{c}"' for c in _VALUES)
    counts.updated = conn.execute(
        f"""UPDATE "LabResultStandardization" l SET ({', '.join(f'"{c}"' for c in _VALUES)}, "updatedAt",
                "standardizedAt") = ({target}, now(), now())
            FROM std_target t WHERE {_KEY} AND l."standardizedBy" = %s
              AND ({current}) IS DISTINCT FROM ({target})""", (STANDARDIZED_BY,)).rowcount
    counts.removed = conn.execute(
        f"""DELETE FROM "LabResultStandardization" l
            WHERE l."customerId" IN (SELECT user_id FROM std_scope) AND l."standardizedBy" = %s
              AND (l."fhirResourceId" IS NULL OR l."fhirResourceId" IN (
                       SELECT f.id FROM fhir_resources f JOIN std_scope s ON s.connection_id = f.connection_id))
              AND NOT EXISTS (SELECT 1 FROM std_target t WHERE {_KEY})""", (STANDARDIZED_BY,)).rowcount
    missing = conn.execute(f"""SELECT count(*) FROM std_target t WHERE NOT EXISTS (
                               SELECT 1 FROM "LabResultStandardization" l WHERE {_KEY})""").fetchone()[0]
    counts.inserted = conn.execute(
        f"""INSERT INTO "LabResultStandardization" (id, "originalCode", "originalCodeSystem", "fhirResourceId",
                "customerId", "standardizedBy", "updatedAt", {', '.join(f'"{c}"' for c in _VALUES)})
            SELECT {new_id("ids")}, t.code, t.code_system, t.resource_id, t.user_id, %(by)s, now(), {target}
            FROM std_target t WHERE NOT EXISTS (SELECT 1 FROM "LabResultStandardization" l WHERE {_KEY})""",
        {"by": STANDARDIZED_BY, "ids": new_ids(missing)}).rowcount
    conn.execute("SELECT set_config('enable_nestloop', %s, true)", (before,))
