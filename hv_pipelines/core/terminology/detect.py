"""Which code system and version a release is, from the names its publisher gives it.

Publishers name their releases consistently, so a name is enough for the landing sensor (which
must not download a release just to look at it). Versions are normalised so that they sort:
LOINC `2.78`, SNOMED CT and RxNorm release dates `2025-01-01`, ICD-10-CM fiscal year `2026`,
CPT/PFS release month `2025-01`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

SYSTEMS = ("loinc", "snomed", "rxnorm", "icd10cm", "cpt")
_PFS_RELEASE_MONTH = {"A": 1, "B": 4, "C": 7, "D": 10}
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}


@dataclass(frozen=True)
class Identified:
    system: str
    version: str | None


def _loinc(name: str) -> Identified | None:
    if re.search(r"loinc", name, re.I) or name.lower() in ("loinc.csv", "mapto.csv"):
        match = re.search(r"loinc[^0-9]{0,20}?(\d+\.\d+)", name, re.I)
        return Identified("loinc", match.group(1) if match else None)
    return None


def _snomed(name: str) -> Identified | None:
    if re.search(r"snomed|^sct2_|^der2_", name, re.I):
        match = re.search(r"_(\d{4})(\d{2})(\d{2})(?:T\d{6}Z)?(?:\.\w+)?$", name)
        return Identified("snomed", f"{match[1]}-{match[2]}-{match[3]}" if match else None)
    return None


def _rxnorm(name: str) -> Identified | None:
    if re.search(r"rxnorm|^rxn\w+\.rrf$", name, re.I):
        match = re.search(r"(\d{2})(\d{2})(\d{4})", name)
        return Identified("rxnorm", f"{match[3]}-{match[1]}-{match[2]}" if match else None)
    return None


def _icd10cm(name: str) -> Identified | None:
    match = (re.search(r"icd10cm[-_ ]?order[-_ ]?(\d{4})", name, re.I)
             or re.search(r"(\d{4})[-_ ]code[-_ ]descriptions", name, re.I))
    if match:
        return Identified("icd10cm", match.group(1))
    if re.search(r"icd10cm[-_ ]?order", name, re.I):
        return Identified("icd10cm", None)
    return None


def _cpt(name: str) -> Identified | None:
    match = re.search(r"pprrvu(\d{2}|\d{4})_?([a-z]{3})", name, re.I)
    if match and match.group(2).upper() in _MONTHS:
        year = int(match.group(1)) + (2000 if len(match.group(1)) == 2 else 0)
        return Identified("cpt", f"{year}-{_MONTHS[match.group(2).upper()]:02d}")
    match = re.search(r"^rvu(\d{2})([a-d])", name, re.I)
    if match:
        return Identified("cpt", f"{2000 + int(match.group(1))}-{_PFS_RELEASE_MONTH[match.group(2).upper()]:02d}")
    if re.search(r"pprrvu", name, re.I):
        return Identified("cpt", None)
    return None


_RULES = (_icd10cm, _cpt, _rxnorm, _snomed, _loinc)


def identify_name(name: str) -> Identified | None:
    """The code system (and version, when the name carries it) of one file or folder name."""
    base = PurePosixPath(name).name
    for rule in _RULES:
        found = rule(base)
        if found:
            return found
    return None


def identify(names: Iterable[str]) -> Identified | None:
    """Identify a release from its own name followed by its members' names: the first name that
    names a system decides it, and the first name carrying that system's version gives the version."""
    system: str | None = None
    version: str | None = None
    for name in names:
        found = identify_name(name)
        if found is None or (system and found.system != system):
            continue
        system = found.system
        version = version or found.version
        if version:
            break
    return Identified(system, version) if system else None


def version_key(version: str) -> tuple[int, ...]:
    """Sortable form of a normalised version: its numbers in order (`2.78` -> (2, 78))."""
    return tuple(int(part) for part in re.findall(r"\d+", version))
