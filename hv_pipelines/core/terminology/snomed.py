"""SNOMED CT from an RF2 Snapshot (International or a national edition) into "SNOMEDCode".

Four tab-separated files with a header row are read: Concept (all rows: inactive concepts are
kept with status INACTIVE), Description (active FSNs and synonyms), the en-US Language refset
(active members) and Relationship (active IS-A rows). Each file's bytes go straight into COPY,
only those rows and the fields the load reads (`rawcopy`); a file with a line that is not clean is
parsed line by line instead, rejecting the bad lines. The joins that pick each concept's terms and parents run
in PostgreSQL, so memory stays flat for the full ~1.6M descriptions and ~3M relationships; the
Concept and Relationship files are staged and joined into each concept's row with its hierarchy on a
second connection (`staging.alongside`) while the load's own connection builds the terms, so both
cores work through the longest query.

- preferred term: the active synonym the en-US refset marks preferred (900000000000548007);
- fully specified name: the active FSN (typeId 900000000000003001), en-US preferred first;
- synonyms: the other active synonyms; semantic tag: the FSN's trailing parentheses;
- hierarchy: the ids of the active IS-A (116680003) parents.
"""

from __future__ import annotations

import re

import psycopg

from hv_pipelines.core.terminology.checks import CodeTally, verhoeff_ok, verhoeff_valid
from hv_pipelines.core.terminology.merge import TargetTable
from hv_pipelines.core.terminology.rawcopy import (
    LineFilter,
    RawStage,
    digits_sql,
    not_blank_sql,
    stage_raw,
    vouched_or_parsed,
)
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Member, Progress, ReleaseError, ReleaseFiles
from hv_pipelines.core.terminology.staging import (
    CopySink,
    SpooledBytes,
    alongside,
    analyze,
    close_all,
    copy_back,
    copy_into,
    copy_out,
    create_stage,
    serialised,
    tune,
)
from hv_pipelines.core.terminology.system import CodeSystem, Staged

FSN = "900000000000003001"
SYNONYM = "900000000000013009"
US_ENGLISH_REFSET = "900000000000509007"
PREFERRED = "900000000000548007"
IS_A = "116680003"

FILES = {
    "concept": ("sct2_concept_snapshot*.txt",
                "id effectiveTime active moduleId definitionStatusId"),
    "description": ("sct2_description_snapshot-en*.txt",
                    "id effectiveTime active moduleId conceptId languageCode typeId term caseSignificanceId"),
    "language": ("der2_crefset_languagesnapshot*.txt",
                 "id effectiveTime active moduleId refsetId referencedComponentId acceptabilityId"),
    "relationship": ("sct2_relationship_snapshot*.txt",
                     "id effectiveTime active moduleId sourceId destinationId relationshipGroup typeId "
                     "characteristicTypeId modifierId"),
}

# One aggregate per concept, no sorting of the ~1.6M terms: "en-US preferred first, then in the
# en-US refset, then alphabetical" is the first of three min()s that is not null; a description
# that is in the refset twice joins twice, which changes none of the minima nor the DISTINCT set.
# The semantic tag is what follows the FSN's last "(" when that ends in ")" and trailing ASCII white
# space: string functions, as a regular expression anchored at the end costs ~1.7 µs a concept.
# Concepts are not read here: they are staged on the second connection meanwhile.
BUILD_TERMS = r"""
CREATE TEMP TABLE stage_sct_terms ON COMMIT DROP AS
WITH terms AS (
    SELECT d.concept_id, d.is_fsn, d.term, coalesce(l.preferred, false) AS preferred,
           l.description_id IS NOT NULL AS in_us
    FROM stage_sct_description d LEFT JOIN stage_sct_language l ON l.description_id = d.id
), chosen AS (
    SELECT concept_id,
           coalesce(min(term) FILTER (WHERE is_fsn AND preferred), min(term) FILTER (WHERE is_fsn AND in_us),
                    min(term) FILTER (WHERE is_fsn)) AS fsn,
           coalesce(min(term) FILTER (WHERE NOT is_fsn AND preferred),
                    min(term) FILTER (WHERE NOT is_fsn AND in_us), min(term) FILTER (WHERE NOT is_fsn)) AS preferred,
           array_agg(DISTINCT term ORDER BY term) FILTER (WHERE NOT is_fsn) AS synonyms
    FROM terms GROUP BY concept_id
)
SELECT t.concept_id,
       coalesce(t.preferred, regexp_replace(t.fsn, '\s*\([^()]*\)\s*$', '')) AS "preferredTerm",
       t.fsn AS "fullySpecified",
       coalesce(array_remove(t.synonyms, t.preferred), '{}') AS synonyms,
       CASE WHEN strpos(t.fsn, '(') > 0 AND right(x.tail, 1) = ')' AND strpos(left(x.tail, -1), ')') = 0
            THEN left(x.tail, -1) ELSE '' END AS "semanticTag"
FROM chosen t
CROSS JOIN LATERAL (SELECT rtrim(split_part(t.fsn, '(', -1), E' \t\n\r\f\v') AS tail) x
WHERE t.fsn IS NOT NULL
"""

# Each concept with its IS-A parents in id order: built on the second connection (`alongside`).
CONCEPTS = """
SELECT c.id, c.effective, c.active, c.line, p.ids
FROM stage_sct_concept c LEFT JOIN (
    SELECT source_id, array_agg(DISTINCT destination_id ORDER BY destination_id)::text[] AS ids
    FROM stage_sct_isa GROUP BY source_id) p ON p.source_id = c.id
"""

BUILD_FINAL = """
CREATE TEMP TABLE stage_snomed ON COMMIT DROP AS
SELECT c.id::text AS "snomedId", t."preferredTerm", t."fullySpecified", t.synonyms, t."semanticTag",
       coalesce(c.hierarchy, '{}') AS hierarchy, CASE WHEN c.active THEN 'ACTIVE' ELSE 'INACTIVE' END AS status,
       c.effective::timestamp(3) AS "effectiveDate"
FROM stage_sct_concept c JOIN stage_sct_terms t ON t.concept_id = c.id
"""


_FSN, _SYNONYM, _US_ENGLISH_REFSET, _PREFERRED, _IS_A = (
    value.encode() for value in (FSN, SYNONYM, US_ENGLISH_REFSET, PREFERRED, IS_A))


def _digits(value: bytes) -> bool:
    return value.isdigit() and len(value) <= 18


class Snomed(CodeSystem):
    name = "snomed"
    title = "SNOMED CT"
    asset = "snomed_codes"
    check_names = ("snomed_verhoeff", "no_duplicate_codes", "rejects_within_share", "row_count_within_band")
    target = TargetTable(
        table="SNOMEDCode", key="snomedId", stage="stage_snomed",
        columns=("preferredTerm", "fullySpecified", "synonyms", "semanticTag", "hierarchy", "status",
                 "effectiveDate"),
        retired_status="INACTIVE")

    def inspect(self, files: ReleaseFiles) -> list[Member]:
        members = []
        for kind, (pattern, header) in FILES.items():
            member = files.require(pattern, f"the RF2 Snapshot {kind} file (is this a SNOMED CT RF2 release?)")
            with files.open(member) as stream:
                first = stream.readline().decode("utf-8", "replace").strip()
            if first.split("\t") != header.split():
                raise ReleaseError(f"{member.name} is not an RF2 {kind} file: its header is not "
                                   f"{header.replace(' ', '<TAB>')}")
            members.append(member)
        return members

    def stage(self, conn: psycopg.Connection, files: ReleaseFiles, members: list[Member],
              rejects: RejectLog, version: str, progress: Progress | None) -> Staged:
        concept, description, language, relationship = members
        progress = serialised(progress)
        for kind, member in (("description", description), ("language", language)):
            _stage_file(conn, files, kind, member, rejects, progress)
        # The Concept and Relationship files are staged, and joined into one row per concept with its
        # parents, on a second connection while this one builds the terms (the longest query, on one
        # core): on two cores neither waits for the other.
        with alongside(conn, lambda other: _concepts(other, files, concept, relationship, version, progress),
                       discard=lambda value: close_all(*value[:2])) as concepts:
            conn.execute(BUILD_TERMS)
            spool, concept_rejects, tally = concepts()
        with spool, concept_rejects:
            rejects.extend(concept_rejects)
            create_stage(conn, "stage_sct_concept", "id bigint, effective date, active boolean, line integer, "
                         "hierarchy text[]")
            spool.seek(0)
            concepts_staged = copy_back(conn, "stage_sct_concept", spool)
        analyze(conn, "stage_sct_terms", "stage_sct_concept")
        rows = conn.execute(BUILD_FINAL).rowcount
        # Every concept row is built at most once (`stage_sct_terms` has one row per concept id), so only
        # when rows are missing is it worth looking for which.
        if rows < concepts_staged:
            for line, concept_id in conn.execute(
                    "SELECT line, id::text FROM stage_sct_concept c WHERE NOT EXISTS "
                    "(SELECT 1 FROM stage_snomed s WHERE s.\"snomedId\" = c.id::text) ORDER BY line"):
                rejects.add(concept.name, line, "concept has no active fully specified name", code=concept_id)
        return Staged(rows=rows, tallies=[tally])


def _stage_file(conn: psycopg.Connection, files: ReleaseFiles, kind: str, member: Member, rejects: RejectLog,
                progress: Progress | None) -> None:
    vouched_or_parsed(conn, files, member, progress,
                      lambda stream: stage_raw(conn, stream, VOUCHED[kind], delimiter="\t", header=True),
                      lambda stream: _PARSERS[kind](conn, stream, member, rejects))


def _concepts(conn: psycopg.Connection, files: ReleaseFiles, concept: Member, relationship: Member, version: str,
              progress: Progress | None) -> tuple[SpooledBytes, RejectLog, CodeTally]:
    """Stage the Concept and Relationship files on `conn` (its own rejects log) and hand back each
    concept with its parents (`copy_out`: COPY binary, spooled to disk past a few MB) and the Verhoeff
    tally."""
    rejects = RejectLog("snomed", version)
    try:
        tune(conn)  # the load's settings: its statistics target too (ANALYZE of the Concept file 0.23 s -> 0.03 s)
        tally = vouched_or_parsed(conn, files, concept, progress, lambda stream: _vouch_concepts(conn, stream),
                                  lambda stream: _parse_concepts(conn, stream, concept, rejects))
        _stage_file(conn, files, "relationship", relationship, rejects, progress)
        return copy_out(conn, CONCEPTS), rejects, tally
    except BaseException:
        rejects.close()
        raise


# ---- the fast path (`rawcopy`): COPY keeps the rows a load uses, CHECKs accept them as the parser would

def _columns(kind: str) -> tuple[str, ...]:
    return tuple(FILES[kind][1].split())


# What `bytes.strip()` removes that can be inside a tab-delimited field.
_TERM_BLANKS = " \x0b\x0c"
_FIRST_FIELD = re.compile(rb"^([^\t\n]*)\t", re.M)
VOUCHED = {
    "concept": RawStage(
        stage="stage_sct_concept", columns=_columns("concept"),
        extra=", line integer GENERATED ALWAYS AS IDENTITY (START WITH 2)",
        check=f"""{digits_sql("id")} AND active IN ('0', '1') AND length("effectiveTime") = 8
                 AND "effectiveTime"::integer >= 0 AND "effectiveTime"::integer::text = "effectiveTime" """,
        view="""SELECT id::bigint AS id, "effectiveTime"::date AS effective, active = '1' AS active, line
                FROM raw_stage_sct_concept"""),
    "description": RawStage(
        stage="stage_sct_description", columns=_columns("description"),
        prefilter=LineFilter(b"\t", 9, {2: (b"1",), 6: (FSN.encode(), SYNONYM.encode())}, fields=(0, 4, 6, 7)),
        check=f"{digits_sql('id')} AND {digits_sql('conceptId')} AND {not_blank_sql('term', _TERM_BLANKS)}",
        view=f"""SELECT id::bigint AS id, "conceptId"::bigint AS concept_id, "typeId" = '{FSN}' AS is_fsn, term
                 FROM raw_stage_sct_description"""),
    "language": RawStage(
        stage="stage_sct_language", columns=_columns("language"),
        prefilter=LineFilter(b"\t", 7, {2: (b"1",), 4: (US_ENGLISH_REFSET.encode(),)}, fields=(5, 6)),
        check=digits_sql("referencedComponentId"),
        view=f"""SELECT "referencedComponentId"::bigint AS description_id, "acceptabilityId" = '{PREFERRED}' AS preferred
                 FROM raw_stage_sct_language"""),
    "relationship": RawStage(
        stage="stage_sct_isa", columns=_columns("relationship"),
        prefilter=LineFilter(b"\t", 10, {2: (b"1",), 7: (IS_A.encode(),)}, fields=(4, 5)),
        check=f"{digits_sql('sourceId')} AND {digits_sql('destinationId')}",
        view="""SELECT "sourceId"::bigint AS source_id, "destinationId"::bigint AS destination_id
                FROM raw_stage_sct_isa"""),
}


def _verhoeff_tally() -> CodeTally:
    return CodeTally("snomed_verhoeff", "every concept id carries a valid Verhoeff check digit")


def _vouch_concepts(conn: psycopg.Connection, stream) -> CodeTally:
    """Every concept row is kept; ids are Verhoeff-checked in Python while PostgreSQL parses."""
    tally = _verhoeff_tally()
    stage_raw(conn, stream, VOUCHED["concept"], delimiter="\t", header=True,
              on_lines=lambda chunk: tally.record_all(_FIRST_FIELD.findall(chunk), verhoeff_valid))
    return tally


# ---- the line-by-line parser: the reference semantics, and the path for files that are not clean

def _parse_concepts(conn: psycopg.Connection, stream, member: Member, rejects: RejectLog) -> CodeTally:
    create_stage(conn, "stage_sct_concept", "id bigint, effective date, active boolean, line integer")
    tally = _verhoeff_tally()
    with copy_into(conn, "stage_sct_concept", ("id", "effective", "active", "line")) as sink:
        _stage_concepts(stream, member, sink, rejects, tally)
    analyze(conn, "stage_sct_concept")
    return tally


def _parse_descriptions(conn: psycopg.Connection, stream, member: Member, rejects: RejectLog) -> None:
    create_stage(conn, "stage_sct_description", "id bigint, concept_id bigint, is_fsn boolean, term text")
    with copy_into(conn, "stage_sct_description", ("id", "concept_id", "is_fsn", "term")) as sink:
        _stage_descriptions(stream, member, sink, rejects)
    analyze(conn, "stage_sct_description")


def _parse_language(conn: psycopg.Connection, stream, member: Member, rejects: RejectLog) -> None:
    create_stage(conn, "stage_sct_language", "description_id bigint, preferred boolean")
    with copy_into(conn, "stage_sct_language", ("description_id", "preferred")) as sink:
        _stage_filtered(stream, member, sink, rejects, 7, _language_row, _US_ENGLISH_REFSET)
    analyze(conn, "stage_sct_language")


def _parse_relationships(conn: psycopg.Connection, stream, member: Member, rejects: RejectLog) -> None:
    create_stage(conn, "stage_sct_isa", "source_id bigint, destination_id bigint")
    with copy_into(conn, "stage_sct_isa", ("source_id", "destination_id")) as sink:
        _stage_filtered(stream, member, sink, rejects, 10, _is_a_row, b"\t" + _IS_A + b"\t")
    analyze(conn, "stage_sct_isa")


_PARSERS = {"description": _parse_descriptions, "language": _parse_language, "relationship": _parse_relationships}


def _split(stream, member: Member, rejects: RejectLog, width: int, marker: bytes = b"", *, codes: bool = False):
    """(line number, fields) of every data line with exactly `width` fields; others are rejected
    (with their first field as the code they name, when `codes`: the Concept file).
    With a `marker`, a well-formed line not containing it cannot be wanted and is passed over unsplit
    (most of the Relationship and Language files: attribute relationships, other dialects' refsets)."""
    stream.readline()
    for lineno, raw in enumerate(stream, start=2):
        if marker not in raw and raw.count(b"\t") == width - 1:
            continue
        fields = raw.rstrip(b"\r\n").split(b"\t")
        if len(fields) != width:
            if raw.strip():
                rejects.add(member.name, lineno, f"{len(fields)} fields, expected {width}",
                            code=_concept_code(fields[0]) if codes else None)
            continue
        yield lineno, fields


def _concept_code(field: bytes) -> bytes:
    """The SCTID a rejected Concept line names, or b"" when it names none."""
    return field if _digits(field) else b""


def _stage_concepts(stream, member: Member, sink: CopySink, rejects: RejectLog, tally: CodeTally) -> None:
    for lineno, fields in _split(stream, member, rejects, 5, codes=True):
        concept_id, effective, active = fields[0], fields[1], fields[2]
        if not (_digits(concept_id) and effective.isdigit() and len(effective) == 8 and active in (b"0", b"1")):
            rejects.add(member.name, lineno, "malformed id, effectiveTime or active flag",
                        code=_concept_code(concept_id))
            continue
        tally.record(concept_id.decode(), verhoeff_ok(concept_id))
        sink.fields((concept_id, effective, active, str(lineno).encode()))


def _stage_descriptions(stream, member: Member, sink: CopySink, rejects: RejectLog) -> None:
    for lineno, fields in _split(stream, member, rejects, 9):
        if fields[2] != b"1" or (fields[6] != _FSN and fields[6] != _SYNONYM):
            continue
        if not (_digits(fields[0]) and _digits(fields[4])):
            rejects.add(member.name, lineno, "malformed id or conceptId")
            continue
        term = fields[7]
        try:
            term.decode("utf-8")
        except UnicodeDecodeError:
            rejects.add(member.name, lineno, "term is not valid UTF-8")
            continue
        if not term.strip():
            rejects.add(member.name, lineno, "empty term")
            continue
        sink.fields((fields[0], fields[4], b"1" if fields[6] == _FSN else b"0", term))


# A row picker returns the fields to stage, None to skip the line, or False when it is malformed.
def _language_row(fields: list[bytes]) -> tuple[bytes, ...] | None | bool:
    if fields[2] != b"1" or fields[4] != _US_ENGLISH_REFSET:
        return None
    if not _digits(fields[5]):
        return False
    return fields[5], b"1" if fields[6] == _PREFERRED else b"0"


def _is_a_row(fields: list[bytes]) -> tuple[bytes, ...] | None | bool:
    if fields[2] != b"1" or fields[7] != _IS_A:
        return None
    if not (_digits(fields[4]) and _digits(fields[5])):
        return False
    return fields[4], fields[5]


def _stage_filtered(stream, member: Member, sink: CopySink, rejects: RejectLog, width: int, pick,
                    marker: bytes) -> None:
    for lineno, fields in _split(stream, member, rejects, width, marker):
        row = pick(fields)
        if row is False:
            rejects.add(member.name, lineno, "malformed identifier")
        elif row is not None:
            sink.fields(row)


SYSTEM = Snomed()
