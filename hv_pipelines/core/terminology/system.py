"""What every code system module provides to the shared loader."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import psycopg

from hv_pipelines.core.terminology.checks import (
    CheckResult,
    CodeTally,
    duplicates_left_to_key,
    no_duplicate_codes,
)
from hv_pipelines.core.terminology.merge import MergeCounts, TargetTable
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Member, Progress, ReleaseFiles


@dataclass
class Staged:
    """What staging produced: the final staging table's row count, the tallies counted while parsing,
    and notes for the operator (how the load ran, when that is not the usual way)."""

    rows: int
    tallies: list[CodeTally] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class CodeSystem(ABC):
    """One code system: how to recognise its release, stage it, check it and merge it.

    `inspect` runs before the database is touched and raises `ReleaseError` for a release of the
    wrong kind; `stage` parses and COPYs into temp tables and builds `target.stage`;
    `checks` adds system-specific blocking checks; `merge_related` merges the side tables a
    release also carries (LOINC units and replacement mappings) after the code table.
    """

    name: str
    title: str
    asset: str
    target: TargetTable
    # The blocking checks a load of this system runs, in order (the asset declares them up front).
    check_names: tuple[str, ...] = ("no_duplicate_codes", "rejects_within_share", "row_count_within_band")
    # The other tables `merge_related` writes (filled without their indexes on a first load).
    related_tables: tuple[str, ...] = ()

    @abstractmethod
    def inspect(self, files: ReleaseFiles) -> list[Member]:
        """The release's members this system reads; raises ReleaseError for the wrong kind of release."""

    @abstractmethod
    def stage(self, conn: psycopg.Connection, files: ReleaseFiles, members: list[Member],
              rejects: RejectLog, version: str, progress: Progress | None) -> Staged:
        """Parse and COPY the members into temp tables, ending with `target.stage`."""

    def checks(self, conn: psycopg.Connection, *, duplicates: bool = True) -> list[CheckResult]:
        """The checks over the staged rows; without `duplicates`, the duplicate check is left to the
        rebuild of the code table's key index (a first load: the loader reports what it finds)."""
        return [no_duplicate_codes(conn, self.target.stage, self.target.key) if duplicates
                else duplicates_left_to_key()]

    def merge_related(self, conn: psycopg.Connection, rejects: RejectLog) -> dict[str, MergeCounts]:
        return {}
