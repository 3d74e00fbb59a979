"""`hv standardize`: reruns a connection or all of them, loads a lab's ranges; `hv seed` loads the curated ones."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from hv_pipelines.cli import cli
from hv_pipelines.core import db
from tests.conftest import ROOT
from tests.core.standardize.conftest import lab_connection, observation, quantity, store  # noqa: F401


def hv(url: str, *args: str):
    return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url}, catch_exceptions=False)


def test_standardize_one_connection_or_all_prints_counts_and_coverage(lab_connection):  # noqa: F811
    url = lab_connection.db_url
    store(url, lab_connection.id, [observation("g", "2345-7", quantity(5.5, "mmol/L")),
                                   observation("x", "XYZ", quantity(7, "mg/dL"), system="http://lab.example.org")])
    one = hv(url, "standardize", lab_connection.id)
    assert one.exit_code == 0, one.output
    assert "1 standardized (1 inserted, 0 updated, 0 removed), 1 of 1 quantitative converted" in one.output
    assert "no LOINC term for 1 result(s)" in one.output and "http://lab.example.org|XYZ" in one.output
    assert "codes resolved: LOINC 100%" in one.output
    assert "5.5" not in one.output and "7" not in one.output.split("XYZ")[-1]  # codes, never values
    every = hv(url, "standardize", "--all")
    assert every.exit_code == 0 and "(0 inserted, 0 updated, 0 removed)" in every.output


def test_a_labs_ranges_load_and_a_bad_file_is_one_error_line(lab_connection, tmp_path):  # noqa: F811
    url = lab_connection.db_url
    good = tmp_path / "lab.csv"
    good.write_text("loinc,type,low,high,unit,sex,age_min,age_max,source\n"
                    "2345-7,NORMAL,3.9,6.1,mmol/L,,18,,Example Lab\n"
                    "9999-9,NORMAL,1,2,mg/dL,,18,,Example Lab\n")
    loaded = hv(url, "standardize", "ranges", "load", str(good))
    assert loaded.exit_code == 0, loaded.output
    assert "1 inserted, 0 updated, 0 unchanged" in loaded.output and "9999-9" in loaded.output
    bad = tmp_path / "bad.csv"
    bad.write_text("loinc,type,low,high,unit,sex,age_min,age_max,source\n2345-7,NORMAL,9,3,mg/dL,,,,Lab\n")
    refused = subprocess.run([sys.executable, "-m", "hv_pipelines.cli", "standardize", "ranges", "load", str(bad)],
                             cwd=ROOT, env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "HV_DOTENV": "/dev/null"},
                             capture_output=True, text=True)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: bad.csv line 2: low is above high"
    with db.connect(url) as conn:
        assert conn.execute("""SELECT count(*) FROM "ReferenceRange" WHERE population = 'lab'""").fetchone()[0] == 1


def test_seed_loads_the_curated_ranges_once(lab_connection):  # noqa: F811
    first = hv(lab_connection.db_url, "seed")
    assert first.exit_code == 0, first.output
    assert "2 molar masses set" in first.output  # glucose and creatinine: the fixture's loaded terms
    with db.connect(lab_connection.db_url) as conn:
        rows = conn.execute("""SELECT count(*) FROM "ReferenceRange" WHERE population = 'curated'""").fetchone()[0]
        snapshot = conn.execute("""SELECT array_agg(xmin::text ORDER BY id) FROM "ReferenceRange" """).fetchone()[0]
    assert rows > 0
    second = hv(lab_connection.db_url, "seed")
    assert "reference ranges: 0 inserted, 0 updated, 0 removed, 0 molar masses set" in second.output
    with db.connect(lab_connection.db_url) as conn:
        assert conn.execute("""SELECT array_agg(xmin::text ORDER BY id) FROM "ReferenceRange" """).fetchone()[0] \
            == snapshot
