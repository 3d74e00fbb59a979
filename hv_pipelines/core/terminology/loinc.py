"""LOINC from Regenstrief's release: `LoincTable/Loinc.csv` (+ `MapTo.csv`) into "LOINCCode",
"LOINCUnit" and "CodeMapping".

Loinc.csv is RFC 4180 CSV (every field quoted, commas and doubled quotes inside names, UTF-8);
columns are found by header name, so column order changes between releases do not matter.
The LOINC class (`CLASS`, `CLASSTYPE`) becomes the platform's enums by the tables below
(documented in docs/terminology.md).
"""

from __future__ import annotations

import csv
import io
import re

import psycopg

from hv_pipelines.core.row_ids import new_id, new_ids
from hv_pipelines.core.terminology.checks import CodeTally, loinc_check_digit_ok
from hv_pipelines.core.terminology.merge import MergeCounts, TargetTable
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Member, Progress, ReleaseError, ReleaseFiles
from hv_pipelines.core.terminology.staging import analyze, copy_into, create_stage
from hv_pipelines.core.terminology.system import CodeSystem, Staged

REQUIRED_COLUMNS = ("LOINC_NUM", "COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM", "SCALE_TYP", "METHOD_TYP",
                    "CLASS", "CLASSTYPE", "STATUS", "VersionLastChanged", "SHORTNAME", "LONG_COMMON_NAME",
                    "RELATEDNAMES2", "EXAMPLE_UCUM_UNITS")
OPTIONAL_COLUMNS = ("DisplayName", "CONSUMER_NAME", "MAP_TO")
USED_COLUMNS = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
REQUIRED_VALUES = ("LOINC_NUM", "COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM", "SCALE_TYP", "LONG_COMMON_NAME",
                   "STATUS")
CLASSTYPE_CATEGORY = {"1": "LABORATORY", "2": "CLINICAL", "3": "CLAIMS", "4": "SURVEY"}
# LOINC CLASS root (CLASS without a leading "PANEL." and anything after the first ".") -> ComponentType.
CLASS_COMPONENT_TYPE = {
    "CHEM": "CHEMISTRY", "CHAL": "CHEMISTRY", "UA": "CHEMISTRY",
    "HEM/BC": "HEMATOLOGY", "COAG": "HEMATOLOGY", "BLDBK": "HEMATOLOGY", "CELLMARK": "HEMATOLOGY",
    "MICRO": "MICROBIOLOGY", "ABXBACT": "MICROBIOLOGY",
    "SERO": "IMMUNOLOGY", "ALLERGY": "IMMUNOLOGY", "HLA": "IMMUNOLOGY",
    "DRUG/TOX": "TOXICOLOGY",
    "MOLPATH": "GENETICS", "GENETICS": "GENETICS",
    "PATH": "PATHOLOGY", "CYTO": "PATHOLOGY",
    "BP": "VITAL_SIGNS", "BDYTMP": "VITAL_SIGNS", "BDYWGT": "VITAL_SIGNS", "BDYHGT": "VITAL_SIGNS",
    "BDYSURF": "VITAL_SIGNS", "BDYCRC": "VITAL_SIGNS", "HRTRATE": "VITAL_SIGNS", "RESP": "VITAL_SIGNS",
    "PULSE": "VITAL_SIGNS", "VITALS": "VITAL_SIGNS",
}
_LOINC_NUM = re.compile(r"^\d{1,8}-\d$")
MAPPING_SOURCE = "LOINC MapTo"
MAPPING_RELATIONSHIP = "REPLACED_BY"


def category(loinc_class: str, classtype: str) -> str | None:
    """LOINCCategory: document-ontology and radiology classes by CLASS, the rest by CLASSTYPE."""
    if loinc_class == "DOC" or loinc_class.startswith("DOC."):
        return "DOCUMENT"
    if loinc_class.startswith("RAD"):
        return "RADIOLOGY"
    return CLASSTYPE_CATEGORY.get(classtype)


def component_type(loinc_class: str) -> str:
    root = loinc_class.removeprefix("PANEL.").split(".")[0]
    return CLASS_COMPONENT_TYPE.get(root, "OTHER")


def related_names(value: str) -> list[str]:
    """RELATEDNAMES2 is `;`-separated; blanks dropped, first occurrence kept."""
    return list(dict.fromkeys(n.strip() for n in value.split(";") if n.strip()))


def ucum_units(value: str) -> list[str]:
    """EXAMPLE_UCUM_UNITS is `;`-separated: each unit without its surrounding spaces, blanks dropped,
    first occurrence kept. The first is the code's primary unit."""
    return list(dict.fromkeys(unit.strip(" ") for unit in value.split(";") if unit.strip(" ")))


def array_literal(values: list[str]) -> str:
    """`values` as a PostgreSQL text[] literal, every element quoted: COPY reads it into the array
    column as it is (a str is formatted for COPY in C, a list element by element in Python)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


class Loinc(CodeSystem):
    name = "loinc"
    title = "LOINC"
    asset = "loinc_codes"
    check_names = ("loinc_check_digits", "no_duplicate_codes", "rejects_within_share", "row_count_within_band")
    related_tables = ("LOINCUnit", "CodeMapping")
    target = TargetTable(
        table="LOINCCode", key="loincNumber", stage="stage_loinc",
        columns=("component", "property", "timeAspect", "system", "scale", "method", "category",
                 "componentType", "commonName", "shortName", "longName", "relatedNames", "status", "version"),
        retired_status="DEPRECATED")

    def inspect(self, files: ReleaseFiles) -> list[Member]:
        table = files.require("loinc.csv", "LOINC's LoincTable/Loinc.csv (is this a LOINC release?)")
        with files.open(table) as stream:
            header = next(csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace")), [])
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ReleaseError(f"{table.name} is not LOINC's Loinc.csv: its header lacks {', '.join(missing)}")
        mapto = files.find("mapto.csv")
        return [table, mapto] if mapto else [table]

    def stage(self, conn: psycopg.Connection, files: ReleaseFiles, members: list[Member],
              rejects: RejectLog, version: str, progress: Progress | None) -> Staged:
        create_stage(conn, self.target.stage,
                     '"loincNumber" text, component text, property text, "timeAspect" text, system text, '
                     'scale text, method text, category "LOINCCategory", "componentType" "ComponentType", '
                     '"commonName" text, "shortName" text, "longName" text, "relatedNames" text[], '
                     'status text, version text, "ucumUnits" text[], "mapTo" text, line integer')
        create_stage(conn, "stage_loinc_mapto", '"loincNumber" text, "mapTo" text, file text, line integer')
        tally = CodeTally("loinc_check_digits", "every LOINC number carries a valid mod-10 check digit")
        self._stage_table(conn, files, members[0], rejects, tally, progress)
        if len(members) > 1:
            self._stage_mapto(conn, files, members[1], rejects, progress)
        analyze(conn, "stage_loinc_mapto")
        rows = conn.execute(f"SELECT count(*) FROM {self.target.stage}").fetchone()[0]
        return Staged(rows=rows, tallies=[tally])

    def _stage_table(self, conn: psycopg.Connection, files: ReleaseFiles, member: Member, rejects: RejectLog,
                     tally: CodeTally, progress: Progress | None) -> None:
        """One COPY of the codes with their units (`ucum_units`) and raw MAP_TO field (a connection runs
        one COPY at a time); the mapping staging table is then derived from it in SQL."""
        columns = ("loincNumber", *self.target.columns, "ucumUnits", "mapTo", "line")
        with files.open(member, progress) as stream, copy_into(conn, self.target.stage, columns) as codes:
            reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=""))
            header = next(reader)
            # Only the columns the mapping reads are stripped and checked (Loinc.csv has ~40).
            at = {name: i for i, name in enumerate(header) if name in USED_COLUMNS}
            for record in _records(reader, member):
                line = reader.line_num
                row = self._code_row(record, len(header), at, member, line, rejects)
                if row is None:
                    continue
                tally.record(row[0], loinc_check_digit_ok(row[0]))
                codes.row((*row, line))
        conn.execute("""
            INSERT INTO stage_loinc_mapto ("loincNumber", "mapTo", file, line)
            SELECT "loincNumber", "mapTo", %s, line FROM stage_loinc WHERE "mapTo" <> ''""", (member.name,))

    @staticmethod
    def _code_row(record: list[str], width: int, at: dict[str, int], member: Member, line: int,
                  rejects: RejectLog) -> tuple | None:
        # The code a rejected line names is kept from retirement (see rejects.py); "" if unreadable.
        code = record[at["LOINC_NUM"]].strip() if at["LOINC_NUM"] < len(record) else ""
        code = code if _LOINC_NUM.match(code) else ""
        if len(record) != width:
            rejects.add(member.name, line, f"{len(record)} fields, expected {width}", code=code)
            return None
        value = {name: record[i].strip() for name, i in at.items()}
        if "\ufffd" in "".join(value.values()):
            rejects.add(member.name, line, "not valid UTF-8", code=code)
            return None
        empty = [c for c in REQUIRED_VALUES if not value[c]]
        if empty:
            rejects.add(member.name, line, f"empty {', '.join(empty)}", code=code)
            return None
        loinc_category = category(value["CLASS"], value["CLASSTYPE"])
        if loinc_category is None:
            rejects.add(member.name, line, "CLASSTYPE is not 1-4", code=code)
            return None
        common = value.get("DisplayName") or value.get("CONSUMER_NAME") or value["LONG_COMMON_NAME"]
        return (value["LOINC_NUM"], value["COMPONENT"], value["PROPERTY"], value["TIME_ASPCT"], value["SYSTEM"],
                value["SCALE_TYP"], value["METHOD_TYP"] or None, loinc_category, component_type(value["CLASS"]),
                common, value["SHORTNAME"] or value["LONG_COMMON_NAME"], value["LONG_COMMON_NAME"],
                array_literal(related_names(value["RELATEDNAMES2"])), value["STATUS"],
                value["VersionLastChanged"] or "", array_literal(ucum_units(value["EXAMPLE_UCUM_UNITS"])),
                value.get("MAP_TO", ""))

    @staticmethod
    def _stage_mapto(conn: psycopg.Connection, files: ReleaseFiles, member: Member, rejects: RejectLog,
                     progress: Progress | None) -> None:
        with files.open(member, progress) as stream, \
                copy_into(conn, "stage_loinc_mapto", ("loincNumber", "mapTo", "file", "line")) as mapto:
            reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=""))
            header = next(reader, [])
            if header[:2] != ["LOINC", "MAP_TO"]:
                raise ReleaseError(f"{member.name} is not LOINC's MapTo.csv: expected columns LOINC, MAP_TO")
            for record in _records(reader, member):
                if len(record) < 2 or not record[0].strip() or not record[1].strip():
                    rejects.add(member.name, reader.line_num, "LOINC or MAP_TO empty")
                    continue
                mapto.row((record[0].strip(), record[1].strip(), member.name, reader.line_num))

    def merge_related(self, conn: psycopg.Connection, rejects: RejectLog) -> dict[str, MergeCounts]:
        return {"LOINCUnit": _merge_units(conn), "CodeMapping": _merge_mappings(conn, rejects)}


def _records(reader, member: Member):
    try:
        yield from reader
    except csv.Error as exc:
        raise ReleaseError(f"{member.name} line {reader.line_num}: {exc}: the CSV is damaged (an unbalanced "
                           "quote?); download the release again") from None


def _merge_units(conn: psycopg.Connection) -> MergeCounts:
    """UCUM example units of the release's codes; units the release no longer lists are removed
    (no table references a unit), units in other unit systems are left alone. Each code's units
    were staged distinct, its primary unit first (`ucum_units`): no sort is needed here. Into an
    empty LOINCUnit (a first load) they are inserted straight from the staged codes: there is
    nothing to remove, update or test for."""
    if conn.execute('SELECT NOT EXISTS (SELECT FROM "LOINCUnit")').fetchone()[0]:
        staged = conn.execute('SELECT coalesce(sum(cardinality("ucumUnits")), 0) FROM stage_loinc').fetchone()[0]
        new = conn.execute(f"""
            INSERT INTO "LOINCUnit" (id, "loincCodeId", unit, "ucumCode", "unitSystem", "isPrimary")
            SELECT {new_id("ids")}, c.id, u.unit, u.unit, 'UCUM', u.position = 1
            FROM stage_loinc s JOIN "LOINCCode" c ON c."loincNumber" = s."loincNumber",
                 unnest(s."ucumUnits") WITH ORDINALITY AS u(unit, position)""", {"ids": new_ids(staged)}).rowcount
        return MergeCounts(new=new, unchanged=staged - new)
    conn.execute("""
        CREATE TEMP TABLE stage_unit_target ON COMMIT DROP AS
        SELECT c.id AS "loincCodeId", u.unit AS "ucumCode", u.position = 1 AS "isPrimary"
        FROM stage_loinc s JOIN "LOINCCode" c ON c."loincNumber" = s."loincNumber",
             unnest(s."ucumUnits") WITH ORDINALITY AS u(unit, position)""")
    removed = conn.execute("""
        DELETE FROM "LOINCUnit" u USING "LOINCCode" c, stage_loinc s
        WHERE u."loincCodeId" = c.id AND c."loincNumber" = s."loincNumber" AND u."unitSystem" = 'UCUM'
          AND NOT EXISTS (SELECT 1 FROM stage_unit_target t
                          WHERE t."loincCodeId" = u."loincCodeId" AND t."ucumCode" = u."ucumCode")""").rowcount
    changed = conn.execute("""
        UPDATE "LOINCUnit" u SET "isPrimary" = t."isPrimary" FROM stage_unit_target t
        WHERE u."loincCodeId" = t."loincCodeId" AND u."ucumCode" = t."ucumCode" AND u."unitSystem" = 'UCUM'
          AND u."isPrimary" IS DISTINCT FROM t."isPrimary" """).rowcount
    staged = conn.execute("SELECT count(*) FROM stage_unit_target").fetchone()[0]
    new = conn.execute(f"""
        INSERT INTO "LOINCUnit" (id, "loincCodeId", unit, "ucumCode", "unitSystem", "isPrimary")
        SELECT {new_id("ids")}, t."loincCodeId", t."ucumCode", t."ucumCode", 'UCUM', t."isPrimary"
        FROM stage_unit_target t
        WHERE NOT EXISTS (SELECT 1 FROM "LOINCUnit" u WHERE u."loincCodeId" = t."loincCodeId"
                          AND u."ucumCode" = t."ucumCode" AND u."unitSystem" = 'UCUM')""",
        {"ids": new_ids(staged)}).rowcount
    return MergeCounts(new=new, changed=changed, retired=removed, unchanged=staged - new - changed)


def _merge_mappings(conn: psycopg.Connection, rejects: RejectLog) -> MergeCounts:
    """Replacements of deprecated terms (MapTo) as CodeMapping rows `REPLACED_BY` another LOINC code.
    A pair naming a code the database does not hold is rejected (CodeMapping has a foreign key)."""
    for file, line in conn.execute("""
            SELECT file, line FROM stage_loinc_mapto m
            WHERE NOT EXISTS (SELECT 1 FROM "LOINCCode" c WHERE c."loincNumber" = m."loincNumber")
               OR NOT EXISTS (SELECT 1 FROM "LOINCCode" c WHERE c."loincNumber" = m."mapTo")
            ORDER BY file, line""").fetchall():
        rejects.add(file, line, "MAP_TO names a LOINC code that is in neither the release nor the database")
    conn.execute("""
        CREATE TEMP TABLE stage_mapping ON COMMIT DROP AS
        SELECT DISTINCT m."loincNumber", m."mapTo", c."longName"
        FROM stage_loinc_mapto m JOIN "LOINCCode" c ON c."loincNumber" = m."mapTo"
        WHERE EXISTS (SELECT 1 FROM "LOINCCode" d WHERE d."loincNumber" = m."loincNumber")""")
    mine = """m."targetSystem" = 'LOINC' AND m.source = %(source)s AND m.relationship = %(rel)s"""
    params = {"source": MAPPING_SOURCE, "rel": MAPPING_RELATIONSHIP}
    removed = conn.execute(f"""
        DELETE FROM "CodeMapping" m WHERE {mine} AND NOT EXISTS (
            SELECT 1 FROM stage_mapping s WHERE s."loincNumber" = m."loincCode" AND s."mapTo" = m."targetCode")""",
        params).rowcount
    changed = conn.execute(f"""
        UPDATE "CodeMapping" m SET "targetName" = s."longName" FROM stage_mapping s
        WHERE {mine} AND s."loincNumber" = m."loincCode" AND s."mapTo" = m."targetCode"
          AND m."targetName" IS DISTINCT FROM s."longName" """, params).rowcount
    staged = conn.execute("SELECT count(*) FROM stage_mapping").fetchone()[0]
    new = conn.execute(f"""
        INSERT INTO "CodeMapping" (id, "loincCode", "targetSystem", "targetCode", "targetName", relationship,
                                   confidence, source)
        SELECT {new_id("ids")}, s."loincNumber", 'LOINC', s."mapTo", s."longName", %(rel)s, 1.0, %(source)s
        FROM stage_mapping s
        ON CONFLICT ("loincCode", "targetSystem", "targetCode") DO NOTHING""",
        {**params, "ids": new_ids(staged)}).rowcount
    return MergeCounts(new=new, changed=changed, retired=removed, unchanged=staged - new - changed)


SYSTEM = Loinc()
