"""Terminology load throughput against the physical floor, measured side by side in one run.

For each code system: generate a synthetic release in the publisher's exact format (LOINC zip with
Loinc.csv + MapTo.csv, SNOMED RF2 Snapshot zip, RxNorm RRF zip, CMS ICD-10-CM order file, CMS
PPRRVU csv), load it with `load_release` in a child process (its peak RSS is the load's own; the
code system's modules are imported before the clock starts, as a Dagster run has them), load it
again (a re-load must change nothing), then time the floor: psql `\\copy` of the very rows the
load produced into a bare table, then the same keys, indexes and foreign keys built in one transaction
with the load's `maintenance_work_mem` ("Populating a Database": the technique the load itself uses).
The old floor — `\\copy` into an identical table whose indexes and foreign keys are live during COPY,
slower than the technique and so a flattering yardstick — is printed beside it for one release.

Beside the wall-clock ratio, the CPU ratio: the CPU seconds of every process each side ran (the load's
Python process, psql, and the database server's backends and parallel workers, live or already reaped)
against the floor's. On a shared machine the wall clock measures the neighbours as much as the load;
CPU seconds change far less with them (they are blank when the server is not on this machine).

Each system is measured `--repeat` times (a load and a floor, each pair in a fresh copy of the migrated
database; more times when its floor is a fraction of a second) and the median ratio printed with
the range: on a shared machine one pair of timings can be off by a third either way. The order
alternates pair by pair (load first, then floor first, ...), and a CHECKPOINT before every timed step
keeps one from paying for writing back the dirty pages of the step before it. The load average is
printed at the start and the end, and beside each system; a system whose figures were taken with it
above the core count is marked noisy.

    .venv/bin/python bench/terminology.py                 # real release sizes, 3 repetitions
    .venv/bin/python bench/terminology.py --scale 0.1 --repeat 1     # a quick look
    .venv/bin/python bench/terminology.py --systems loinc icd10cm

Uses DATABASE_URL's server when set (creating and dropping scratch databases), else starts an
embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rss import peak_rss_mib  # noqa: E402
from hv_pipelines.core import db  # noqa: E402
from hv_pipelines.core.embedded import pg_bin_dir, start_postgres  # noqa: E402
from hv_pipelines.core.migrations import upgrade  # noqa: E402
from hv_pipelines.core.terminology import code_system, load_release  # noqa: E402
from hv_pipelines.core.terminology.bulk import BUILD_MEMORY  # noqa: E402
from hv_pipelines.core.terminology.checks import loinc_check_digit, verhoeff_digit  # noqa: E402

# Real release sizes (issue 5): LOINC ~105k terms, SNOMED ~370k active concepts / ~1.6M descriptions /
# ~3M relationships, RxNorm ~1.1M RXNCONSO rows, ICD-10-CM FY2026 ~98k codes, PPRRVU ~19k lines.
FULL = {"loinc": 105_000, "snomed": 370_000, "rxnorm": 1_100_000, "icd10cm": 98_000, "cpt": 19_000}
WORDS = ("glucose", "serum", "plasma", "blood", "urine", "antibody", "antigen", "mass", "volume", "ratio",
         "presence", "panel", "culture", "Streptococcus", "β-lactamase", "µg", "IgG", "IgM", "calcium", "sodium")
rng = random.Random(5)


def _words(count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


# ---- generators: each writes one release in the publisher's format and returns (paths, input lines)

LOINC_HEADER = ["LOINC_NUM", "COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM", "SCALE_TYP", "METHOD_TYP", "CLASS",
                "VersionLastChanged", "CHNG_TYPE", "DefinitionDescription", "STATUS", "CONSUMER_NAME", "CLASSTYPE",
                "FORMULA", "EXMPL_ANSWERS", "SURVEY_QUEST_TEXT", "SURVEY_QUEST_SRC", "UNITSREQUIRED",
                "RELATEDNAMES2", "SHORTNAME", "ORDER_OBS", "HL7_FIELD_SUBFIELD_ID", "EXTERNAL_COPYRIGHT_NOTICE",
                "EXAMPLE_UNITS", "LONG_COMMON_NAME", "EXAMPLE_UCUM_UNITS", "STATUS_REASON", "STATUS_TEXT",
                "CHANGE_REASON_PUBLIC", "COMMON_TEST_RANK", "COMMON_ORDER_RANK", "HL7_ATTACHMENT_STRUCTURE",
                "EXTERNAL_COPYRIGHT_LINK", "PanelType", "AskAtOrderEntry", "AssociatedObservations",
                "VersionFirstReleased", "ValidHL7AttachmentRequest", "DisplayName"]
CLASSES = (("CHEM", "1"), ("HEM/BC", "1"), ("MICRO", "1"), ("SERO", "1"), ("DRUG/TOX", "1"), ("BP.ATOM", "2"),
           ("DOC.ONTOLOGY", "2"), ("RAD", "2"), ("PANEL.SURVEY.PHQ", "4"), ("PANEL.ATTACH", "3"))


def gen_loinc(out: Path, terms: int) -> tuple[list[Path], int]:
    numbers = [f"{body}-{loinc_check_digit(str(body))}" for body in range(10000, 10000 + terms)]
    table, mapto = io.StringIO(), io.StringIO()
    writer = csv.writer(table, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(LOINC_HEADER)
    for i, number in enumerate(numbers):
        cls, classtype = CLASSES[i % len(CLASSES)]
        long_name = f'{_words(4)} [Mass/volume] in "Serum, Plasma" #{i}'
        row = dict.fromkeys(LOINC_HEADER, "")
        row.update(LOINC_NUM=number, COMPONENT=_words(2), PROPERTY="MCnc", TIME_ASPCT="Pt", SYSTEM="Ser/Plas",
                   SCALE_TYP="Qn", METHOD_TYP=rng.choice(("", "", "IA", "Test strip")), CLASS=cls,
                   VersionLastChanged="2.78", DefinitionDescription=_words(12), STATUS="DEPRECATED" if i % 50 == 0
                   else "ACTIVE", CLASSTYPE=classtype, RELATEDNAMES2="; ".join(_words(1) for _ in range(15)),
                   SHORTNAME=_words(3)[:40], LONG_COMMON_NAME=long_name, EXAMPLE_UCUM_UNITS="mg/dL;mmol/L",
                   EXAMPLE_UNITS="mg/dL", DisplayName=long_name[:60], ORDER_OBS="Both", VersionFirstReleased="2.0")
        writer.writerow(row.values())
    mapwriter = csv.writer(mapto, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    mapwriter.writerow(["LOINC", "MAP_TO", "COMMENT"])
    for i in range(0, terms - 1, 50):
        mapwriter.writerow([numbers[i], numbers[i + 1], "replacement"])
    path = out / "Loinc_2.78.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("LoincTable/Loinc.csv", table.getvalue().encode())
        archive.writestr("LoincTable/MapTo.csv", mapto.getvalue().encode())
    return [path], terms + terms // 50


def gen_icd10cm(out: Path, codes: int) -> tuple[list[Path], int]:
    path = out / "icd10cm_order_2026.txt"
    letters = "ABCDEFGHIJKLMNOPQRSTVWXYZ"
    with path.open("w", newline="") as f:
        for i in range(codes):
            category = f"{letters[i // 4000 % len(letters)]}{i // 40 % 100:02d}"
            code = category if i % 40 == 0 else f"{category}{i % 10000:04d}"
            flag = "0" if i % 40 == 0 or i % 4 == 0 else "1"
            text = _words(6)
            f.write(f"{i + 1:05d} {code:<7} {flag} {text[:60]:<60} {text} {i}\r\n")
    return [path], codes


def gen_cpt(out: Path, lines: int) -> tuple[list[Path], int]:
    path = out / "PPRRVU25_JAN.csv"
    with path.open("w", newline="", encoding="cp1252", errors="replace") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        for notice in ("2025 NATIONAL PHYSICIAN FEE SCHEDULE RELATIVE VALUE FILE JANUARY RELEASE",
                       "CPT codes and descriptions only are copyright 2024 American Medical Association."):
            writer.writerow([notice])
        writer.writerow(["HCPCS", "MOD", "DESCRIPTION", "CODE", "PAYMENT", "RVU", "RVU", "INDICATOR", "RVU",
                         "INDICATOR", "RVU", "TOTAL", "TOTAL", "IND", "DAYS"])
        for i in range(lines):
            code = f"{10000 + i // 2:05d}" if i % 10 else f"G{i % 10000:04d}"
            mod = "26" if i % 2 else ""
            writer.writerow([code, mod, _words(3)[:28], "A", "", f"{rng.random() * 5:.2f}", f"{rng.random() * 3:.2f}",
                             "", "0.50", "", "0.10", "", "", "0", "XXX"] + [""] * 16)
    return [path], lines


def gen_snomed(out: Path, active: int) -> tuple[list[Path], int]:
    date, root = "20250701", "SnomedCT_InternationalRF2_PRODUCTION_20250701T120000Z"
    concepts = active + active // 3  # the snapshot also holds inactive concepts
    ids = [f"{100000 + i}00" for i in range(concepts)]
    ids = [body + verhoeff_digit(body) for body in ids]
    names = {"concept": [], "description": [], "language": [], "relationship": []}
    names["concept"].append("id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId")
    names["description"].append("id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\t"
                                "caseSignificanceId")
    names["language"].append("id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId")
    names["relationship"].append("id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\t"
                                 "typeId\tcharacteristicTypeId\tmodifierId")
    description, relationship = 0, 0
    for i, concept in enumerate(ids):
        is_active = "1" if i < active else "0"
        names["concept"].append(f"{concept}\t20020131\t{is_active}\t900000000000207008\t900000000000074008")
        text = _words(3)
        for kind, term, acceptability in (("900000000000003001", f"{text} (disorder)", "900000000000548007"),
                                          ("900000000000013009", text, "900000000000548007"),
                                          ("900000000000013009", f"{text} syn", "900000000000549004"),
                                          ("900000000000013009", f"{text} alt", "900000000000549004")):
            description += 1
            did = f"{description}11"
            names["description"].append(f"{did}\t20020131\t1\t900000000000207008\t{concept}\ten\t{kind}\t{term}\t"
                                        "900000000000448009")
            for refset in ("900000000000509007", "900000000000508004"):
                names["language"].append(f"{uuid.UUID(int=description * 2 + len(refset) % 2)}\t20020131\t1\t"
                                         f"900000000000207008\t{refset}\t{did}\t{acceptability}")
        for typ in ("116680003", "116680003", "363698007", "116676008", "246075003", "363698007", "116680003",
                    "363698007"):
            relationship += 1
            names["relationship"].append(f"{relationship}12\t20020131\t{is_active}\t900000000000207008\t{concept}\t"
                                         f"{ids[rng.randrange(max(i, 1))]}\t0\t{typ}\t900000000000011006\t"
                                         "900000000000451002")
    files = {"concept": f"Snapshot/Terminology/sct2_Concept_Snapshot_INT_{date}.txt",
             "description": f"Snapshot/Terminology/sct2_Description_Snapshot-en_INT_{date}.txt",
             "language": f"Snapshot/Refset/Language/der2_cRefset_LanguageSnapshot-en_INT_{date}.txt",
             "relationship": f"Snapshot/Terminology/sct2_Relationship_Snapshot_INT_{date}.txt"}
    path = out / f"{root}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for kind, name in files.items():
            archive.writestr(f"{root}/{name}", ("\r\n".join(names[kind]) + "\r\n").encode())
    return [path], sum(len(lines) for lines in names.values())


def gen_rxnorm(out: Path, conso_rows: int) -> tuple[list[Path], int]:
    concepts = conso_rows // 4
    conso, rel, sat = [], [], []
    for i in range(concepts):
        rxcui = 100000 + i
        tty = ("IN", "SCDC", "SCD", "SBD", "BN", "DF")[i % 6]
        for sab, atom_tty, text, suppress in (("RXNORM", tty, f"{_words(2)} {i} MG Oral Tablet", "N"),
                                              ("RXNORM", "SY", f"{_words(2)} syn", "N" if i % 9 else "E"),
                                              ("MMSL", "CD", _words(3), "N"), ("VANDF", "CD", _words(3), "N")):
            conso.append(f"{rxcui}|ENG||||||{rxcui * 4 + len(conso) % 4}||||{sab}|{atom_tty}|{rxcui}|{text}||"
                         f"{suppress}|4096|")
        target = 100000 + rng.randrange(concepts)
        for rela, inverse in (("has_ingredient", "ingredient_of"), ("consists_of", "constitutes"),
                              ("has_dose_form", "dose_form_of"), ("has_tradename", "tradename_of")):
            rel.append(f"{target}||CUI|RO|{rxcui}||CUI|{rela}|R{len(rel)}||RXNORM|RXNORM|||N||")
            rel.append(f"{rxcui}||CUI|RO|{target}||CUI|{inverse}|R{len(rel)}||RXNORM|RXNORM|||N||")
        if tty == "SCDC":
            sat.append(f"{rxcui}|||{rxcui * 4}|AUI|{rxcui}|||RXN_STRENGTH|RXNORM|{i % 500} MG|N||")
        sat.append(f"{rxcui}|||{rxcui * 4}|AUI|{rxcui}|||NDC|MTHSPL|{i:011d}|N||")
    path = out / "RxNorm_full_11032025.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, lines in (("RXNCONSO.RRF", conso), ("RXNREL.RRF", rel), ("RXNSAT.RRF", sat)):
            archive.writestr(f"rrf/{name}", ("\n".join(lines) + "\n").encode())
    return [path], len(conso) + len(rel) + len(sat)


GENERATORS = {"loinc": gen_loinc, "snomed": gen_snomed, "rxnorm": gen_rxnorm, "icd10cm": gen_icd10cm, "cpt": gen_cpt}
RELATED = {"loinc": ["LOINCUnit", "CodeMapping"]}


# ---- measurement

def _load_in_child(url: str, system: str, paths: list[Path]) -> tuple[float, float, dict, int, float]:
    code_system(system)  # imported before the clock, as in a Dagster run: module imports are not the load
    started, cpu = time.perf_counter(), time.process_time()
    result = load_release(url, system, paths, count_band=1.0)
    seconds = time.perf_counter() - started
    return seconds, peak_rss_mib(), result.counts.as_dict(), result.rows_staged, time.process_time() - cpu


def _measured_load(url: str, system: str, paths: list[Path]) -> tuple[float, float, dict, int, float]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_load_in_child, url, system, paths).result()


def _settle(url: str) -> None:
    """CHECKPOINT, so the next timed step starts with no other step's dirty pages left to write.
    Needs superuser or pg_checkpoint (PostgreSQL 15+); without it the timings are only noisier."""
    try:
        with db.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _server_cpu(url: str) -> float:
    """CPU seconds the database server has used so far: its postmaster, its live processes and those
    it has reaped (exited backends and parallel workers). NaN when the server is not on this machine."""
    try:
        with db.connect(url, autocommit=True) as conn:
            postmaster = int(_stat(conn.execute("SELECT pg_backend_pid()").fetchone()[0])[1])
        own = _stat(postmaster)
        total = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = _stat(int(entry.name))
                except OSError:
                    continue  # exited meanwhile: the postmaster's cutime has it
                if int(fields[1]) == postmaster:
                    total += int(fields[11]) + int(fields[12])
        return total / _TICK
    except (OSError, ValueError, IndexError):
        return math.nan


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _dump(url: str, tables: list[str], scratch: Path) -> dict[str, Path]:
    """The rows the load wrote, one COPY text file per table: what the floor loads."""
    dumps = {}
    for table in tables:
        dumps[table] = scratch / f"{table}.copy"
        with (db.connect(url) as conn, conn.cursor() as cur, dumps[table].open("wb") as out,
              cur.copy(f'COPY "{table}" TO STDOUT') as copy):
            for chunk in copy:
                out.write(chunk)
    return dumps


def _floor_seconds(url: str, tables: list[str], dumps: dict[str, Path]) -> tuple[float, float, float]:
    """(honest floor, old floor, honest floor's CPU seconds) for the rows the load wrote, both with
    psql `\\copy`.

    The honest floor is what the load itself does for a first load, done by hand: `\\copy` into a bare
    table (no index, key or foreign key), then the same indexes, keys and foreign keys built in one
    transaction with the load's `maintenance_work_mem` — PostgreSQL's "Populating a Database" technique.
    The old floor, `\\copy` into a table whose indexes and foreign keys are live during COPY, is printed
    beside it for one release: it is slower than the technique, so ratios against it flattered the load.
    A foreign key to another of `tables` points at that table's floor copy (filled first), so that the
    floor also runs in a database the load has not filled yet (the pairs where the floor goes first).
    """
    psql = str(pg_bin_dir() / "psql")
    honest = old = cpu = 0.0
    for table in tables:
        with db.connect(url) as conn:
            build = [_to_floor(statement, tables) for statement in _structure(conn, table, f"floor_{table}")]
            conn.execute(f'CREATE TABLE "floor_{table}" (LIKE "{table}" INCLUDING DEFAULTS)')
            conn.execute(f'CREATE TABLE "old_floor_{table}" (LIKE "{table}" INCLUDING ALL)')
            for (definition,) in conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                              "WHERE conrelid = %s::regclass AND contype = 'f'", (f'"{table}"',)):
                conn.execute(f'ALTER TABLE "old_floor_{table}" ADD {_to_floor(definition, tables)}')
        _settle(url)
        server, client = _server_cpu(url), _children_cpu() + time.process_time()
        started = time.perf_counter()
        subprocess.run([psql, db.libpq_url(url), "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        f"\\copy \"floor_{table}\" FROM '{dumps[table]}'"], check=True)
        with db.connect(url) as conn:
            conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(BUILD_MEMORY)))
            for statement in build:
                conn.execute(statement)
        honest += time.perf_counter() - started
        cpu += _children_cpu() + time.process_time() - client + _server_cpu(url) - server
        _settle(url)
        started = time.perf_counter()
        subprocess.run([psql, db.libpq_url(url), "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        f"\\copy \"old_floor_{table}\" FROM '{dumps[table]}'"], check=True)
        old += time.perf_counter() - started
    return honest, old, cpu


def _to_floor(statement: str, tables: list[str]) -> str:
    """`statement` with its foreign keys to any of `tables` pointed at their floor copies."""
    for table in tables:
        statement = statement.replace(f'REFERENCES "{table}"(', f'REFERENCES "floor_{table}"(')
    return statement


def _structure(conn: psycopg.Connection, table: str, floor: str) -> list[str]:
    """`table`'s keys, indexes and foreign keys as statements that build the same on `floor`."""
    relation = f'"{table}"'

    def renamed(name: str) -> str:
        return '"' + f"{floor}_{name}"[:63] + '"'  # index names are unique per schema, not per table

    statements = [f'ALTER TABLE "{floor}" ADD CONSTRAINT {renamed(name)} {definition}'
                  for name, definition in conn.execute(
                      "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                      "AND contype IN ('p', 'u', 'f') ORDER BY contype <> 'p', contype", (relation,))]
    for name, definition in conn.execute(
            """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = %s::regclass
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                 AND k.conrelid = i.indrelid)""", (relation,)):
        head = "CREATE UNIQUE INDEX" if definition.startswith("CREATE UNIQUE") else "CREATE INDEX"
        statements.append(f'{head} {renamed(name)} ON "{floor}"{definition[definition.index(" USING "):]}')
    return statements


@dataclass
class Runs:
    """One code system's repetitions: load and floor seconds side by side, and the peak RSS."""

    loads: list[float] = field(default_factory=list)
    floors: list[float] = field(default_factory=list)
    old_floors: list[float] = field(default_factory=list)
    load_cpus: list[float] = field(default_factory=list)
    floor_cpus: list[float] = field(default_factory=list)
    peak_mb: float = 0.0

    @property
    def ratios(self) -> list[float]:
        return [load / floor for load, floor in zip(self.loads, self.floors, strict=True)]

    @property
    def cpu_ratios(self) -> list[float]:
        return [load / floor for load, floor in zip(self.load_cpus, self.floor_cpus, strict=True)]

    @property
    def old_ratios(self) -> list[float]:
        return [load / floor for load, floor in zip(self.loads, self.old_floors, strict=True)]


# A floor of a few tens of milliseconds (CPT's) is at the mercy of the scheduler: one pair can be
# off by half either way. Such a system gets more pairs, until its floors add up to this many
# seconds (at most `SMALL_PAIRS` times `--repeat`), so that its median means as much as the others'.
MEASURED_FLOOR = 1.0
SMALL_PAIRS = 5


def _measure(server_url: str, template: str, system: str, paths: list[Path], scratch: Path,
             repeat: int) -> tuple[Runs, float, int]:
    """`repeat` pairs of (load, floor) or more for a tiny floor, each in a fresh copy of `template`;
    also the re-load's seconds (first pair only) and the rows staged.

    The order alternates pair by pair: the load goes first in even pairs, the floor in odd ones, so
    that neither side always runs on the cache, the checkpointer and the neighbours the other left.
    The floor loads the rows of the first pair's load (the same release gives the same rows)."""
    runs, reload_seconds, rows, dumps = Runs(), 0.0, 0, {}
    tables = [code_system(system).target.table, *RELATED.get(system, [])]
    attempt = 0
    while attempt < repeat or (sum(runs.floors) < MEASURED_FLOOR and attempt < repeat * SMALL_PAIRS):
        name = f"{template}_{attempt}"
        url = db.create_database(server_url, name, template=template)
        try:
            for side in ("load", "floor") if attempt % 2 == 0 else ("floor", "load"):
                if side == "floor":
                    honest, old, floor_cpu = _floor_seconds(url, tables, dumps)
                    runs.floors.append(honest)
                    runs.old_floors.append(old)
                    runs.floor_cpus.append(floor_cpu)
                    continue
                _settle(url)
                server = _server_cpu(url)
                seconds, peak_mb, _, rows, client = _measured_load(url, system, paths)
                runs.load_cpus.append(client + _server_cpu(url) - server)
                runs.loads.append(seconds)
                runs.peak_mb = max(runs.peak_mb, peak_mb)
                if attempt == 0:
                    reload_seconds, _, again, _, _ = _measured_load(url, system, paths)
                    assert again["new"] == again["changed"] == again["retired"] == 0, again
                    dumps = _dump(url, tables, scratch)
        finally:
            db.drop_database(server_url, name)
        attempt += 1
    for dump in dumps.values():
        dump.unlink()
    return runs, reload_seconds, rows


def _loads() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _noisy(*load_averages: float) -> str:
    """The mark of a figure taken while the machine had more runnable work than cores."""
    return " noisy" if max(load_averages) > (os.cpu_count() or 1) else ""


def _database(scratch: Path) -> tuple[str, str, object]:
    """The server's URL, the name of a freshly migrated scratch database (the template of every
    repetition) and the embedded server to clean up, if one was started."""
    server_url = os.environ.get("DATABASE_URL")
    server = None
    if not server_url:
        server = start_postgres(scratch / "pg", cleanup_mode="delete")
        server_url = server.get_uri()
    name = f"hv_bench_{uuid.uuid4().hex[:8]}"
    upgrade(db.create_database(server_url, name), "head")
    return server_url, name, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the real release sizes")
    parser.add_argument("--systems", nargs="+", default=list(GENERATORS), choices=list(GENERATORS))
    parser.add_argument("--repeat", type=int, default=3, help="load/floor pairs per system (median printed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hv-bench-") as tmp:
        scratch = Path(tmp)
        server_url, template, server = _database(scratch)
        print(f"load average at start: {_loads()} ({os.cpu_count()} cores)")
        print(f"{'system':<8} {'input lines':>12} {'rows':>9} {'load s':>8} {'rows/s':>9} {'reload s':>9} "
              f"{'floor s':>8} {'ratio':>6} {'range (pairs)':>17} {'cpu s':>7} {'floor cpu':>9} {'cpu ratio':>9} "
              f"{'old floor':>9} {'old ratio':>9} {'peak RSS MB':>12}  load avg (1 min) start-end")
        try:
            for system in args.systems:
                folder = scratch / system
                folder.mkdir()
                paths, lines = GENERATORS[system](folder, max(int(FULL[system] * args.scale), 100))
                os.sync()  # the release's writeback to disk is the generator's cost, not the load's
                load_start = os.getloadavg()[0]
                runs, reload_seconds, rows = _measure(server_url, template, system, paths, scratch, args.repeat)
                load_end = os.getloadavg()[0]
                seconds, floor = statistics.median(runs.loads), statistics.median(runs.floors)
                ratios = f"{min(runs.ratios):.2f}-{max(runs.ratios):.2f} ({len(runs.ratios)})"
                print(f"{system:<8} {lines:>12,} {rows:>9,} {seconds:>8.2f} {rows / seconds:>9,.0f} "
                      f"{reload_seconds:>9.2f} {floor:>8.2f} {statistics.median(runs.ratios):>5.2f}x {ratios:>17} "
                      f"{statistics.median(runs.load_cpus):>7.2f} {statistics.median(runs.floor_cpus):>9.2f} "
                      f"{statistics.median(runs.cpu_ratios):>8.2f}x "
                      f"{statistics.median(runs.old_floors):>9.2f} {statistics.median(runs.old_ratios):>8.2f}x "
                      f"{runs.peak_mb:>12.0f}  {load_start:.2f}-{load_end:.2f}{_noisy(load_start, load_end)}",
                      flush=True)
                shutil.rmtree(folder)
            print(f"load average at end: {_loads()}")
            print("floor: \\copy into a bare table, then the same keys, indexes and foreign keys built in one "
                  "transaction; old floor (one release): \\copy into a table with them live. Load and floor "
                  "alternate pair by pair (load first in the first pair), each after a CHECKPOINT. cpu: every "
                  "process of each side, the server's included. noisy: load average above the core count at the "
                  "system's start or end. Goal: ratio <= 2.")
        finally:
            db.drop_database(server_url, template)
            if server is not None:
                server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
