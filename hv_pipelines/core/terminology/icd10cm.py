"""ICD-10-CM from CMS's order file `icd10cm_order_YYYY.txt` (fixed width, one code per line).

Layout (1-based columns): 1-5 order number, 7-13 code without its dot, 15 `1` when the code is
valid for HIPAA transactions (billable) or `0` for a header, 17-76 short description, 78-end
long description. Codes are stored dotted (`E119` -> `E11.9`); headers are loaded too (not
billable). `category` is the chapter title; `subcategory` the three-character category (`E11`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import datetime

import psycopg

from hv_pipelines.core.terminology.checks import ICD10CM_CODE, CheckResult
from hv_pipelines.core.terminology.merge import TargetTable
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Member, Progress, ReleaseError, ReleaseFiles
from hv_pipelines.core.terminology.staging import copy_into, create_stage
from hv_pipelines.core.terminology.system import CodeSystem, Staged

_LINE = re.compile(r"^(\d{5}) ([A-Z0-9]{3}[A-Z0-9 ]{4}) ([01]) (.{60}) (.+)$")

# (first category, chapter title) in tabular order. The tabular list is in code order and each
# chapter is one contiguous run of it, so a category belongs to the last chapter starting at or
# before it: a category CMS adds inside a chapter's run needs no change here (QA0, added in April
# 2026, follows Q99 in chapter 17 "Q00-QA0"; O9A follows O99 in chapter 15).
CHAPTERS = (
    ("A00", "Certain infectious and parasitic diseases"),
    ("C00", "Neoplasms"),
    ("D50", "Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism"),
    ("E00", "Endocrine, nutritional and metabolic diseases"),
    ("F01", "Mental, Behavioral and Neurodevelopmental disorders"),
    ("G00", "Diseases of the nervous system"),
    ("H00", "Diseases of the eye and adnexa"),
    ("H60", "Diseases of the ear and mastoid process"),
    ("I00", "Diseases of the circulatory system"),
    ("J00", "Diseases of the respiratory system"),
    ("K00", "Diseases of the digestive system"),
    ("L00", "Diseases of the skin and subcutaneous tissue"),
    ("M00", "Diseases of the musculoskeletal system and connective tissue"),
    ("N00", "Diseases of the genitourinary system"),
    ("O00", "Pregnancy, childbirth and the puerperium"),
    ("P00", "Certain conditions originating in the perinatal period"),
    ("Q00", "Congenital malformations, deformations and chromosomal abnormalities"),
    ("R00", "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"),
    ("S00", "Injury, poisoning and certain other consequences of external causes"),
    ("U00", "Codes for special purposes"),
    ("V00", "External causes of morbidity"),
    ("Z00", "Factors influencing health status and contact with health services"),
)
_CHAPTER_STARTS = [first for first, _ in CHAPTERS]
UNASSIGNED_CHAPTER = "Unassigned"


def chapter(code: str) -> str:
    index = bisect_right(_CHAPTER_STARTS, code[:3]) - 1
    return CHAPTERS[index][1] if index >= 0 else UNASSIGNED_CHAPTER


def dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


_CODE_FIELD = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")


def _code_at(raw: bytes) -> str:
    """The code a rejected line's code columns hold (dotted, as staged), or "" when none can be read."""
    code = raw[6:13].decode("ascii", "replace").rstrip()
    return dotted(code) if _CODE_FIELD.match(code) else ""


def fiscal_year_start(version: str) -> datetime:
    """ICD-10-CM fiscal year N takes effect on 1 October of year N-1."""
    return datetime(int(version[:4]) - 1, 10, 1)


class Icd10Cm(CodeSystem):
    name = "icd10cm"
    title = "ICD-10-CM"
    asset = "icd10_codes"
    check_names = ("no_duplicate_codes", "icd10cm_code_format", "rejects_within_share", "row_count_within_band")
    target = TargetTable(
        table="ICD10Code", key="code", stage="stage_icd10",
        columns=("description", "shortDescription", "category", "subcategory", "billable", "status"),
        stamped=("effectiveDate",), retired_status="INACTIVE")

    def inspect(self, files: ReleaseFiles) -> list[Member]:
        member = files.require("icd10cm*order*.txt", "CMS's ICD-10-CM order file (icd10cm_order_YYYY.txt)")
        with files.open(member) as stream:
            first = stream.readline().decode("utf-8", "replace").rstrip("\r\n")
        if not _LINE.match(first):
            raise ReleaseError(f"{member.name} is not a CMS ICD-10-CM order file: its first line does not "
                               "have the fixed-width layout (order number, code, 0/1 flag, short and long "
                               "description)")
        return [member]

    def stage(self, conn: psycopg.Connection, files: ReleaseFiles, members: list[Member],
              rejects: RejectLog, version: str, progress: Progress | None) -> Staged:
        member = members[0]
        effective = fiscal_year_start(version)
        create_stage(conn, self.target.stage,
                     '"code" text, "description" text, "shortDescription" text, "category" text, '
                     '"subcategory" text, "billable" boolean, "status" text, "effectiveDate" timestamp(3)')
        with files.open(member, progress) as stream, copy_into(
                conn, self.target.stage, ("code", *self.target.columns, *self.target.stamped)) as sink:
            for lineno, raw in enumerate(stream, start=1):
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    rejects.add(member.name, lineno, "not valid UTF-8", code=_code_at(raw))
                    continue
                match = _LINE.match(line)
                if not match:
                    rejects.add(member.name, lineno, "not in the order-file layout", code=_code_at(raw))
                    continue
                _, code, flag, short, long = match.groups()
                code, short, long = code.rstrip(), short.strip(), long.strip()
                if " " in code:
                    rejects.add(member.name, lineno, "code column holds a space", code=_code_at(raw))
                    continue
                if not short or not long:
                    rejects.add(member.name, lineno, "empty description", code=dotted(code))
                    continue
                sink.row((dotted(code), long, short, chapter(code), code[:3], flag == "1", "ACTIVE", effective))
            rows = sink.rows
        return Staged(rows=rows)

    def checks(self, conn: psycopg.Connection, *, duplicates: bool = True) -> list[CheckResult]:
        bad = [r[0] for r in conn.execute(
            f'SELECT code FROM {self.target.stage} WHERE code !~ %s ORDER BY code', (ICD10CM_CODE.pattern,))]
        return [*super().checks(conn, duplicates=duplicates),
                CheckResult("icd10cm_code_format", not bad,
                            "every code has CMS's layout: a letter, then alphanumerics, a dot after the third "
                            "character, at most 7 characters",
                            {"failed": len(bad), "examples": bad[:5]})]


SYSTEM = Icd10Cm()
