"""The fast path (raw COPY of clean release files) loads exactly what the line parser loads.

Each equivalence test loads a clean release through the line parser only, then re-loads it through
the fast path only (the parsers are made to fail, so the fast path must vouch for every file): the
re-load must find every code unchanged (the merge compares every column) and report the same
counts, skipped lines and checks. The static fixtures hold malformed lines, so the other tests of
each system already run the fallback from the fast path to the parser.
"""

import zipfile
from pathlib import Path

import psycopg
import pytest

from hv_pipelines.core.terminology import load_release, rawcopy, rxnorm, snomed
from hv_pipelines.core.terminology.rawcopy import LineFilter, Unvouched

SNOMED_JANUARY = "SnomedCT_InternationalRF2_PRODUCTION_20250101T120000Z.zip"
RXNORM_OCTOBER = "RxNorm_full_10062025.zip"


def _rewritten(source: Path, target: Path, edit) -> Path:
    """A copy of release zip `source` whose members' bytes went through `edit(name, data)`."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            out.writestr(info, edit(info.filename, src.read(info)))
    return target


def _without_lines(data: bytes, numbers: set[int]) -> bytes:
    return b"".join(line for number, line in enumerate(data.splitlines(keepends=True), start=1)
                    if number not in numbers)


def _clean_snomed(releases: Path, tmp_path: Path) -> Path:
    def edit(name: str, data: bytes) -> bytes:
        if name.endswith(("sct2_Concept_Snapshot_INT_20250101.txt", "sct2_Description_Snapshot-en_INT_20250101.txt")):
            return _without_lines(data, {5} if "Concept" in name else {7})
        return data
    return _rewritten(releases / "snomed" / SNOMED_JANUARY, tmp_path / SNOMED_JANUARY, edit)


def _clean_rxnorm(releases: Path, tmp_path: Path) -> Path:
    def edit(name: str, data: bytes) -> bytes:
        return _without_lines(data, {5, 7}) if name.endswith("RXNCONSO.RRF") else data
    return _rewritten(releases / "rxnorm" / RXNORM_OCTOBER, tmp_path / RXNORM_OCTOBER, edit)


def _parser_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise Unvouched("test: the line parser only")
    monkeypatch.setattr(rawcopy, "copy_raw", refuse)


def _fast_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the fast path did not vouch for a clean file")
    monkeypatch.setattr(snomed, "_parse_concepts", fail)
    for kind in snomed._PARSERS:
        monkeypatch.setitem(snomed._PARSERS, kind, fail)
    monkeypatch.setattr(rxnorm, "_parse", fail)


def _summary(result) -> tuple:
    # (row_count_within_band differs by design: the second load has a previous release to compare.)
    checks = {c.name: (c.passed, c.metadata) for c in result.checks if c.name != "row_count_within_band"}
    return result.rows_staged, result.rejects, result.skipped, checks


@pytest.mark.parametrize("system, clean", [("snomed", _clean_snomed), ("rxnorm", _clean_rxnorm)])
def test_fast_path_loads_exactly_what_the_parser_loads(system, clean, migrated_db, releases, tmp_path):
    release = clean(releases, tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        _parser_only(patch)
        parsed = load_release(migrated_db, system, [release])
    with pytest.MonkeyPatch.context() as patch:
        _fast_path_only(patch)
        fast = load_release(migrated_db, system, [release])
    assert parsed.counts.new == fast.counts.unchanged > 5
    assert fast.counts.as_dict() == {"new": 0, "changed": 0, "retired": 0, "unchanged": parsed.counts.new}
    assert _summary(fast) == _summary(parsed)
    assert parsed.rejects["count"] == 0


def test_a_bad_line_the_load_would_not_use_still_sends_the_file_to_the_parser(migrated_db, releases, tmp_path):
    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("sct2_Relationship_Snapshot_INT_20250101.txt"):
            return data + b"999\t20020131\t1\r\n"  # not an IS-A row at all: only its width is wrong
        return data
    (tmp_path / "clean").mkdir()
    release = _rewritten(_clean_snomed(releases, tmp_path / "clean"), tmp_path / SNOMED_JANUARY, edit)
    result = load_release(migrated_db, "snomed", [release])
    assert result.rejects["examples"] == [{
        "file": "SnomedCT_InternationalRF2_PRODUCTION_20250101T120000Z/Snapshot/Terminology/"
                "sct2_Relationship_Snapshot_INT_20250101.txt", "line": 13, "reason": "3 fields, expected 10"}]
    assert result.counts.new == 10


def test_line_filter_keeps_wanted_lines_and_refuses_a_wrong_width():
    keep = LineFilter(b"\t", 3, {1: (b"x", b"yy")})
    assert keep(b"a\tx\tc\r\nb\tz\tc\r\nc\tyy\td\n") == b"a\tx\tc\r\nc\tyy\td\n"
    assert keep(b"a\tx\tc\nb\tz\tc\nc\tyy\td") == b"a\tx\tc\nc\tyy\td", "a last line without its newline"
    assert keep(b"a\tx\tc\nb\tz\tc") == b"a\tx\tc\n"
    for bad in (b"a\tx\n", b"a\tx\tc\td\nq\n", b"a\tx\tc\n\n", b"a\tb\tc\td\ne\tf\n"):
        with pytest.raises(Unvouched):
            keep(bad)
    rrf = LineFilter(b"|", 4, {0: (b"1",)}, empty_last=True)
    assert rrf(b"1|a|b|\n2|a|b|\r\n1|c|d|\r\n") == b"1|a|b|\n1|c|d|\r\n"
    with pytest.raises(Unvouched):
        rrf(b"2|a|b|x\n")


def test_line_filter_sends_only_the_chosen_fields_of_the_wanted_lines():
    pick = LineFilter(b"\t", 4, {1: (b"x",)}, fields=(0, 2, 3))
    assert pick(b"a\tx\tc\td\r\nb\tz\tc\td\r\ne\tx\t\tlast\n") == b"a\tc\td\ne\t\tlast\n"
    assert pick(b"a\tx\tc\td\nb\tx\tc\t") == b"a\tc\td\nb\tc\t\n", "a last line without its newline"
    assert pick(b"a\tz\tc\td\n") == b""
    with pytest.raises(Unvouched):
        pick(b"a\tx\tc\td\te\n")
    rrf = LineFilter(b"|", 4, {0: (b"1",)}, empty_last=True, fields=(1,))
    assert rrf(b"1|a|b|\r\n2|a|b|\n1|c|d|\n") == b"a\nc\n"
    with pytest.raises(ValueError, match="order"):
        LineFilter(b"\t", 4, {}, fields=(2, 0))


def test_raw_checks_accept_what_the_line_parsers_accept(empty_db):
    from psycopg import sql

    from hv_pipelines.core import db
    from hv_pipelines.core.terminology.rawcopy import digits_sql, not_blank_sql

    values = ["0", "7", "138875005", "999999999999999999", "9999999999999999999", "-5", "+5", " 5", "5 ", "",
              "007", "1e3", "12a", "٣", "x", " ", "\x0b", " a", "a ", "\x0b\x0cb", "\t", "\t\t"]
    blanks = " \t\x0b\x0c"  # what bytes.strip() removes that a delimited field can hold

    def check(conn, expression: str, value: str) -> bool:
        """The CHECK's verdict on one value; an error (no integer at all) refuses it as well."""
        try:
            with conn.transaction():
                return conn.execute(sql.SQL("SELECT {} FROM (SELECT {}::text AS v) t").format(
                    sql.SQL(expression), value)).fetchone()[0]
        except psycopg.errors.DataError:
            return False

    with db.connect(empty_db) as conn:
        digits = {v for v in values if check(conn, digits_sql("v"), v)}
        not_blank = {v for v in values if check(conn, not_blank_sql("v", blanks), v)}
    assert digits == {v for v in values if v.isascii() and v.isdigit() and len(v) <= 18
                      and (v == "0" or not v.startswith("0"))}, "a leading zero is refused, conservatively"
    assert not_blank == {v for v in values if v.encode().strip()}


def test_a_partitioned_raw_stage_sorts_rows_by_kind_and_keeps_its_check(empty_db):
    import io

    from hv_pipelines.core import db
    from hv_pipelines.core.terminology.rawcopy import RawStage, digits_sql, stage_raw

    spec = RawStage(stage="stage_pairs", columns=("id", "kind"), check=digits_sql("id"),
                    view="SELECT id::bigint AS id, kind FROM raw_stage_pairs",
                    partition_by="kind", partitions=(("a",), ("b", "c")))
    with db.connect(empty_db) as conn:
        copied = stage_raw(conn, io.BytesIO(b"1|a\n2|b\n3|c\n4|zz\n5|a\n"), spec, delimiter="|")
        assert (copied.lines, copied.kept) == (5, 5)
        by_partition = conn.execute(
            "SELECT tableoid::regclass::text, array_agg(id::int ORDER BY id) FROM raw_stage_pairs "
            "GROUP BY 1 ORDER BY 1").fetchall()
        assert by_partition == [("raw_stage_pairs_0", [1, 5]), ("raw_stage_pairs_1", [2, 3]),
                                ("raw_stage_pairs_2", [4])], "one partition per group, the last for any other kind"
        assert conn.execute("SELECT sum(id) FROM stage_pairs WHERE kind IN ('b', 'zz')").fetchone()[0] == 6
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            stage_raw(conn, io.BytesIO(b"07|a\n"), RawStage(**{**spec.__dict__, "stage": "stage_bad"}), delimiter="|")
