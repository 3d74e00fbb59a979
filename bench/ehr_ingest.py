"""Benchmark: EHR bulk-export ingestion (issue 6's performance goals), every figure from one run.

Writes a Group export of `--resources` (default 200k) realistic R4 resources — the sample patient's
record (tests/fixtures/ehr) cloned for thousands of patients, one NDJSON file per type — and ingests
it into `fhir_resources` the way a sync does (streamed, validated, COPY + merge per file), reading the
files from local disk so the network is not what is measured. Printed side by side:

- resources/s of the pipeline with its process pool, and the same pipeline validating serially;
- ratio (a): pipeline rate / the validation ceiling — one process per core, each validating
  pre-parsed resources with fhir.resources R4B `model_validate` and nothing else, all started at the
  same instant, resources/s by the wall clock — goal >= 0.7. Ceiling and pipeline are timed in
  `--pairs` alternating pairs (the ceiling first in odd pairs, second in even ones), each side after a
  CHECKPOINT, each pair's ratio printed with the load average at its start and end (noisy when either is
  above the core count), then their median and best; the load at the start and the end of the timed
  pairs is printed too. Beside it
  the idle-machine ceiling of earlier releases (single-core `model_validate` rate × cores, measured at
  the start and the end of the run): what (a) would be with the cores to ourselves;
- ratio (b): pipeline rate / the naive path (validate, then one ORM INSERT per resource), both on the
  same N — the whole export by default, each in a fresh process with its imports done before its clock; `--naive-sample N` shortens the naive side for a quick look and
  the ratio is then marked as measured on unequal N — goal >= 5;
- peak RSS of the ingesting process and of its pool workers, at a quarter of the size and at full
  size (bounded if equal; goal < 1 GB);
- a re-ingest of the same export (everything unchanged: skipped, not rewritten).

    .venv/bin/python bench/ehr_ingest.py                  # 200k resources, 2 pairs
    .venv/bin/python bench/ehr_ingest.py --resources 50000
    DATABASE_URL=postgresql://... .venv/bin/python bench/ehr_ingest.py   # an existing server

Without DATABASE_URL it starts a throw-away PostgreSQL 16 (the embedded server, TLS only) in a temporary directory.
Each measured run is a fresh child process on a fresh database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rss import peak_rss_mib  # noqa: E402
from hv_pipelines.core import db  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "ehr" / "sample_export.ndjson"
SETUP = """
INSERT INTO users (id, email, password_hash, updated_at)
VALUES ('bench-user', 'bench@example.test', 'x', now());
INSERT INTO ehr_connections (id, user_id, provider, provider_name, fhir_base_url, customer_id, updated_at)
VALUES ('bench-conn', 'bench-user', 'EPIC', 'Epic', 'file:///bench', 'p0', now());
"""


def templates() -> list[tuple[str, str]]:
    """(type, JSON text with @K@ where the patient number goes) for each resource of patient pat-a."""
    out = []
    for line in SAMPLE.read_text().splitlines():
        resource = json.loads(line)
        text = json.dumps(resource, separators=(",", ":"))
        if "pat-b" in text or resource["id"] == "pat-b":
            continue
        text = text.replace('"id":"' + resource["id"] + '"', '"id":"' + resource["id"] + '-@K@"', 1)
        text = text.replace("Patient/pat-a", "Patient/p@K@").replace('"id":"pat-a-@K@"', '"id":"p@K@"')
        text = text.replace("Encounter/enc-pat-a-1", "Encounter/enc-pat-a-1-@K@")
        out.append((resource["resourceType"], text))
    return out


def write_export(directory: Path, total: int) -> list[tuple[str, Path, int]]:
    """One NDJSON file per type holding `total` resources over as many patients as that takes."""
    directory.mkdir(parents=True, exist_ok=True)
    mix = templates()
    handles: dict[str, object] = {}
    counts: dict[str, int] = {}
    written = 0
    patient = 0
    while written < total:
        for fhir_type, text in mix:
            if written == total:
                break
            if fhir_type not in handles:
                handles[fhir_type] = open(directory / f"{fhir_type}.ndjson", "w")  # noqa: SIM115 (closed below)
            handle = handles[fhir_type]
            handle.write(text.replace("@K@", str(patient)) + "\n")
            counts[fhir_type] = counts.get(fhir_type, 0) + 1
            written += 1
        patient += 1
    for handle in handles.values():
        handle.close()
    return [(t, directory / f"{t}.ndjson", n) for t, n in sorted(counts.items())]


class LocalFiles:
    """Serves `file://` output URLs as the bulk-data client serves downloads: 1 MiB decoded chunks."""

    @contextmanager
    def open_output(self, url: str, *, requires_access_token: bool) -> Iterator[Iterator[bytes]]:
        with open(url.removeprefix("file://"), "rb") as handle:
            yield iter(lambda: handle.read(1024 * 1024), b"")



def _worker_pid(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


def started_workers(pool, workers: int) -> list[int]:
    """Pids of the pool's workers once every one of them has started (and imported the FHIR models)."""
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while pool is not None and len(seen) < workers and time.monotonic() < deadline:
        seen.update(pool.map(_worker_pid, range(workers * 2)))
    return sorted(seen)


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_pipeline(url: str, export_dir: Path, workers: int, downloads: int) -> dict:
    from hv_pipelines.core.bulkdata import Manifest
    from hv_pipelines.core.fhir_ingest import export_jobs, start_validation_pool, sync_history
    from hv_pipelines.core.fhir_ingest.ingest import ExportContext, ingest_export

    files = sorted(export_dir.glob("*.ndjson"))
    # Each file's `count`, as Bulk Data servers may send it (the test server does): files go largest first.
    manifest = Manifest.parse({"transactionTime": "2024-06-01T00:00:00Z", "requiresAccessToken": False,
                               "output": [{"type": f.stem, "url": f"file://{f}",
                                           "count": f.read_bytes().count(b"\n")} for f in files]})
    pool = start_validation_pool(workers)
    with db.connect(url) as conn:
        sync_id = sync_history.open_sync(conn, "bench-conn", "full")
        job = export_jobs.create_job(conn, connection_id="bench-conn", level="group", kickoff_url="file:///",
                                     status_url="file:///", types=(), since=None, sync_id=sync_id)
        export_jobs.record_manifest(conn, job.id, manifest)
        job = export_jobs.load_job(conn, job.id)
    ctx = ExportContext(url, job.id, sync_id, "bench-conn", "bench-user", LocalFiles(), False, pool)
    # Workers are started (their imports paid) before the clock, as in a running code location.
    pids = started_workers(pool, workers)
    main_before, workers_before = self_cpu(), sum(process_cpu(p) for p in pids)
    started = time.perf_counter()
    counts = ingest_export(ctx, job, download_workers=downloads)
    seconds = time.perf_counter() - started
    main_cpu, workers_cpu = self_cpu() - main_before, sum(process_cpu(p) for p in pids) - workers_before
    own, workers_rss = peak_rss_mib(), max((peak_rss_mib(p) for p in pids), default=0.0)
    if pool is not None:
        pool.shutdown()
    return {"seconds": seconds, "resources": counts.lines, "created": counts.created,
            "skipped": counts.skipped, "failed": counts.failed, "main_cpu": main_cpu,
            "workers_cpu": workers_cpu, "rss_mb": own,
            "worker_rss_mb": workers_rss}


def child_naive(url: str, export_dir: Path, sample: int) -> dict:
    """Validate each resource, then one ORM INSERT per resource (flushed one by one)."""
    import sqlalchemy.orm as orm
    from fhir.resources.R4B import get_fhir_model_class

    from hv_pipelines.core.fhir_ingest.extract import (
        resource_category,
        resource_date,
        resource_status,
        resource_title,
    )
    from hv_pipelines.core.fhir_ingest.resource_types import bucket_of, stored_fhir_id
    from hv_pipelines.schema.ehr import FHIRResource

    lines = _sample_lines(export_dir, sample)
    engine = db.create_engine(url)
    started = time.perf_counter()
    with orm.Session(engine) as session:
        for index, line in enumerate(lines):
            data = json.loads(line)
            get_fhir_model_class(data["resourceType"]).model_validate(data)
            session.add(FHIRResource(connection_id="bench-conn",
                                     resource_type=bucket_of(data["resourceType"]),
                                     fhir_id=stored_fhir_id(data["resourceType"], data["id"]), raw_data=line,
                                     title=resource_title(data), date=resource_date(data),
                                     status=resource_status(data), category=resource_category(data)))
            session.flush()
            if index % 1000 == 999:
                session.commit()
        session.commit()
    return {"seconds": time.perf_counter() - started, "resources": len(lines)}


def _sample_lines(export_dir: Path, total: int) -> list[str]:
    """`total` lines in the export's type proportions (the first lines of each file)."""
    files = sorted(export_dir.glob("*.ndjson"))
    sizes = {f: f.read_bytes().count(b"\n") for f in files}
    everything = sum(sizes.values())
    lines: list[str] = []
    for f in files:
        take = max(1, round(total * sizes[f] / everything))
        with open(f) as handle:
            lines += [next(handle).rstrip("\n") for _ in range(min(take, sizes[f]))]
    return lines[:total]


def validation_ceiling(export_dir: Path, sample: int) -> tuple[float, float, float]:
    """Single-core rates (resources/s): `model_validate` alone, parse + validate, and `model_validate` per
    CPU-second (the load-independent figure).

    Only the validate call is timed for the first figure, on a dict parsed just before it: validating a
    list of 20k pre-parsed resources would also time the garbage collector walking that list.
    """
    from fhir.resources.R4B import get_fhir_model_class

    lines = _sample_lines(export_dir, sample)
    for line in lines[:500]:  # warm the validators
        data = json.loads(line)
        get_fhir_model_class(data["resourceType"]).model_validate(data)
    validating = validating_cpu = 0.0
    started = time.perf_counter()
    for line in lines:
        data = json.loads(line)
        model = get_fhir_model_class(data["resourceType"])
        tick, tick_cpu = time.perf_counter(), time.thread_time()
        model.model_validate(data)
        validating += time.perf_counter() - tick
        validating_cpu += time.thread_time() - tick_cpu
    return len(lines) / validating, len(lines) / (time.perf_counter() - started), len(lines) / validating_cpu


def _validate_from(lines: list[str], start_at: float) -> tuple[float, int]:
    """In a ceiling worker: parse `lines`, warm the validators, wait for `start_at` (wall clock, shared by
    every worker), then validate every parsed resource; return when it finished and how many."""
    from fhir.resources.R4B import get_fhir_model_class

    parsed = [(get_fhir_model_class(d["resourceType"]), d) for d in map(json.loads, lines)]
    for model, data in parsed[:500]:
        model.model_validate(data)
    time.sleep(max(0.0, start_at - time.time()))
    for model, data in parsed:
        model.model_validate(data)
    return time.time(), len(parsed)


def parallel_ceiling(export_dir: Path, sample: int, workers: int) -> float:
    """Resources/s of `workers` processes doing nothing but `model_validate` on pre-parsed resources,
    started together, by the wall clock from the common start to the last one's end: the most that
    validation alone gets from this machine as loaded at that moment."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    lines = _sample_lines(export_dir, sample)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        start_at = time.time() + 5 + len(lines) / 20_000  # every worker started, imported and parsed by then
        done = list(pool.map(_validate_from, [lines] * workers, [start_at] * workers))
    return sum(n for _, n in done) / (max(end for end, _ in done) - start_at)


def postgres_cpu(url: str) -> float | None:
    """CPU seconds the local PostgreSQL server and its exited backends have used (None if not local)."""
    try:
        with db.connect(url) as conn:  # read while the backend is alive: it is the way to its postmaster
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, ValueError):
        return None
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def checkpoint(base: str) -> None:
    """CHECKPOINT (the migration's and the setup's dirty pages written back), then wait for the backends of
    earlier steps to exit: before each timed side, so that it pays only for its own work and its
    PostgreSQL CPU is its own."""
    import psycopg

    try:
        with db.connect(base) as conn:
            conn.execute("CHECKPOINT")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()").fetchone()[0]:
                time.sleep(0.1)
    except psycopg.errors.InsufficientPrivilege:
        sys.exit("error: CHECKPOINT was refused: run the bench as a superuser or a member of pg_checkpoint")


def run_child(url: str, *args: str, downloads: int = 4) -> dict:
    out = subprocess.run([sys.executable, __file__, "--download-workers", str(downloads), "--child", *args],
                         env={**os.environ, "BENCH_URL": url}, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def fresh_database(base: str, label: str) -> Iterator[str]:
    from hv_pipelines.core.migrations import upgrade

    name = f"hv_bench_ehr_{label}_{os.getpid()}"
    url = db.create_database(base, name)
    try:
        upgrade(url, "head")
        with db.connect(url) as conn:
            conn.execute(SETUP)
        yield url
    finally:
        db.drop_database(base, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=200_000)
    parser.add_argument("--naive-sample", type=int, default=None,
                        help="naive path on only N resources (default: all of them, the same N as the pipeline)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="validation processes")
    parser.add_argument("--download-workers", type=int, default=4,
                        help="files ingested in parallel (4: the Epic / Oracle Health / generic profiles)")
    parser.add_argument("--pairs", type=int, default=2, help="alternating (ceiling, pipeline) pairs to time")
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child:
        mode, directory, value = args.child
        url = os.environ["BENCH_URL"]
        result = (child_naive(url, Path(directory), int(value)) if mode == "naive"
                  else child_pipeline(url, Path(directory), int(value), args.download_workers))
        print(json.dumps(result))
        return

    work = Path(tempfile.mkdtemp(prefix="hv-bench-ehr-"))
    server = None
    base = os.environ.get("DATABASE_URL")
    if not base:
        from hv_pipelines.core.embedded import start_postgres

        server = start_postgres(work / "pg", cleanup_mode="delete")
        base = server.get_uri()
    try:
        print(f"writing {args.resources:,} resources (and a quarter-size copy) ...", flush=True)
        full = write_export(work / "full", args.resources)
        write_export(work / "quarter", args.resources // 4)
        size_mb = sum(p.stat().st_size for _, p, _ in full) / 1e6
        print(f"  {len(full)} files, {size_mb:.0f} MB; " + ", ".join(f"{t} {n:,}" for t, _, n in full))
        cores = os.cpu_count() or 1
        workers, downloads = str(args.workers), args.download_workers
        ceilings = [validation_ceiling(work / "full", 20_000)]
        parallel, runs, loads = [], [], []
        timing_started = os.getloadavg()[0]
        print(f"timing {args.pairs} pairs (load average {timing_started:.2f}) ...", flush=True)
        for pair in range(args.pairs):
            pair_started = os.getloadavg()[0]
            for side in ("ceiling", "pipeline") if pair % 2 == 0 else ("pipeline", "ceiling"):
                if side == "ceiling":
                    checkpoint(base)
                    parallel.append(parallel_ceiling(work / "full", 15_000, cores))
                    continue
                with fresh_database(base, f"pool{pair}") as url:
                    checkpoint(base)
                    pg_before = postgres_cpu(url)
                    runs.append(run_child(url, "pipeline", str(work / "full"), workers, downloads=downloads))
                    pg_after = postgres_cpu(url)
                    if pair == 0:
                        pg_cpu = (pg_after - pg_before) if pg_before is not None and pg_after is not None else None
                        again = run_child(url, "pipeline", str(work / "full"), workers, downloads=downloads)
            loads.append(max(pair_started, os.getloadavg()[0]))
            rate = runs[-1]["resources"] / runs[-1]["seconds"]
            print(f"  pair {pair + 1}: ceiling {parallel[-1]:,.0f}/s, pipeline {rate:,.0f}/s, "
                  f"(a) = {rate / parallel[-1]:.2f}; load {pair_started:.2f} -> {os.getloadavg()[0]:.2f}"
                  + (" (noisy)" if loads[-1] > cores else ""), flush=True)
        timing_ended = os.getloadavg()[0]
        with fresh_database(base, "serial") as url:
            checkpoint(base)
            serial = run_child(url, "pipeline", str(work / "full"), "0", downloads=downloads)
        with fresh_database(base, "quarter") as url:
            checkpoint(base)
            small = run_child(url, "pipeline", str(work / "quarter"), workers, downloads=downloads)
        with fresh_database(base, "naive") as url:
            checkpoint(base)
            naive = run_child(url, "naive", str(work / "full"), str(args.naive_sample or args.resources))
        # Measured again at the end: a neighbour's burst during one measurement would flatter (a).
        ceilings.append(validation_ceiling(work / "full", 20_000))
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    validate_only, parse_validate, validate_cpu_rate = max(ceilings)
    ceiling = validate_only * cores
    first = pooled = min(runs, key=lambda r: abs(r["seconds"] - statistics.median(x["seconds"] for x in runs)))
    rate = first["resources"] / first["seconds"]
    ratios = [r["resources"] / r["seconds"] / c for r, c in zip(runs, parallel, strict=True)]
    quiet = [r for r, load in zip(ratios, loads, strict=True) if load <= cores]
    serial_rate = serial["resources"] / serial["seconds"]
    naive_rate = naive["resources"] / naive["seconds"]
    print()
    print(f"machine: {cores} cores; load average {timing_started:.2f} at the start of the timed pairs, "
          f"{timing_ended:.2f} at their end, {os.getloadavg()[0]:.2f} at the end of the run"
          + (" (noisy: above the core count)" if max(timing_started, timing_ended) > cores else "")
          + " (work of other processes skews wall-clock rates)")
    print(f"validation ceiling, {cores} processes validating pre-parsed resources together: "
          + ", ".join(f"{c:,.0f}/s" for c in parallel) + " (one per pair)")
    print(f"idle-machine ceiling: {validate_only:,.0f}/s single-core model_validate x {cores} cores = "
          f"{ceiling:,.0f}/s   (the higher of {' and '.join(f'{c[0]:,.0f}' for c in ceilings)}, measured "
          f"at the start and the end; parse + validate single-core: {parse_validate:,.0f}/s)")
    print(f"pool: {args.workers} validation processes, {downloads} files ingested in parallel")
    print(f"{'run':<34} {'resources':>10} {'seconds':>8} {'resources/s':>12} {'peak RSS':>9} {'workers':>8}")
    rows = [(f"pipeline, pool of {args.workers} (median run)", pooled), ("pipeline, re-ingest (all unchanged)", again),
            ("pipeline, serial validation", serial), ("pipeline, pool, quarter size", small)]
    for label, run in rows:
        print(f"{label:<34} {run['resources']:>10,} {run['seconds']:>8.1f} "
              f"{run['resources'] / run['seconds']:>12,.0f} {run['rss_mb']:>7.0f}MB "
              f"{run['worker_rss_mb']:>6.0f}MB")
    print(f"{'naive: validate + ORM insert each':<34} {naive['resources']:>10,} {naive['seconds']:>8.1f} "
          f"{naive_rate:>12,.0f}")
    print()
    print(f"(a) pipeline / validation ceiling      = {statistics.median(ratios):.2f}   (goal >= 0.7; median of "
          f"{len(ratios)} pairs, best {max(ratios):.2f}"
          + (f", median of the {len(quiet)} at load <= cores {statistics.median(quiet):.2f})" if quiet
             else "; every pair noisy: load above the core count)"))
    print(f"    pipeline / idle-machine ceiling    = {rate / ceiling:.2f}   (earlier releases' (a): "
          "single-core rate x cores)")
    if len(quiet) < len(ratios):
        print("    (above the core count the scheduler shares the cores per process: the pipeline's workers, "
              "parent and PostgreSQL backends outnumber the ceiling's processes, so a noisy (a) flatters the "
              "pipeline; the CPU line below is the figure to read)")
    unequal = "" if naive["resources"] >= first["resources"] else \
        f"  (unequal N: naive on {naive['resources']:,} — not comparable)"
    print(f"(b) pipeline / naive ORM path          = {rate / naive_rate:.1f}x  (goal >= 5x){unequal}")
    print(f"    pool / serial validation           = {rate / serial_rate:.2f}x")
    print(f"    re-ingest skipped {again['skipped']:,} of {again['resources']:,}; created {again['created']}")
    # Load-independent view: on a shared machine the wall-clock ratio (a) measures the neighbours too.
    validation_cpu = first["resources"] / validate_cpu_rate
    spent = first["main_cpu"] + first["workers_cpu"] + (pg_cpu or 0.0)
    print(f"    CPU spent by the pool run: {first['main_cpu']:.1f}s main process + "
          f"{first['workers_cpu']:.1f}s workers"
          + (f" + {pg_cpu:.1f}s PostgreSQL" if pg_cpu is not None else "")
          + f"; validation alone needs {validation_cpu:.1f}s -> (a) on an idle machine ~= "
          f"{validation_cpu / spent:.2f} (validation's share of all CPU)")
    print(f"    peak RSS full / quarter size        = {pooled['rss_mb']:.0f} / {small['rss_mb']:.0f} MB "
          f"(goal < 1024 MB, flat with size)")


if __name__ == "__main__":
    main()
