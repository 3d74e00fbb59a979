"""CPT from CMS's Physician Fee Schedule relative value file (PPRRVUyy_MMM.csv) into "CPTCode".

CPT descriptors are licensed by the AMA; the public PPRRVU file carries every CPT code with a
short descriptor and its work, practice-expense and malpractice RVUs. A licensee's long-descriptor
file (AMA LONGULT.txt: code, tab, descriptor) given with the release fills `description`; without
one `description` is the short descriptor.

The CSV opens with a few lines of notices and a header split over several rows; data starts after
the row whose first cells are HCPCS, MOD, DESCRIPTION. Only the global row of each code is loaded
(modifier rows such as 26/TC are skipped), and only CPT codes: HCPCS Level II codes (a leading
letter) are skipped. `rvuPractice` is the non-facility practice-expense RVU. CMS status D (deleted)
becomes INACTIVE.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import BinaryIO

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from psycopg import sql

from hv_pipelines.core.arrow_copy import copy_arrow
from hv_pipelines.core.terminology.merge import TargetTable
from hv_pipelines.core.terminology.rawcopy import Unvouched, vouched_or_parsed
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Member, Progress, ReleaseError, ReleaseFiles
from hv_pipelines.core.terminology.staging import copy_into, create_stage
from hv_pipelines.core.terminology.system import CodeSystem, Staged

HEADER_SEARCH_LINES = 30
# AMA: a CPT code is five characters, four digits and then a digit (Category I) or a letter naming
# its kind (A vaccine administration, F Category II, T Category III, U PLA, M MAAA). A suffix letter
# the AMA adds later is still a CPT code (section "Unassigned" until SUFFIX_CATEGORY names it).
CPT_CODE = re.compile(r"^\d{4}[0-9A-Z]$")
# CMS: a HCPCS Level II code is one letter and four digits.
LEVEL_II_CODE = re.compile(r"^[A-Z]\d{4}$")
# What the fast path sends PostgreSQL as an RVU (a blank is NULL): numbers float() and double
# precision read alike. Anything else float() might still take (1_0, nan) goes to the line parser.
_RVU = re.compile(r"^([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)?$")
STAGE_COLUMNS = ('code text, description text, "shortDescription" text, category text, subcategory text, '
                 '"rvuWork" double precision, "rvuPractice" double precision, "rvuMalpractice" double precision, '
                 'status text, "effectiveDate" timestamp(3)')
STAGED_COLUMNS = ("code", "description", "shortDescription", "category", "rvuWork", "rvuPractice", "rvuMalpractice",
                  "status", "effectiveDate")
# Column positions in PPRRVU: 0 HCPCS, 1 MOD, 2 DESCRIPTION, 3 status code, 5 work RVU,
# 6 non-facility PE RVU, 10 malpractice RVU.
HCPCS, MOD, DESCRIPTION, STATUS, WORK, PRACTICE, MALPRACTICE = 0, 1, 2, 3, 5, 6, 10
SUFFIX_CATEGORY = {"F": "Category II", "T": "Category III", "U": "Proprietary Laboratory Analyses",
                   "M": "Multianalyte Assays with Algorithmic Analyses", "A": "Medicine"}
RANGES = ((100, 1999, "Anesthesia"), (10004, 69990, "Surgery"), (70010, 79999, "Radiology"),
          (80047, 89398, "Pathology and Laboratory"), (90281, 99199, "Medicine"),
          (99202, 99499, "Evaluation and Management"), (99500, 99607, "Medicine"))


def _readable(field: str) -> str:
    """The CPT code a rejected RVU line's HCPCS column holds, or "" when it holds none."""
    code = field.strip().upper()
    return code if CPT_CODE.match(code) else ""


def cpt_category(code: str) -> str:
    if not code[4].isdigit():
        return SUFFIX_CATEGORY.get(code[4], "Unassigned")
    number = int(code)
    for low, high, title in RANGES:
        if low <= number <= high:
            return title
    return "Unassigned"


def _rvu(value: str) -> str | None:
    """The RVU as COPY text (None when blank); ValueError when it is not a number."""
    value = value.strip()
    return repr(float(value)) if value else None


class Cpt(CodeSystem):
    name = "cpt"
    title = "CPT"
    asset = "cpt_codes"
    target = TargetTable(
        table="CPTCode", key="code", stage="stage_cpt",
        columns=("description", "shortDescription", "category", "subcategory", "rvuWork", "rvuPractice",
                 "rvuMalpractice", "status"),
        stamped=("effectiveDate",), retired_status="INACTIVE")

    def inspect(self, files: ReleaseFiles) -> list[Member]:
        candidates = files.matching("pprrvu*.csv")
        # Recent releases ship one file per conversion factor (QPP / non-QPP): the non-QPP one is loaded.
        if len(candidates) > 1:
            candidates = [m for m in candidates if "nonqpp" in m.basename.lower()] or candidates
        rvu = files.require(candidates[0].basename if len(candidates) == 1 else "pprrvu*.csv",
                            "CMS's Physician Fee Schedule relative value file (PPRRVUyy_MMM.csv)")
        with files.open(rvu) as stream:
            if _data_start(csv.reader(_text(stream))) is None:
                raise ReleaseError(f"{rvu.name} is not a CMS PPRRVU file: no header row starting HCPCS, MOD, "
                                   f"DESCRIPTION in its first {HEADER_SEARCH_LINES} lines")
        descriptors = files.find("longult*.txt")
        return [rvu, descriptors] if descriptors else [rvu]

    def stage(self, conn: psycopg.Connection, files: ReleaseFiles, members: list[Member],
              rejects: RejectLog, version: str, progress: Progress | None) -> Staged:
        create_stage(conn, "stage_cpt", STAGE_COLUMNS)
        stamp = datetime.strptime(version[:7], "%Y-%m").isoformat(sep=" ")
        rows, skipped = vouched_or_parsed(
            conn, files, members[0], progress, lambda stream: _vouch_rvu(conn, stream, stamp),
            lambda stream: _parse_rvu(conn, stream, members[0], rejects, stamp))
        if len(members) > 1:
            create_stage(conn, "stage_cpt_long", "code text, description text")
            self._stage_descriptors(conn, files, members[1], rejects, progress)
            conn.execute("""
                UPDATE stage_cpt s SET description = l.description
                FROM (SELECT DISTINCT ON (code) code, description FROM stage_cpt_long ORDER BY code) l
                WHERE l.code = s.code""")
        return Staged(rows=rows, skipped=skipped)

    @staticmethod
    def _stage_descriptors(conn: psycopg.Connection, files: ReleaseFiles, member: Member, rejects: RejectLog,
                           progress: Progress | None) -> None:
        with files.open(member, progress) as stream, copy_into(
                conn, "stage_cpt_long", ("code", "description")) as sink:
            for lineno, raw in enumerate(io.TextIOWrapper(stream, encoding="utf-8", errors="replace"), start=1):
                code, _, descriptor = raw.rstrip("\r\n").partition("\t")
                if not raw.strip():
                    continue
                if not CPT_CODE.match(code.strip()) or not descriptor.strip() or "\ufffd" in descriptor:
                    rejects.add(member.name, lineno, "expected a CPT code, a tab and a UTF-8 descriptor")
                    continue
                sink.row((code.strip(), descriptor.strip()))


def _text(stream: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding="cp1252", errors="replace", newline="")


def _strings(values: list[str]) -> pa.StringArray:
    """`values` as an Arrow array, built from its buffers. Arrow's own conversion of Python values
    (`pa.array`, `pa.scalar`, a str handed to a compute function) first imports pandas to see
    whether they are pandas objects: ~0.35 s, more than a whole CPT load in a fresh process."""
    data = [value.encode() for value in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum([len(value) for value in data], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


_EMPTY, _DELETED, _INACTIVE, _ACTIVE = _strings(["", "D", "INACTIVE", "ACTIVE"])
_NULL = pa.nulls(1, pa.string())[0]


def _vouch_rvu(conn: psycopg.Connection, stream: BinaryIO, stamp: str) -> tuple[int, dict[str, int]]:
    """The fast path: the whole file at once through Arrow's CSV reader and compute kernels, no
    Python step per row. It vouches only for a file every data row of which has the first data
    row's number of fields (at least 11, no line breaks inside values) and is a modifier row, a
    HCPCS Level II code, or a CPT code with numeric RVUs and a description — where the line
    parser would reject nothing. Anything else raises `Unvouched` and the line parser runs."""
    text = stream.read().decode("cp1252", errors="replace")  # as `_text` decodes it, in one call
    head = io.StringIO(text[:_offset_after_lines(text, HEADER_SEARCH_LINES)], newline="")
    try:
        if _data_start(csv.reader(head)) is None:
            raise Unvouched("no header row")
        data = text[head.tell():]  # the reader stopped right after the header row
        first = next((record for record in csv.reader(io.StringIO(data[:_offset_after_lines(data, 100)],
                                                                  newline="")) if record), [])
    except csv.Error:
        raise Unvouched("a quoted value running over many lines") from None
    width = len(first)
    if width <= MALPRACTICE:
        raise Unvouched("no data rows, or too few fields")
    invalid: list[int] = []
    names = [f"f{i}" for i in range(width)]
    used = [names[i] for i in (HCPCS, MOD, DESCRIPTION, STATUS, WORK, PRACTICE, MALPRACTICE)]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data.encode()),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pcsv.ParseOptions(newlines_in_values=True,
                                            invalid_row_handler=lambda row: invalid.append(row.number) or "skip"),
            convert_options=pcsv.ConvertOptions(include_columns=used, column_types=dict.fromkeys(used, pa.string()),
                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        raise Unvouched("not plain CSV") from None
    if invalid:
        raise Unvouched("rows with another number of fields")

    def cell(index: int) -> pa.ChunkedArray:
        return pc.utf8_trim_whitespace(table[names[index]])

    code = pc.utf8_upper(cell(HCPCS))
    modifier = pc.not_equal(cell(MOD), _EMPTY)
    level_ii = pc.and_not(pc.match_substring_regex(code, LEVEL_II_CODE.pattern), modifier)
    wanted = pc.and_not(pc.match_substring_regex(code, CPT_CODE.pattern), modifier)
    if not pc.all(pc.or_(pc.or_(modifier, level_ii), wanted)).as_py():
        raise Unvouched("a row that is no CPT code, HCPCS Level II code or modifier row")
    rows = pc.filter(pa.table({"code": code, **{str(i): cell(i) for i in (DESCRIPTION, STATUS, WORK, PRACTICE,
                                                                             MALPRACTICE)}}), wanted)
    rvus = {}
    for index, column in ((WORK, "rvuWork"), (PRACTICE, "rvuPractice"), (MALPRACTICE, "rvuMalpractice")):
        values = rows[str(index)]
        if not pc.all(pc.match_substring_regex(values, _RVU.pattern)).as_py():
            raise Unvouched("an RVU that is not a plain number")
        rvus[column] = pc.if_else(pc.equal(values, _EMPTY), _NULL, values)
    short = rows[str(DESCRIPTION)]
    if not pc.all(pc.not_equal(short, _EMPTY)).as_py():
        raise Unvouched("an empty description")
    staged = pa.table({
        "code": rows["code"], "description": short, "shortDescription": short,
        "category": _strings([cpt_category(c) for c in rows["code"].to_pylist()]), **rvus,
        "status": pc.if_else(pc.equal(pc.utf8_upper(rows[str(STATUS)]), _DELETED), _INACTIVE, _ACTIVE),
        "effectiveDate": pa.repeat(_strings([stamp])[0], rows.num_rows)})
    copy_arrow(conn, sql.Identifier("stage_cpt"), STAGED_COLUMNS, [staged])
    skipped = {"modifier rows": pc.sum(modifier).as_py() or 0, "HCPCS Level II codes": pc.sum(level_ii).as_py() or 0}
    return rows.num_rows, skipped


def _offset_after_lines(text: str, lines: int) -> int:
    """Where the first `lines` lines of `text` end (its length if it has fewer)."""
    end = -1
    for _ in range(lines):
        end = text.find("\n", end + 1)
        if end < 0:
            return len(text)
    return end + 1


def _parse_rvu(conn: psycopg.Connection, stream: BinaryIO, member: Member, rejects: RejectLog,
               stamp: str) -> tuple[int, dict[str, int]]:
    """The line-by-line path: stage the global rows of CPT codes (the description is the short
    descriptor until a licensee's file replaces it), rejecting bad lines with their line number;
    returns the rows staged and the lines passed over."""
    skipped = {"modifier rows": 0, "HCPCS Level II codes": 0}
    with copy_into(conn, "stage_cpt", STAGED_COLUMNS) as sink:
        reader = csv.reader(_text(stream))
        _data_start(reader)
        for record in reader:
            line = reader.line_num
            if not (record and record[HCPCS].strip()) and not any(cell.strip() for cell in record):
                continue
            if len(record) <= MALPRACTICE:
                rejects.add(member.name, line, f"{len(record)} fields, expected at least {MALPRACTICE + 1}",
                            code=_readable(record[HCPCS]) if len(record) > HCPCS else "")
                continue
            if record[MOD].strip():
                skipped["modifier rows"] += 1
                continue
            code = record[HCPCS].strip().upper()
            if not CPT_CODE.match(code):
                if LEVEL_II_CODE.match(code):
                    skipped["HCPCS Level II codes"] += 1
                else:
                    rejects.add(member.name, line, "HCPCS column is not a 5-character code", code="")
                continue
            try:
                rvus = (_rvu(record[WORK]), _rvu(record[PRACTICE]), _rvu(record[MALPRACTICE]))
            except ValueError:
                rejects.add(member.name, line, "an RVU column is not a number", code=code)
                continue
            short = record[DESCRIPTION].strip()
            if not short:
                rejects.add(member.name, line, "empty DESCRIPTION", code=code)
                continue
            status = "INACTIVE" if record[STATUS].strip().upper() == "D" else "ACTIVE"
            sink.texts((code, short, short, cpt_category(code), *rvus, status, stamp))
    return sink.rows, skipped


def _data_start(reader) -> int | None:
    """Advance `reader` past the header row; return its line number (None if it is not found)."""
    for record in reader:
        if [c.strip().upper() for c in record[:3]] == ["HCPCS", "MOD", "DESCRIPTION"]:
            return reader.line_num
        if reader.line_num >= HEADER_SEARCH_LINES:
            return None
    return None


SYSTEM = Cpt()
