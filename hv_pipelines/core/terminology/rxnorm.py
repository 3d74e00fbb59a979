"""RxNorm from NLM's full monthly release (`rrf/RXNCONSO.RRF`, `RXNREL.RRF`, `RXNSAT.RRF`) into "RxNormCode".

RRF is pipe-delimited with a trailing pipe and no header. Only NLM's own normalised names
(SAB=RXNORM, English) are kept; the other sources in RXNCONSO are skipped while streaming. One row
per RXCUI that has a normalised-name atom (the term types in PRIMARY_TTYS):

- name / termType: its non-suppressed primary atom (SUPPRESS=N); a concept whose primary atoms are
  all suppressed (O, Y, E) is kept with status SUPPRESSED and named from its suppressed atom;
- synonym: a non-suppressed SY atom, else TMSY; strength: RXN_STRENGTH (RXNSAT) of the concept,
  else of its components (consists_of), else of its generic (tradename_of);
- dose form: the DF it has_dose_form; ingredients: IN/PIN/MIN names reached by has_ingredient /
  has_precise_ingredient / has_ingredients from the concept, its components or its generic;
  brand names: BN names reached by has_ingredient / has_tradename from the concept or its components.

RXNREL reads "RXCUI2 <RELA> RXCUI1" (the relationship the second concept has to the first).
"""

from __future__ import annotations

import psycopg

from hv_pipelines.core.terminology import shared_stage
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
    alongside,
    analyze,
    copy_into,
    create_stage,
    create_stage_as,
    tune,
)
from hv_pipelines.core.terminology.system import CodeSystem, Staged

PRIMARY_TTYS = ["IN", "PIN", "MIN", "SCDC", "SCDF", "SCDFP", "SCDG", "SCDGP", "SCD", "SBDC", "SBDF", "SBDFP",
                "SBDG", "SBD", "BN", "BPCK", "GPCK", "DF", "DFG"]
RELATIONS = {b"has_ingredient", b"has_precise_ingredient", b"has_ingredients", b"has_dose_form", b"consists_of",
             b"has_tradename", b"tradename_of"}
NOT_SUPPRESSED = (b"N", b"")
# Fields per line including the empty one after the trailing pipe.
WIDTH = {"RXNCONSO": 19, "RXNREL": 17, "RXNSAT": 14}

# The build, as named steps (common table expressions). Relations are read straight from staging,
# one relation per scan, so the planner knows each one's size from the table's statistics (a
# filter over one materialised CTE of all of them is guessed at 0.5% and planned as if tiny); the
# fast path partitions its raw tables by relationship and by term type, so each such scan reads
# only its own rows. Ingredients and brand names are first joined to the concepts that name them
# directly (~45k rows), then carried up through components and generics; `reached` may repeat a
# row (UNION ALL): it only feeds DISTINCT aggregates.
_STEPS = {
    "consists": "MATERIALIZED (SELECT subject, object FROM stage_rxn_rel WHERE rela = 'consists_of')",
    "tradename": "MATERIALIZED (SELECT subject, object FROM stage_rxn_rel WHERE rela = 'tradename_of')",
    "named": """(
    SELECT DISTINCT ON (rxcui) rxcui, str AS name, tty, suppress
    FROM stage_rxn_conso WHERE tty = ANY(%(primary)s)
    ORDER BY rxcui, suppress <> 'N', array_position(%(primary)s, tty), rxaui)""",
    "synonym": """(
    SELECT DISTINCT ON (rxcui) rxcui, str FROM stage_rxn_conso
    WHERE tty IN ('SY', 'TMSY') AND suppress = 'N' ORDER BY rxcui, tty <> 'SY', rxaui)""",
    "own_strength": "(SELECT rxcui, string_agg(DISTINCT atv, ' / ') AS strength FROM stage_rxn_sat GROUP BY rxcui)",
    "component_strength": """(
    SELECT r.subject AS rxcui, string_agg(s.strength, ' / ' ORDER BY c.name) AS strength
    FROM consists r JOIN own_strength s ON s.rxcui = r.object JOIN named c ON c.rxcui = r.object
    GROUP BY r.subject)""",
    "base_strength": """(
    SELECT n.rxcui, coalesce(o.strength, cs.strength) AS strength
    FROM named n LEFT JOIN own_strength o ON o.rxcui = n.rxcui LEFT JOIN component_strength cs ON cs.rxcui = n.rxcui)""",
    "generic_strength": """(
    SELECT DISTINCT ON (t.subject) t.subject AS rxcui, b.strength FROM tradename t
    JOIN base_strength b ON b.rxcui = t.object AND b.strength IS NOT NULL
    ORDER BY t.subject, b.strength)""",
    "dose_form": """(
    SELECT DISTINCT ON (r.subject) r.subject AS rxcui, n.name FROM stage_rxn_rel r
    JOIN named n ON n.rxcui = r.object AND n.tty = 'DF'
    WHERE r.rela = 'has_dose_form' ORDER BY r.subject, n.name)""",
    "ingredient_of": """MATERIALIZED (
    SELECT l.subject AS via, n.name FROM stage_rxn_rel l
    JOIN named n ON n.rxcui = l.object AND n.tty IN ('IN', 'PIN', 'MIN')
    WHERE l.rela IN ('has_ingredient', 'has_precise_ingredient', 'has_ingredients'))""",
    "brand_of": """MATERIALIZED (
    SELECT l.subject AS via, n.name FROM stage_rxn_rel l JOIN named n ON n.rxcui = l.object AND n.tty = 'BN'
    WHERE l.rela IN ('has_ingredient', 'has_tradename'))""",
    "ingredients": """(
    SELECT rxcui, array_agg(DISTINCT name ORDER BY name) AS names FROM (
        SELECT via AS rxcui, name FROM ingredient_of
        UNION ALL SELECT r.subject, i.name FROM consists r JOIN ingredient_of i ON i.via = r.object
        UNION ALL SELECT r.subject, i.name FROM tradename r JOIN ingredient_of i ON i.via = r.object
        UNION ALL SELECT t.subject, i.name FROM tradename t JOIN consists c ON c.subject = t.object
                  JOIN ingredient_of i ON i.via = c.object) reached
    GROUP BY rxcui)""",
    "brands": """(
    SELECT rxcui, array_agg(DISTINCT name ORDER BY name) AS names FROM (
        SELECT via AS rxcui, name FROM brand_of
        UNION ALL SELECT r.subject, b.name FROM consists r JOIN brand_of b ON b.via = r.object) reached
    GROUP BY rxcui)""",
}


def _built(steps: tuple[str, ...], select: str) -> str:
    """`select` over `steps`."""
    return "WITH " + ",\n".join(f"{step} AS {_STEPS[step]}" for step in steps) + f"\n{select}"


# Two halves of one build that share only the staged rows, so two connections can run them at
# once: a concept's own terms (every concept: name, synonym, strength, dose form), on the load's
# connection ...
TERMS = _built(
    ("consists", "tradename", "named", "synonym", "own_strength", "component_strength", "base_strength",
     "generic_strength", "dose_form"),
    """SELECT n.rxcui, n.name, s.str AS synonym, n.tty, coalesce(b.strength, g.strength) AS strength,
       d.name AS dose_form, n.suppress
FROM named n
LEFT JOIN synonym s ON s.rxcui = n.rxcui
LEFT JOIN base_strength b ON b.rxcui = n.rxcui
LEFT JOIN generic_strength g ON g.rxcui = n.rxcui
LEFT JOIN dose_form d ON d.rxcui = n.rxcui""")
# ... and the ingredients and brand names it reaches (only concepts that reach any), on another
# connection when it can.
LINKS = _built(
    ("consists", "tradename", "named", "ingredient_of", "brand_of", "ingredients", "brands"),
    """SELECT coalesce(i.rxcui, b.rxcui) AS rxcui, i.names AS ingredients, b.names AS brands
FROM ingredients i FULL JOIN brands b ON b.rxcui = i.rxcui""")
JOINED = """
SELECT t.rxcui::text AS rxcui, t.name, t.synonym, t.tty AS "termType", t.strength, t.dose_form AS "doseForm",
       coalesce(l.ingredients, '{}') AS ingredients, coalesce(l.brands, '{}') AS "brandNames",
       CASE WHEN t.suppress = 'N' THEN 'ACTIVE' ELSE 'SUPPRESSED' END AS status
FROM stage_rxn_terms t LEFT JOIN stage_rxn_links l ON l.rxcui = t.rxcui
"""


class RxNorm(CodeSystem):
    name = "rxnorm"
    title = "RxNorm"
    asset = "rxnorm_codes"
    target = TargetTable(
        table="RxNormCode", key="rxcui", stage="stage_rxnorm",
        columns=("name", "synonym", "termType", "strength", "doseForm", "ingredients", "brandNames", "status"),
        retired_status="RETIRED")

    def inspect(self, files: ReleaseFiles) -> list[Member]:
        members = []
        for table, width in WIDTH.items():
            member = files.require(f"{table}.rrf", f"RxNorm's rrf/{table}.RRF (is this an RxNorm full release?)")
            with files.open(member) as stream:
                first = stream.readline().rstrip(b"\r\n").split(b"|")
            if len(first) != width or not first[0].isdigit() or first[-1] != b"":
                raise ReleaseError(f"{member.name} is not an RxNorm {table}.RRF file: expected {width - 1} "
                                   "pipe-delimited fields with a trailing pipe, starting with an RXCUI")
            members.append(member)
        return members

    def stage(self, conn: psycopg.Connection, files: ReleaseFiles, members: list[Member],
              rejects: RejectLog, version: str, progress: Progress | None) -> Staged:
        """The files are staged on a second connection that commits them (`shared_stage`), then
        the build's two halves run at once, one on the load's connection and one on a third (the
        build is the longest step, and one query runs on one core). Where `shared_stage` is not
        available, all of it runs on the load's connection."""
        tables = dict(zip(WIDTH, members, strict=True))
        if not shared_stage.fresh(conn):
            skipped = _stage_files(conn, files, tables, rejects, progress, shared=False)
            create_stage_as(conn, "stage_rxn_terms", TERMS, _PARAMS)
            _create_links(conn, shared=False)
            return Staged(rows=create_stage_as(conn, "stage_rxnorm", JOINED), skipped=skipped, notes=[ONE_CONNECTION])
        with alongside(conn, lambda other: _stage_shared(other, files, tables, version, progress),
                       discard=lambda staged: staged[1].close()) as staged:
            skipped, log = staged()
        with log:
            rejects.extend(log)
        search_path = shared_stage.use(conn, local=True)
        with alongside(conn, _build_links_shared) as links_built:
            create_stage_as(conn, "stage_rxn_terms", TERMS, _PARAMS)
            links_built()
        rows = create_stage_as(conn, "stage_rxnorm", JOINED)
        shared_stage.drop(conn, search_path)
        return Staged(rows=rows, skipped=skipped)


_PARAMS = {"primary": PRIMARY_TTYS}
ONE_CONNECTION = (f"Staged and built on one connection (slower, the same rows): this role may not create the "
                  f"schema {shared_stage.SCHEMA} (GRANT CREATE ON DATABASE ... TO it), or a failed load's staging "
                  "there is still in use.")


def _stage_files(conn: psycopg.Connection, files: ReleaseFiles, tables: dict[str, Member], rejects: RejectLog,
                 progress: Progress | None, *, shared: bool) -> dict[str, int]:
    """Stage each RRF file in `tables` (fast path, else line parser); its unused lines by name."""
    skipped = {}
    for table, member in tables.items():
        spec, what = _STAGES[table]
        skipped[what] = vouched_or_parsed(
            conn, files, member, progress,
            lambda stream, spec=spec: _vouch(conn, stream, spec, shared),
            lambda stream, table=table, member=member: _parse(conn, stream, member, rejects, table, shared))
    return skipped


def _stage_shared(conn: psycopg.Connection, files: ReleaseFiles, tables: dict[str, Member], version: str,
                  progress: Progress | None) -> tuple[dict[str, int], RejectLog]:
    """On a connection of its own: stage `tables` into the shared schema and commit them, with a
    rejects log of its own (the load's takes its lines after). (Staging RXNREL on one more
    connection, alongside the others, gains nothing: both prefilters need the same Python process.)"""
    rejects = RejectLog("rxnorm", version)
    try:
        shared_stage.use(conn)
        tune(conn, local=False)
        skipped = _stage_files(conn, files, tables, rejects, progress, shared=True)
        conn.commit()
        return skipped, rejects
    except BaseException:
        rejects.close()
        raise


def _build_links_shared(conn: psycopg.Connection) -> None:
    shared_stage.use(conn)
    tune(conn, local=False)
    _create_links(conn, shared=True)
    conn.commit()


def _create_links(conn: psycopg.Connection, *, shared: bool) -> None:
    """Build `stage_rxn_links` with hash joins only. The planner estimates the CTEs over the raw
    tables' cast columns at a fraction of their rows and sorts each side of a dozen merge joins;
    hashing them costs a third less backend CPU (0.77-0.82 s against 1.20-1.38 s, three alternating
    rounds at full size), and this half is the longer of the two that run side by side. TERMS is
    left alone: without merge joins it took more CPU, not less. The setting is transaction-local
    and put back at once, so nothing after this statement plans differently."""
    previous = conn.execute("SELECT current_setting('enable_mergejoin')").fetchone()[0]
    conn.execute("SELECT set_config('enable_mergejoin', 'off', true)")
    create_stage_as(conn, "stage_rxn_links", LINKS, _PARAMS, shared=shared)
    conn.execute("SELECT set_config('enable_mergejoin', %s, true)", (previous,))



# ---- the fast path (`rawcopy`): COPY keeps the rows a load uses, CHECKs accept them as the parser would

def _stage_spec(stage: str, header: str, check: str, view: str, wanted: dict[int, tuple[bytes, ...]],
                sent: str, partition_by: str | None = None, partitions: tuple[tuple[str, ...], ...] = ()) -> RawStage:
    """The prefilter keeps the `wanted` lines (exactly the rows the line parser uses), makes sure
    nothing follows the trailing pipe, and sends only the `sent` fields that `check` and `view` read."""
    columns = (*header.split(), "after_last_pipe")
    return RawStage(stage=stage, columns=columns, check=check, view=f"{view} FROM raw_{stage}",
                    prefilter=LineFilter(b"|", len(columns), wanted, empty_last=True,
                                         fields=tuple(columns.index(name) for name in sent.split())),
                    partition_by=partition_by, partitions=partitions)


# What `bytes.strip()` removes that can be inside a pipe-delimited field.
_BLANKS = " \t\x0b\x0c"

# Per file: how the fast path stages it, and the name under which its unused lines are counted.
_STAGES = {
    "RXNCONSO": (_stage_spec(
        "stage_rxn_conso", "RXCUI LAT TS LUI STT SUI ISPREF RXAUI SAUI SCUI SDUI SAB TTY CODE STR SRL SUPPRESS CVF",
        check=f"""{digits_sql("RXCUI")} AND {digits_sql("RXAUI")} AND "TTY" <> ''
                  AND {not_blank_sql("STR", _BLANKS)}""",
        view="""SELECT "RXCUI"::bigint AS rxcui, "RXAUI"::bigint AS rxaui, "TTY" AS tty, "STR" AS str,
                       CASE WHEN "SUPPRESS" = '' THEN 'N' ELSE "SUPPRESS" END AS suppress""",
        wanted={1: (b"ENG",), 11: (b"RXNORM",)}, sent="RXCUI RXAUI TTY STR SUPPRESS",
        partition_by="TTY", partitions=(tuple(PRIMARY_TTYS), ("SY", "TMSY"))),
        "RXNCONSO rows of other sources"),
    "RXNREL": (_stage_spec(
        "stage_rxn_rel", "RXCUI1 RXAUI1 STYPE1 REL RXCUI2 RXAUI2 STYPE2 RELA RUI SRUI SAB SL RG DIR SUPPRESS CVF",
        check=f"""{digits_sql("RXCUI1")} AND {digits_sql("RXCUI2")}""",
        view="""SELECT "RXCUI2"::bigint AS subject, "RELA" AS rela, "RXCUI1"::bigint AS object""",
        wanted={7: tuple(sorted(RELATIONS)), 10: (b"RXNORM",), 14: NOT_SUPPRESSED}, sent="RXCUI1 RXCUI2 RELA",
        partition_by="RELA", partitions=tuple((rela.decode(),) for rela in sorted(RELATIONS))),
        "RXNREL rows not used"),
    "RXNSAT": (_stage_spec(
        "stage_rxn_sat", "RXCUI LUI SUI RXAUI STYPE CODE ATUI SATUI ATN SAB ATV SUPPRESS CVF",
        check=digits_sql("RXCUI"),
        view="""SELECT "RXCUI"::bigint AS rxcui, "ATV" AS atv""",
        wanted={8: (b"RXN_STRENGTH",), 9: (b"RXNORM",), 11: NOT_SUPPRESSED}, sent="RXCUI ATV"),
        "RXNSAT rows not used"),
}


def _vouch(conn: psycopg.Connection, stream, spec: RawStage, shared: bool) -> int:
    """Stage one clean RRF file; returns how many of its lines were not needed."""
    copied = stage_raw(conn, stream, spec, delimiter="|", shared=shared)
    return copied.lines - copied.kept


# ---- the line-by-line parser: the reference semantics, and the path for files that are not clean

_PARSED = {
    "RXNCONSO": ("stage_rxn_conso", "rxcui bigint, rxaui bigint, tty text, str text, suppress text",
                 ("rxcui", "rxaui", "tty", "str", "suppress")),
    "RXNREL": ("stage_rxn_rel", "subject bigint, rela text, object bigint", ("subject", "rela", "object")),
    "RXNSAT": ("stage_rxn_sat", "rxcui bigint, atv text", ("rxcui", "atv")),
}


def _parse(conn: psycopg.Connection, stream, member: Member, rejects: RejectLog, table: str, shared: bool) -> int:
    stage, columns, names = _PARSED[table]
    pick, marker = _PICKERS[table]
    create_stage(conn, stage, columns, shared=shared)
    with copy_into(conn, stage, names) as sink:
        not_needed = _stage(stream, member, sink, rejects, WIDTH[table], pick, marker)
    analyze(conn, stage)
    return not_needed


# A row picker returns the fields to stage, None to skip the line, or False when it is malformed.
def _conso_row(f: list[bytes]):
    if f[11] != b"RXNORM" or f[1] != b"ENG":
        return None
    if not (f[0].isdigit() and f[7].isdigit() and f[12] and f[14].strip() and _utf8(f[14])):
        return False
    return f[0], f[7], f[12], f[14], f[16] or b"N"


def _rel_row(f: list[bytes]):
    if f[10] != b"RXNORM" or f[7] not in RELATIONS or f[14] not in NOT_SUPPRESSED:
        return None
    if not (f[0].isdigit() and f[4].isdigit()):
        return False
    return f[4], f[7], f[0]


def _sat_row(f: list[bytes]):
    if f[8] != b"RXN_STRENGTH" or f[9] != b"RXNORM" or f[11] not in NOT_SUPPRESSED:
        return None
    if not (f[0].isdigit() and _utf8(f[10])):
        return False
    return f[0], f[10]


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _stage(stream, member: Member, sink: CopySink, rejects: RejectLog, width: int, pick,
           marker: bytes = b"") -> int:
    """Stream one RRF file into `sink`; returns how many lines were not needed. A well-formed line
    without `marker` cannot be needed and is passed over unsplit (RXNCONSO's other sources, RXNSAT's
    other attributes); a line with the wrong number of fields is still rejected."""
    not_needed = 0
    for lineno, raw in enumerate(stream, start=1):
        if marker not in raw and raw.count(b"|") == width - 1:
            not_needed += 1
            continue
        fields = raw.rstrip(b"\r\n").split(b"|")
        # A rejected RXNCONSO line's RXCUI is kept from retirement (see rejects.py); "" if unreadable.
        code = (fields[0] if fields[0].isdigit() else b"") if pick is _conso_row else None
        if len(fields) != width or fields[-1] != b"":
            if raw.strip():
                count = len(fields) - (fields[-1] == b"")
                rejects.add(member.name, lineno, f"{count} fields, expected {width - 1} and a trailing pipe",
                            code=code)
            continue
        row = pick(fields)
        if row is None:
            not_needed += 1
        elif row is False:
            rejects.add(member.name, lineno, "malformed identifier, or an empty or non-UTF-8 value", code=code)
        else:
            sink.fields(row)
    return not_needed


_PICKERS = {"RXNCONSO": (_conso_row, b"|RXNORM|"), "RXNREL": (_rel_row, b""), "RXNSAT": (_sat_row, b"|RXN_STRENGTH|")}


SYSTEM = RxNorm()
