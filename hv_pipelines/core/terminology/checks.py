"""Blocking release checks: a release that fails one is never merged, and the old one stays.

Checks look at what was staged (after parsing, before the merge, in the load's transaction).
Identifier checks that need per-code arithmetic (LOINC mod-10, SNOMED Verhoeff) are counted while
parsing, where every code passes through Python anyway; the rest run as SQL over the staging table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import psycopg
from psycopg import sql

EXAMPLES_KEPT = 5


@dataclass
class CheckResult:
    name: str
    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass
class CodeTally:
    """Counts codes that fail an identifier rule while they stream past, keeping a few examples."""

    name: str
    description: str
    checked: int = 0
    failed: int = 0
    examples: list[str] = field(default_factory=list)

    def record(self, code: str, ok: bool) -> None:
        self.checked += 1
        if not ok:
            self.failed += 1
            if len(self.examples) < EXAMPLES_KEPT:
                self.examples.append(code)

    def record_all(self, codes: list[bytes], valid: Callable[[list[bytes]], np.ndarray]) -> None:
        """`record` for many codes at once (the fast path hands over whole chunks of ids); `valid`
        tells which of them pass, as one boolean array."""
        self.checked += len(codes)
        failed = np.flatnonzero(~valid(codes))
        self.failed += len(failed)
        for index in failed[:EXAMPLES_KEPT - len(self.examples)]:
            self.examples.append(codes[index].decode("utf-8", "replace"))

    def result(self) -> CheckResult:
        return CheckResult(self.name, self.failed == 0, self.description,
                           {"checked": self.checked, "failed": self.failed, "examples": self.examples})


def loinc_check_digit_ok(loinc_num: str) -> bool:
    """LOINC's mod-10 check digit (the Luhn algorithm over the digits before the hyphen)."""
    body, _, check = loinc_num.partition("-")
    if not (body.isdigit() and len(check) == 1 and check.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(check)


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


# One step of the Verhoeff fold by position mod 8 and running check, indexed by the digit's byte:
# _VERHOEFF_STEP[p][c][byte] == D[c][P[p][byte - 48]] (a SNOMED snapshot has ~0.5M ids to check).
_VERHOEFF_STEP = tuple(
    tuple(bytes(_VERHOEFF_D[check][_VERHOEFF_P[position][byte - 48]] if 48 <= byte <= 57 else 0
                for byte in range(256)) for check in range(10))
    for position in range(8))


def verhoeff_ok(number: str | bytes) -> bool:
    """True when the last digit of `number` is its Verhoeff check digit (as in every SNOMED CT SCTID)."""
    digits = number.encode() if isinstance(number, str) else number
    if not digits.isdigit():
        return False
    check = 0
    reversed_digits = digits[::-1]
    for position in range(len(reversed_digits)):
        check = _VERHOEFF_STEP[position & 7][check][reversed_digits[position]]
    return check == 0


_D = np.array(_VERHOEFF_D, dtype=np.uint8)
_P = np.array(_VERHOEFF_P, dtype=np.uint8)


def verhoeff_valid(numbers: list[bytes]) -> np.ndarray:
    """`verhoeff_ok` of many numbers at once, as a boolean array: the fold runs digit position by
    digit position over all of them (numpy), not number by number in Python (~2 µs each)."""
    lengths = np.fromiter(map(len, numbers), dtype=np.int64, count=len(numbers))
    data = np.frombuffer(b"".join(numbers), dtype=np.uint8)
    ends = np.cumsum(lengths)
    is_digit = (data >= ord("0")) & (data <= ord("9"))
    non_digits = np.concatenate(([0], np.cumsum(~is_digit)))
    all_digits = (lengths > 0) & (non_digits[ends] == non_digits[ends - lengths])
    values = np.where(is_digit, data - ord("0"), 0).astype(np.uint8)
    check = np.zeros(len(numbers), dtype=np.uint8)
    for position in range(int(lengths.max(initial=0))):  # from the last digit, as in `verhoeff_ok`
        present = lengths > position
        digit = values[np.where(present, ends - 1 - position, 0)]
        check = np.where(present, _D[check, _P[position & 7, digit]], check)
    return all_digits & (check == 0)


def verhoeff_digit(number: str) -> str:
    """The Verhoeff check digit to append to `number` (used to build valid synthetic SCTIDs)."""
    check = 0
    for position, char in enumerate(reversed(number)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[(position + 1) % 8][ord(char) - 48]]
    inverse = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)
    return str(inverse[check])


def loinc_check_digit(body: str) -> str:
    """The mod-10 check digit for a LOINC number body (used to build synthetic releases)."""
    for digit in "0123456789":
        if loinc_check_digit_ok(f"{body}-{digit}"):
            return digit
    raise AssertionError("unreachable: one of ten digits always satisfies mod 10")


# CMS's ICD-10-CM layout: a letter, then alphanumerics, 3 to 7 characters with a dot after the third
# (`E11.9`, `O9A.111`, `QA0.0101`). CMS does not promise a digit second or third: the April 2026
# update added category QA0, so neither is assumed.
ICD10CM_CODE = re.compile(r"^[A-Z][0-9A-Z]{2}(\.[0-9A-Z]{1,4})?$")


def no_duplicate_codes(conn: psycopg.Connection, stage: str, key: str) -> CheckResult:
    rows = conn.execute(sql.SQL(
        "SELECT {k}, count(*) FROM {t} GROUP BY {k} HAVING count(*) > 1 ORDER BY {k}").format(
        k=sql.Identifier(key), t=sql.Identifier(stage))).fetchall()
    return CheckResult("no_duplicate_codes", not rows, "every code appears once in the release",
                       {"duplicates": len(rows), "examples": [r[0] for r in rows[:EXAMPLES_KEPT]]})


def duplicates_left_to_key() -> CheckResult:
    """`no_duplicate_codes` on a first load, whose insert fills the empty code table while its unique
    key is live (LOINC's) or before it is rebuilt (the others'): the insert or the rebuild fails on a
    duplicate, and the loader then runs the check to report it."""
    return CheckResult("no_duplicate_codes", True, "every code appears once in the release (checked by "
                       "the code table's unique key)", {"duplicates": 0, "examples": []})


def row_count_within_band(staged: int, previous: int | None, band: float) -> CheckResult:
    """The release holds within ±`band` (a fraction) of the rows the previous release held."""
    metadata: dict[str, object] = {"staged": staged, "previous": previous, "band": band}
    if previous is None:
        return CheckResult("row_count_within_band", staged > 0, "first release: it must hold rows", metadata)
    low, high = previous * (1 - band), previous * (1 + band)
    metadata.update(low=int(low), high=int(high))
    return CheckResult("row_count_within_band", low <= staged <= high,
                       f"row count within ±{band:.0%} of the previous release", metadata)


# A release of a few hundred lines may carry a handful of bad ones without being the wrong file.
REJECTS_TOLERATED = 10


def rejects_within_share(rejected: int, staged: int, share: float) -> CheckResult:
    """At most `share` of the release's lines (staged rows plus rejected lines) were rejected, or at
    most REJECTS_TOLERATED: more means a damaged or mis-parsed release, which is not merged at all."""
    lines = staged + rejected
    allowed = max(REJECTS_TOLERATED, int(share * lines))
    return CheckResult("rejects_within_share", rejected <= allowed,
                       f"at most {share:.1%} of the lines (or {REJECTS_TOLERATED}) rejected",
                       {"rejected": rejected, "lines": lines, "allowed": allowed, "share": share})
