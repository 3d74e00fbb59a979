"""Benchmark: lab-result standardization against a plain INSERT ... SELECT of as many rows, from one run.

Builds `--patients` EHR connections (default 1,000), each with its patient and `--observations`
laboratory Observations (default 1,000: 1,000,000 in all) in `fhir_resources`, spread over 12 LOINC
terms and 17 units (UCUM codes and free-text synonyms, mass and molar), then prints side by side:

- the standardization of every connection in one pass (what `hv standardize --all` runs), wall time
  and rows;
- the floor: one `INSERT INTO "LabResultStandardization" ... SELECT` of the same number of rows from
  `fhir_resources` (ids and columns taken as they are, no JSON read, no conversion), into the same table
  with the same indexes and foreign keys — goal: standardization ≤ 3× the floor;
- the peak RSS (VmHWM) of the process that standardized — goal < 1 GB;
- how many unit conversions were computed: one per distinct (LOINC code, unit) pair, not per row.

Both timed steps start after a CHECKPOINT on an emptied table, in `--pairs` pairs whose order alternates
(standardization first, then the floor first, ...); the median ratio is the figure. The load average is
printed at the start and the end and beside each pair (a ratio measured at a load above the core count
is marked noisy).

    .venv/bin/python bench/standardize.py                           # 1,000 × 1,000
    .venv/bin/python bench/standardize.py --patients 100            # 100,000 observations, quicker

Without DATABASE_URL it starts a throw-away PostgreSQL 16 (the embedded server, TLS only) in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hv_pipelines.core import db  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TERMS = [("2345-7", "mg/dL"), ("718-7", "g/dL"), ("2160-0", "mg/dL"), ("2951-2", "mmol/L"), ("2823-3", "mmol/L"),
         ("2093-3", "mg/dL"), ("4548-4", "%"), ("6690-2", "10*3/uL"), ("777-3", "10*3/uL"),
         ("29463-7", "kg"), ("8310-5", "Cel"), ("8867-4", "/min")]
# (LOINC, value, unit, UCUM?) patterns each observation cycles through
SENT = [("2345-7", "95", "mg/dL", True), ("2345-7", "5.4", "mmol/L", True), ("718-7", "140", "g/L", True),
        ("718-7", "13.5", "g/dL", True), ("2160-0", "88", "umol/L", True), ("2160-0", "1.0", "mg/dl", False),
        ("2951-2", "140", "mmol/L", True), ("2823-3", "4.1", "meq/L", True), ("2093-3", "5.2", "mmol/L", True),
        ("4548-4", "5.6", "%", True), ("6690-2", "7.1", "10*9/L", True), ("777-3", "250", "K/uL", False),
        ("29463-7", "165", "lbs", False), ("8310-5", "98.6", "degF", False), ("8867-4", "72", "/min", True),
        ("8867-4", "70", "bpm", False), ("2345-7", "101", "mg/dL", True)]

GENERATE = """
INSERT INTO users (id, email, password_hash, updated_at)
SELECT 'u' || p, 'bench' || p || '@example.test', 'x', now() FROM generate_series(1, %(patients)s) p;
INSERT INTO ehr_connections (id, user_id, provider, provider_name, fhir_base_url, customer_id, updated_at)
SELECT 'c' || p, 'u' || p, 'EPIC', 'Epic', 'file:///bench', 'p' || p, now() FROM generate_series(1, %(patients)s) p;
INSERT INTO fhir_resources (id, connection_id, resource_type, fhir_id, raw_data, metadata, updated_at)
SELECT 'pat' || p, 'c' || p, 'CUSTOMER', 'p' || p,
       jsonb_build_object('resourceType', 'Patient', 'id', 'p' || p,
                          'gender', CASE WHEN p %% 2 = 0 THEN 'female' ELSE 'male' END, 'birthDate', '1970-01-01')::text,
       '{"fhirType":"Patient","patient":"p' || p || '","version":"1"}', now()
FROM generate_series(1, %(patients)s) p;
INSERT INTO fhir_resources (id, connection_id, resource_type, fhir_id, raw_data, metadata, updated_at)
SELECT 'o' || p || '-' || o, 'c' || p, 'OBSERVATION', 'o' || o,
       jsonb_build_object('resourceType', 'Observation', 'id', 'o' || o, 'status', 'final',
           'category', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
               'system', 'http://terminology.hl7.org/CodeSystem/observation-category', 'code', 'laboratory')))),
           'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
               'system', 'http://loinc.org', 'code', s.loinc))),
           'subject', jsonb_build_object('reference', 'Patient/p' || p),
           'effectiveDateTime', '2024-03-01T09:00:00Z',
           'valueQuantity', CASE WHEN s.ucum
               THEN jsonb_build_object('value', s.value::numeric, 'unit', s.unit,
                                       'system', 'http://unitsofmeasure.org', 'code', s.unit)
               ELSE jsonb_build_object('value', s.value::numeric, 'unit', s.unit) END)::text,
       '{"fhirType":"Observation","patient":"p' || p || '","version":"1"}', now()
FROM generate_series(1, %(patients)s) p, generate_series(1, %(observations)s) o
JOIN unnest(%(loinc)s::text[], %(value)s::text[], %(unit)s::text[], %(ucum)s::bool[])
     WITH ORDINALITY AS s(loinc, value, unit, ucum, n) ON s.n = 1 + o %% %(patterns)s;
"""

FLOOR = """
INSERT INTO "LabResultStandardization" (id, "originalCode", "originalCodeSystem", "originalName", "originalValue",
    "originalUnit", "loincCodeId", "standardizedValue", "standardizedUnit", "customerId", "fhirResourceId",
    "updatedAt")
SELECT f.id, f.fhir_id, 'http://loinc.org', f.fhir_id, f.fhir_id, f.fhir_id, %(loinc)s, 1.0, 'mg/dL',
       'u' || substr(f.connection_id, 2), f.id, now()
FROM fhir_resources f WHERE f.resource_type = 'OBSERVATION'
"""

CHILD = """
import json, sys, time
from hv_pipelines.core.standardize import standardize_stage
from hv_pipelines.core.standardize import units
url, patients = sys.argv[1], int(sys.argv[2])
started = time.monotonic()
rows = standardize_stage(url, [f"c{p}" for p in range(1, patients + 1)]).counts.standardized
elapsed = time.monotonic() - started
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))
print(json.dumps({"seconds": elapsed, "rows": rows, "rss_mb": hwm / 1024,
                  "conversions": units.conversion.cache_info().misses}))
"""


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def setup(url: str, patients: int, observations: int) -> None:
    with db.connect(url) as conn:
        for number, unit in TERMS:
            conn.execute(
                """INSERT INTO "LOINCCode" (id, "loincNumber", component, property, "timeAspect", system, scale,
                       category, "componentType", "commonName", "shortName", "longName", "updatedAt")
                   VALUES (%s, %s, %s, 'x', 'Pt', 'Ser', 'Qn', 'LABORATORY', 'CHEMISTRY', %s, %s, %s, now())""",
                (f"l{number}", number, number, number, number, number))
            conn.execute("""INSERT INTO "LOINCUnit" (id, "loincCodeId", unit, "ucumCode", "unitSystem", "isPrimary")
                            VALUES (%s, %s, %s, %s, 'UCUM', true)""", (f"lu{number}", f"l{number}", unit, unit))
        params = {"patients": patients, "observations": observations, "loinc": [s[0] for s in SENT],
                  "value": [s[1] for s in SENT], "unit": [s[2] for s in SENT], "ucum": [s[3] for s in SENT],
                  "patterns": len(SENT)}
        for statement in filter(str.strip, GENERATE.split(";\n")):
            conn.execute(statement, params)
    with db.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def empty_and_checkpoint(url: str) -> None:
    with db.connect(url, autocommit=True) as conn:
        conn.execute('TRUNCATE "LabResultStandardization"')
        conn.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--observations", type=int, default=1000, help="per patient")
    parser.add_argument("--pairs", type=int, default=2, help="alternating (standardization, floor) pairs")
    args = parser.parse_args()
    from hv_pipelines.core.migrations import upgrade

    server = None
    base = os.environ.get("DATABASE_URL")
    if not base:
        from hv_pipelines.core.embedded import start_postgres

        server = start_postgres(Path(tempfile.mkdtemp(prefix="hv-bench-std-")) / "data", cleanup_mode="delete")
        base = server.get_uri()
    url = db.create_database(base, "hv_bench_standardize")
    try:
        print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
        upgrade(url, "head")
        started = time.monotonic()
        setup(url, args.patients, args.observations)
        total = args.patients * args.observations
        print(f"generated {total:,} observations for {args.patients:,} connections in "
              f"{time.monotonic() - started:.1f} s")

        import json
        import statistics

        runs, floors = [], []
        for pair in range(args.pairs):  # alternating order: standardization first, then the floor first, ...
            start_load = os.getloadavg()[0]
            for side in ("standardize", "floor") if pair % 2 == 0 else ("floor", "standardize"):
                empty_and_checkpoint(url)
                if side == "standardize":
                    child = subprocess.run([sys.executable, "-c", CHILD, url, str(args.patients)], cwd=ROOT,
                                           check=True, capture_output=True, text=True)
                    runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
                    continue
                started = time.monotonic()
                with db.connect(url) as conn:
                    floor_rows = conn.execute(FLOOR, {"loinc": "l2345-7"}).rowcount
                floors.append(time.monotonic() - started)
            end_load = os.getloadavg()[0]
            noisy = " (noisy)" if max(start_load, end_load) > (os.cpu_count() or 1) else ""
            print(f"  pair {pair + 1} ({'standardization' if pair % 2 == 0 else 'floor'} first): "
                  f"{runs[-1]['seconds']:.1f} s / {floors[-1]:.1f} s = {runs[-1]['seconds'] / floors[-1]:.2f}x; "
                  f"load {start_load:.2f} .. {end_load:.2f}{noisy}", flush=True)
        run = runs[-1]
        seconds, floor = statistics.median(r["seconds"] for r in runs), statistics.median(floors)
        ratio = statistics.median(r["seconds"] / f for r, f in zip(runs, floors, strict=True))
        load_end = os.getloadavg()[0]
        print(f"standardization, every connection (median of {len(runs)}): {seconds:.1f} s for {run['rows']:,} rows "
              f"({run['rows'] / seconds:,.0f} rows/s), peak RSS {max(r['rss_mb'] for r in runs):.0f} MB "
              "(goal < 1024)")
        print(f"floor, INSERT ... SELECT of {floor_rows:,} rows into the same table (median): {floor:.1f} s")
        noisy = " (noisy: load above the core count)" if load_end > (os.cpu_count() or 1) else ""
        print(f"ratio: {ratio:.2f}x the floor, median of {len(runs)} alternating pairs (goal <= 3){noisy}")
        print(f"unit conversions computed: {run['conversions']} (one per distinct (LOINC, unit) pair) for "
              f"{run['rows']:,} results")
        print(f"load average at end: {load_average()}")
    finally:
        db.drop_database(base, "hv_bench_standardize")
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
