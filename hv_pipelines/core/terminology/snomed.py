"""SNOMED CT from an RF2 Snapshot (International or a national edition) into "SNOMEDCode".

Four tab-separated files with a header row are streamed: Concept (all rows: inactive concepts are
kept with status INACTIVE), Description (active FSNs and synonyms), the en-US Language refset
(active members) and Relationship (active IS-A rows). Python only filters and splits bytes; the
join that picks each concept's terms and parents runs in PostgreSQL, so memory stays flat for the
full ~1.6M descriptions and ~3M relationships.

- preferred term: the active synonym the en-US refset marks preferred (900000000000548007);
- fully specified name: the active FSN (typeId 900000000000003001), en-US preferred first;
- synonyms: the other active synonyms; semantic tag: the FSN's trailing parentheses;
- hierarchy: the ids of the active IS-A (116680003) parents.
"""

from __future__ import annotations

import psycopg

from hv_pipelines.core.terminology.checks import CodeTally, verhoeff_ok
from hv_pipelines.core.terminology.merge import TargetTable
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Member, Progress, ReleaseError, ReleaseFiles
from hv_pipelines.core.terminology.staging import CopySink, analyze, copy_into, create_stage
from hv_pipelines.core.terminology.system import CodeSystem, Staged

FSN = b"900000000000003001"
SYNONYM = b"900000000000013009"
US_ENGLISH_REFSET = b"900000000000509007"
PREFERRED = b"900000000000548007"
IS_A = b"116680003"

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

BUILD_FINAL = r"""
CREATE TEMP TABLE stage_snomed ON COMMIT DROP AS
WITH language AS (
    SELECT description_id, bool_or(preferred) AS preferred FROM stage_sct_language GROUP BY description_id
), terms AS (
    SELECT d.concept_id, d.is_fsn, d.term, coalesce(l.preferred, false) AS preferred,
           l.description_id IS NOT NULL AS in_us
    FROM stage_sct_description d LEFT JOIN language l ON l.description_id = d.id
), fsn AS (
    SELECT DISTINCT ON (concept_id) concept_id, term FROM terms WHERE is_fsn
    ORDER BY concept_id, preferred DESC, in_us DESC, term
), preferred AS (
    SELECT DISTINCT ON (concept_id) concept_id, term FROM terms WHERE NOT is_fsn
    ORDER BY concept_id, preferred DESC, in_us DESC, term
), synonyms AS (
    SELECT t.concept_id, array_agg(DISTINCT t.term ORDER BY t.term) AS terms
    FROM terms t JOIN preferred p ON p.concept_id = t.concept_id
    WHERE NOT t.is_fsn AND t.term <> p.term GROUP BY t.concept_id
), parents AS (
    SELECT source_id, array_agg(DISTINCT destination_id ORDER BY destination_id) AS ids
    FROM stage_sct_isa GROUP BY source_id
)
SELECT c.id::text AS "snomedId",
       coalesce(p.term, regexp_replace(f.term, '\s*\([^()]*\)\s*$', '')) AS "preferredTerm",
       f.term AS "fullySpecified",
       coalesce(s.terms, '{}') AS synonyms,
       coalesce(substring(f.term FROM '\(([^()]*)\)\s*$'), '') AS "semanticTag",
       coalesce(h.ids::text[], '{}') AS hierarchy,
       CASE WHEN c.active THEN 'ACTIVE' ELSE 'INACTIVE' END AS status,
       c.effective::timestamp(3) AS "effectiveDate"
FROM stage_sct_concept c
JOIN fsn f ON f.concept_id = c.id
LEFT JOIN preferred p ON p.concept_id = c.id
LEFT JOIN synonyms s ON s.concept_id = c.id
LEFT JOIN parents h ON h.source_id = c.id
"""


def _digits(value: bytes) -> bool:
    return value.isdigit() and len(value) <= 18


class Snomed(CodeSystem):
    name = "snomed"
    title = "SNOMED CT"
    asset = "snomed_codes"
    check_names = ("snomed_verhoeff", "no_duplicate_codes", "row_count_within_band")
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
        create_stage(conn, "stage_sct_concept", "id bigint, effective date, active boolean, line integer")
        create_stage(conn, "stage_sct_description", "id bigint, concept_id bigint, is_fsn boolean, term text")
        create_stage(conn, "stage_sct_language", "description_id bigint, preferred boolean")
        create_stage(conn, "stage_sct_isa", "source_id bigint, destination_id bigint")
        tally = CodeTally("snomed_verhoeff", "every concept id carries a valid Verhoeff check digit")
        with files.open(concept, progress) as stream, copy_into(
                conn, "stage_sct_concept", ("id", "effective", "active", "line")) as sink:
            _stage_concepts(stream, concept, sink, rejects, tally)
        with files.open(description, progress) as stream, copy_into(
                conn, "stage_sct_description", ("id", "concept_id", "is_fsn", "term")) as sink:
            _stage_descriptions(stream, description, sink, rejects)
        with files.open(language, progress) as stream, copy_into(
                conn, "stage_sct_language", ("description_id", "preferred")) as sink:
            _stage_filtered(stream, language, sink, rejects, 7, _language_row, US_ENGLISH_REFSET)
        with files.open(relationship, progress) as stream, copy_into(
                conn, "stage_sct_isa", ("source_id", "destination_id")) as sink:
            _stage_filtered(stream, relationship, sink, rejects, 10, _is_a_row, b"\t" + IS_A + b"\t")
        analyze(conn, "stage_sct_concept", "stage_sct_description", "stage_sct_language", "stage_sct_isa")
        conn.execute(BUILD_FINAL)
        for (line,) in conn.execute(
                "SELECT line FROM stage_sct_concept c WHERE NOT EXISTS "
                "(SELECT 1 FROM stage_snomed s WHERE s.\"snomedId\" = c.id::text) ORDER BY line"):
            rejects.add(concept.name, line, "concept has no active fully specified name")
        analyze(conn, "stage_snomed")
        rows = conn.execute("SELECT count(*) FROM stage_snomed").fetchone()[0]
        return Staged(rows=rows, tallies=[tally])


def _split(stream, member: Member, rejects: RejectLog, width: int, marker: bytes = b""):
    """(line number, fields) of every data line with exactly `width` fields; others are rejected.
    With a `marker`, a well-formed line not containing it cannot be wanted and is passed over unsplit
    (most of the Relationship and Language files: attribute relationships, other dialects' refsets)."""
    stream.readline()
    for lineno, raw in enumerate(stream, start=2):
        if marker not in raw and raw.count(b"\t") == width - 1:
            continue
        fields = raw.rstrip(b"\r\n").split(b"\t")
        if len(fields) != width:
            if raw.strip():
                rejects.add(member.name, lineno, f"{len(fields)} fields, expected {width}")
            continue
        yield lineno, fields


def _stage_concepts(stream, member: Member, sink: CopySink, rejects: RejectLog, tally: CodeTally) -> None:
    for lineno, fields in _split(stream, member, rejects, 5):
        concept_id, effective, active = fields[0], fields[1], fields[2]
        if not (_digits(concept_id) and effective.isdigit() and len(effective) == 8 and active in (b"0", b"1")):
            rejects.add(member.name, lineno, "malformed id, effectiveTime or active flag")
            continue
        tally.record(concept_id.decode(), verhoeff_ok(concept_id))
        sink.fields((concept_id, effective, active, str(lineno).encode()))


def _stage_descriptions(stream, member: Member, sink: CopySink, rejects: RejectLog) -> None:
    for lineno, fields in _split(stream, member, rejects, 9):
        if fields[2] != b"1" or (fields[6] != FSN and fields[6] != SYNONYM):
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
        sink.fields((fields[0], fields[4], b"1" if fields[6] == FSN else b"0", term))


# A row picker returns the fields to stage, None to skip the line, or False when it is malformed.
def _language_row(fields: list[bytes]) -> tuple[bytes, ...] | None | bool:
    if fields[2] != b"1" or fields[4] != US_ENGLISH_REFSET:
        return None
    if not _digits(fields[5]):
        return False
    return fields[5], b"1" if fields[6] == PREFERRED else b"0"


def _is_a_row(fields: list[bytes]) -> tuple[bytes, ...] | None | bool:
    if fields[2] != b"1" or fields[7] != IS_A:
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
