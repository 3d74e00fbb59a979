"""Benchmark: encrypted backup and restore against plain pg_dump / pg_restore, side by side in one run.

Fills a scratch HoloVitals database (FHIR Observation JSON in `fhir_resources`, `audit_logs`) with
server-side generate_series, then prints from one run:

- wall time of an encrypted backup (pg_dump → zstd → AES-256-GCM STREAM → local object store, then the
  read-back verification) against the honest floor `pg_dump -Fc -Z0 | zstd -3 -T1 > /dev/null`: the same
  dump and the same compressor as ours, minus encryption, upload and verification (goal ≤ 1.3×), in
  `--pairs` alternating pairs after a CHECKPOINT, with the median ratio. Beside it, the CPU seconds of
  each stage on both sides (pg_dump, reading its pipe with zstd, AES-GCM + SHA-256, write + fsync, the
  read-back's decrypt and decompress): on a shared machine the CPU figures are steady where the wall
  times are not. The old
  baseline, `pg_dump -Fc > file` (pg_dump's own gzip, a weaker compressor than zstd -3), is printed beside
  it for one release so the change of floor is visible;
- peak RSS of the backup process (goal ≤ 256 MB), its own VmHWM (not ru_maxrss, which Linux carries
  over exec from the bench), at a quarter of the size and at full size (bounded if about equal);
- wall time of a restore (the verifying pass, then decrypt → decompress → pg_restore, then the row-count
  comparison) vs a plain `pg_restore` of the plain archive into an empty database, and the verifying
  pass alone (`hv backup verify`: what a restore reads before pg_restore may start) as its share.

    .venv/bin/python bench/backup.py              # ≥ 2 GB (the issue's size)
    .venv/bin/python bench/backup.py --gb 0.5 --pairs 3     # quicker, more pairs
    DATABASE_URL=postgresql://... .venv/bin/python bench/backup.py   # an existing server

Without DATABASE_URL it starts a throw-away PostgreSQL 16 (the embedded server, TLS only) in a temporary directory.
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
from pathlib import Path

# BENCH_TREE: the checkout whose hv_pipelines a child times (`--before`); the bench's own by default.
sys.path.insert(0, os.environ.get("BENCH_TREE") or str(Path(__file__).resolve().parents[1]))

from bench.rss import peak_rss_mib  # noqa: E402
from hv_pipelines.core import db  # noqa: E402
from hv_pipelines.core.backup.tools import client_connection, find_tool, server_major  # noqa: E402

SETUP = """
INSERT INTO users (id, email, password_hash, updated_at) VALUES ('bench-user', 'bench@example.test', 'x', now())
ON CONFLICT DO NOTHING;
INSERT INTO ehr_connections (id, user_id, provider, provider_name, fhir_base_url, updated_at)
VALUES ('bench-conn', 'bench-user', 'EPIC', 'Bench EHR', 'https://fhir.example.test/r4', now())
ON CONFLICT DO NOTHING;
"""
# @lo@ / @hi@ take trusted integers (the statements use % and braces themselves).
OBSERVATIONS = """
INSERT INTO fhir_resources (id, connection_id, resource_type, fhir_id, raw_data, title, date, category, status,
                            content_type, processed, updated_at)
SELECT 'fr-' || g, 'bench-conn', 'OBSERVATION', 'obs-' || g,
  '{"resourceType":"Observation","id":"obs-' || g || '","status":"final","category":[{"coding":[{"system":'
  || '"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":'
  || '[{"system":"http://loinc.org","code":"' || (1000 + g % 9000) || '-' || (g % 10) || '","display":"'
  || (ARRAY['Glucose [Mass/volume] in Serum or Plasma','Hemoglobin A1c','Creatinine','Potassium'])[g % 4 + 1]
  || '"}]},"subject":{"reference":"Patient/p-' || (g % 50000) || '"},"effectiveDateTime":"'
  || to_char(timestamp '2020-01-01' + g * interval '37 seconds', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  || '","valueQuantity":{"value":' || round((random() * 200)::numeric, 1) || ',"unit":"mg/dL","system":'
  || '"http://unitsofmeasure.org","code":"mg/dL"},"referenceRange":[{"low":{"value":70},"high":{"value":99}}],'
  || '"note":[{"text":"' || md5(g::text) || '"}]}',
  'Lab result ' || (g % 997), timestamp '2020-01-01' + g * interval '37 seconds', 'laboratory', 'final',
  'application/fhir+json', g % 3 = 0, now()
FROM generate_series(@lo@, @hi@) AS g
"""
AUDIT = """
INSERT INTO audit_logs (id, user_id, action, resource, resource_id, details, ip_address, user_agent, session_id,
                        severity, "timestamp")
SELECT 'al-' || g, 'bench-user', (ARRAY['PHI_VIEWED','PHI_UPDATED','LOGIN_SUCCESS','PHI_EXPORTED'])[g % 4 + 1],
       'fhir_resource', 'fr-' || g,
       '{"fields":["valueQuantity","note"],"query":"' || md5(g::text || 'q') || '","count":' || (g % 50) || '}',
       '10.' || (g % 250) || '.' || (g % 13) || '.' || (g % 7), 'Mozilla/5.0 HoloVitals/' || (g % 9),
       'sess-' || (g / 40), (ARRAY['INFO','WARNING'])[g % 2 + 1], timestamp '2020-01-01' + g * interval '11 seconds'
FROM generate_series(@lo@, @hi@) AS g
"""
BATCH = 50_000


def database_bytes(url: str) -> int:
    with db.connect(url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def fill(url: str, target_bytes: int, start: int) -> int:
    """Add batches of observations and audit entries until the database reaches `target_bytes`."""
    with db.connect(url) as conn:
        conn.execute(SETUP)
    g = start
    while database_bytes(url) < target_bytes:
        with db.connect(url) as conn:
            for statement in (OBSERVATIONS, AUDIT):
                conn.execute(statement.replace("@lo@", str(g)).replace("@hi@", str(g + BATCH - 1)))
        g += BATCH
        print(f"  {database_bytes(url) / 1e9:.2f} GB", flush=True)
    with db.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return g


def timed(args: list[str], env: dict[str, str], stdout) -> float:
    started = time.monotonic()
    subprocess.run(args, env=env, stdout=stdout, check=True)
    return time.monotonic() - started


def timed_pipe(producer: list[str], consumer: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """`producer | consumer > /dev/null`: wall time from the producer's start to the consumer's exit, and
    each side's CPU seconds."""
    from hv_pipelines.core.backup.streams import exited_cpu_seconds

    started = time.monotonic()
    with open(os.devnull, "wb") as sink:
        first = subprocess.Popen(producer, env=env, stdout=subprocess.PIPE)
        second = subprocess.Popen(consumer, stdin=first.stdout, stdout=sink)
        first.stdout.close()
        consumer_cpu = exited_cpu_seconds(second.pid)
        wall = time.monotonic() - started
        producer_cpu = exited_cpu_seconds(first.pid)
        if second.wait() or first.wait():
            raise RuntimeError(f"{producer[0]} | {consumer[0]} failed")
    return wall, producer_cpu or 0.0, consumer_cpu or 0.0


def server_cpu(pgdata: Path | None) -> float | None:
    """CPU seconds the bench's own server has used so far: postmaster, live children and reaped backends.

    None against DATABASE_URL (another server, maybe shared). The server's work (COPY out, the backup's
    row counts and catalog reads) is most of a dump's CPU, on both sides of the comparison.
    """
    if pgdata is None:
        return None
    postmaster = (pgdata / "postmaster.pid").read_text().split()[0]
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:  # exited meanwhile: its parent's cutime/cstime has it
            continue
        if entry.name == postmaster:
            ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        elif fields[1].decode() == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_child(mode: str, env_extra: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode], env={**os.environ, **env_extra},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(mode: str) -> None:
    """One measured operation in a fresh process, so its peak RSS is its own."""
    from hv_pipelines.core import backup
    from hv_pipelines.core.keyring import Keyring
    from hv_pipelines.core.storage import LocalStore

    store, keyring = LocalStore(os.environ["BENCH_OBJECTS"]), Keyring.from_hex(os.environ["BENCH_KEY"])
    started, cpu_started = time.monotonic(), time.process_time()
    if mode == "backup":
        result = backup.create_backup(os.environ["BENCH_URL"], store, keyring)
        report = {"backup_id": result.manifest.backup_id, "bytes": result.manifest.object_bytes,
                  "dump_bytes": result.manifest.dump_bytes, **result.manifest.durations}
    elif mode == "verify":
        backup.verify_backup(store, keyring, os.environ["BENCH_BACKUP_ID"])
        report = {}
    else:
        result = backup.restore_backup(store, keyring, os.environ["BENCH_BACKUP_ID"], os.environ["BENCH_TARGET"])
        report = {"matches": result.matches, "rows": sum(result.table_rows.values())}
    report["seconds"] = time.monotonic() - started
    report["cpu_s"] = time.process_time() - cpu_started
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # pg_dump / pg_restore, whichever release runs them
    report["children_cpu_s"] = reaped.ru_utime + reaped.ru_stime
    report["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(report))


def print_profile(floors: list[tuple[float, float, float]], backups: list[dict], befores: list[dict],
                  floor_servers: list[float]) -> None:
    """CPU seconds per stage (medians over the pairs), the floor's beside ours: where the time goes."""
    def med(values) -> float:
        return statistics.median(values)

    def ours(stage: str) -> float:
        return med(b.get(f"cpu_{stage}", 0.0) for b in backups)

    def column(runs: list[dict], value) -> str:
        return f"{med(value(b) for b in runs):.2f}" if runs else ""

    def everything(b: dict) -> float:
        return b["cpu_s"] + b["children_cpu_s"] + b["server_cpu_s"]

    print("CPU seconds per stage (medians; each stage is its own process or thread, so they overlap):")
    print(f"  {'stage':46} {'floor':>7} {'ours':>7} {'before':>7}")
    rows = [("pg_dump (client; the server's COPY is extra)", med(f[1] for f in floors), ours("pg_dump_s")),
            ("read pipe + zstd -3 (floor: the zstd process)", med(f[2] for f in floors), ours("compress_s")),
            ("AES-256-GCM + SHA-256 of the ciphertext", None, ours("encrypt_s")),
            ("write to the store + fsync", None, ours("upload_s")),
            ("read-back: read, SHA-256, decrypt", None, ours("verify_decrypt_s")),
            ("read-back: decompress to the end", None, ours("verify_decompress_s"))]
    for label, floor, mine in rows:
        print(f"  {label:46} {'' if floor is None else f'{floor:.2f}':>7} {mine:>7.2f}")
    print(f"  {'our process in all (every thread; floor: zstd)':46} {med(f[2] for f in floors):>7.2f} "
          f"{column(backups, lambda b: b['cpu_s']):>7} {column(befores, lambda b: b['cpu_s']):>7}")
    if floor_servers:
        floor_all = med(f[1] + f[2] + server for f, server in zip(floors, floor_servers, strict=True))
        print(f"  {'the server (COPY out; ours: + counts, catalog)':46} {med(floor_servers):>7.2f} "
              f"{column(backups, lambda b: b['server_cpu_s']):>7} {column(befores, lambda b: b['server_cpu_s']):>7}")
        print(f"  {'all CPU: server + pg_dump + the rest':46} {floor_all:>7.2f} "
              f"{column(backups, everything):>7} {column(befores, everything):>7}")
        print(f"  {'  as a ratio to the floor (load-independent)':46} {1.0:>7.2f} "
              f"{column(backups, lambda b: everything(b) / floor_all):>7} "
              f"{column(befores, lambda b: everything(b) / floor_all):>7}")
    print(f"  {'wall: dump + upload / read-back verify':46} {med(f[0] for f in floors):>7.1f} "
          f"{med(b['dump_upload_s'] for b in backups):>5.1f} / {med(b['verify_s'] for b in backups):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=2.0, help="database size to fill to (pg_database_size)")
    parser.add_argument("--pairs", type=int, default=2, help="alternating (floor, backup) pairs to time")
    parser.add_argument("--before", metavar="CHECKOUT",
                        help="also time the backup of an older checkout of this repository in every pair "
                             "(e.g. `git worktree add /tmp/before <commit>`), for before/after figures")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    from hv_pipelines.core.keyring import generate_hex_key
    from hv_pipelines.core.migrations import upgrade

    work = Path(tempfile.mkdtemp(prefix="hv-bench-backup-"))
    server, base, pgdata = None, os.environ.get("DATABASE_URL"), None
    if not base:
        from hv_pipelines.core.embedded import start_postgres

        server = start_postgres(work / "pg", cleanup_mode="delete")
        pgdata, base = server.pgdata, server.get_uri()
    names = [f"hv_bench_backup_{os.getpid()}", f"hv_bench_plain_{os.getpid()}", f"hv_bench_enc_{os.getpid()}"]
    url, plain_target, enc_target = (db.create_database(base, n) for n in names)
    key = generate_hex_key()
    env = {"BENCH_URL": url, "BENCH_KEY": key, "BENCH_OBJECTS": str(work / "objects")}
    try:
        upgrade(url, "head")
        major = server_major(db.server_version(url))
        pg_dump, pg_restore = find_tool("pg_dump", major).path, find_tool("pg_restore", major).path
        conninfo, tool_env = client_connection(url)

        print(f"filling to {args.gb / 4:.2f} GB ...", flush=True)
        g = fill(url, int(args.gb * 1e9 / 4), 1)
        small = run_child("backup", env)
        small_size = database_bytes(url)
        print(f"filling to {args.gb:.2f} GB ...", flush=True)
        fill(url, int(args.gb * 1e9), g)
        size = database_bytes(url)

        load_start = os.getloadavg()
        print(f"timing ... (load average {' '.join(f'{x:.2f}' for x in load_start)})", flush=True)
        # The floor does what ours does but encryption: pg_dump uncompressed, the same compressor (zstd -3,
        # one thread) as the pipeline's, nothing written. Floor and backup alternate, each after a CHECKPOINT,
        # the floor first in odd pairs and second in even ones.
        floors, backups, befores, floor_servers, loads = [], [], [], [], []
        sides = ("floor", "backup", "before") if args.before else ("floor", "backup")
        for pair in range(args.pairs):
            for side in sides if pair % 2 == 0 else reversed(sides):
                with db.connect(base, autocommit=True) as conn:
                    conn.execute("CHECKPOINT")
                served = server_cpu(pgdata)
                if side == "floor":
                    floors.append(timed_pipe([str(pg_dump), "-Fc", "-Z0", f"--dbname={conninfo}"],
                                             ["zstd", "-3", "-T1", "-c"], tool_env))
                    run = floor_servers
                elif side == "backup":
                    backups.append(run_child("backup", env))
                    run = backups[-1]
                else:
                    befores.append(run_child("backup", {**env, "BENCH_TREE": str(Path(args.before).resolve())}))
                    run = befores[-1]
                if served is not None:
                    if run is floor_servers:
                        floor_servers.append(server_cpu(pgdata) - served)
                    else:
                        run["server_cpu_s"] = server_cpu(pgdata) - served
            loads.append(os.getloadavg()[0])
            print(f"  pair {pair + 1}: floor {floors[-1][0]:.1f} s, backup + verify {backups[-1]['seconds']:.1f} s "
                  f"({backups[-1]['seconds'] / floors[-1][0]:.2f}x)"
                  + (f", before {befores[-1]['seconds']:.1f} s ({befores[-1]['seconds'] / floors[-1][0]:.2f}x)"
                     if befores else "")
                  + f"; load {loads[-1]:.2f}" + (" (noisy)" if loads[-1] > (os.cpu_count() or 1) else ""),
                  flush=True)
        zstd_floor = statistics.median(f[0] for f in floors)
        with open(os.devnull, "wb") as sink:
            floor = timed([str(pg_dump), "-Fc", "-Z0", f"--dbname={conninfo}"], tool_env, sink)
        plain_file = work / "plain.dump"
        with plain_file.open("wb") as out:
            plain = timed([str(pg_dump), "-Fc", f"--dbname={conninfo}"], tool_env, out)
        plain_bytes = plain_file.stat().st_size
        big = min(backups, key=lambda b: abs(b["seconds"] - statistics.median(b["seconds"] for b in backups)))
        plain_restore = timed([str(pg_restore), "--single-transaction", "--no-owner", "--no-privileges",
                               f"--dbname={client_connection(plain_target)[0]}", str(plain_file)], tool_env, None)
        restored = run_child("restore", {**env, "BENCH_BACKUP_ID": big["backup_id"], "BENCH_TARGET": enc_target})
        verified = run_child("verify", {**env, "BENCH_BACKUP_ID": big["backup_id"]})
    finally:
        for name in names:
            db.drop_database(base, name)
        if server is not None:
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"database {size / 1e9:.2f} GB; plain archive {plain_bytes / 1e9:.2f} GB; "
          f"encrypted object {big['bytes'] / 1e9:.2f} GB (dump {big['dump_bytes'] / 1e9:.2f} GB uncompressed)")
    load_end = os.getloadavg()[0]
    noisy = max(load_start[0], load_end) > (os.cpu_count() or 1)
    print(f"load average {load_start[0]:.2f} at the start of timing, {load_end:.2f} at the end")
    print(f"{'':44} {'seconds':>8} {'ratio':>7}" + ("   (noisy: load above the core count)" if noisy else ""))
    ratios = [b["seconds"] / f[0] for f, b in zip(floors, backups, strict=True)]
    ratio = statistics.median(ratios)
    quiet = [r for r, load in zip(ratios, loads, strict=True) if load <= (os.cpu_count() or 1)]
    print(f"{'pg_dump -Fc -Z0 | zstd -3 -T1 (honest floor)':44} {zstd_floor:>8.1f} {1.0:>6.2f}x   "
          f"median of {len(floors)}")
    print(f"{'encrypted backup + verify / honest floor':44} {big['seconds']:>8.1f} {ratio:>6.2f}x   "
          f"goal <= 1.3x ({'met' if ratio <= 1.3 else 'NOT met'}; median of the pairs' ratios; best "
          f"{min(ratios):.2f}x" + (f"; median of the {len(quiet)} pairs at load <= cores {statistics.median(quiet):.2f}x"
                                   if quiet else "; no pair at load <= cores") + ")")
    if befores:
        before_ratios = [b["seconds"] / f[0] for f, b in zip(floors, befores, strict=True)]
        print(f"{'  the same, --before checkout':44} {statistics.median(b['seconds'] for b in befores):>8.1f} "
              f"{statistics.median(before_ratios):>6.2f}x   best {min(before_ratios):.2f}x")
    print_profile(floors, backups, befores, floor_servers)
    print("ratios against the old baseline (pg_dump's own gzip), kept for one release:")
    rows = [
        ("pg_dump -Fc -Z0 > /dev/null", floor, floor / plain),
        ("pg_dump -Fc > file (baseline)", plain, 1.0),
        ("encrypted backup: dump + upload", big["dump_upload_s"], big["dump_upload_s"] / plain),
        ("encrypted backup: + read-back verify (total)", big["seconds"], big["seconds"] / plain),
        ("pg_restore of the plain archive (baseline)", plain_restore, 1.0),
        ("encrypted restore (verify first) + comparison", restored["seconds"], restored["seconds"] / plain_restore),
        ("  its verifying pass alone (backup verify)", verified["seconds"], verified["seconds"] / plain_restore),
    ]
    for label, seconds, ratio in rows:
        print(f"{label:44} {seconds:>8.1f} {ratio:>6.2f}x")
    print()
    print(f"peak RSS of the backup process: {small['peak_rss_mib']:.0f} MiB at {small_size / 1e9:.2f} GB, "
          f"{big['peak_rss_mib']:.0f} MiB at {size / 1e9:.2f} GB (goal <= 256 MB; x{big['peak_rss_mib'] / small['peak_rss_mib']:.2f})")
    print(f"peak RSS of the restore process: {restored['peak_rss_mib']:.0f} MiB; restore matched manifest: "
          f"{restored['matches']}; the verifying pass is {verified['seconds'] / restored['seconds']:.0%} of the "
          "restore's time")
    goal = big["seconds"] / plain
    print(f"goal backup <= 1.15x plain pg_dump -Fc: {goal:.2f}x ({'met' if goal <= 1.15 else 'NOT met'})")


if __name__ == "__main__":
    main()
