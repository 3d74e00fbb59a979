"""Benchmark: where a base backup's CPU goes, and what its zstd level costs (not a timed test).

Starts a throw-away PostgreSQL 16 archiving with `hv wal push`, fills it with `pgbench -i` to --gb
(with --text, also a table of notes: hex digests, numbers, timestamps, which compress far less than
pgbench's rows), and prints from one run:

- side by side, alternating --rounds times: a plain `pg_basebackup -Ft -X none` to local disk, and
  `take_base_backup` (pg_basebackup tar → tap → zstd → envelope → local store) at zstd levels 1 and 3;
  each with its wall time, the CPU seconds of pg_basebackup (the client) and of our pipeline (this
  process), and the load average (the server's own CPU, the same for all, is not counted);
- CPU seconds per stage of the pipeline, each stage run alone over the plain backup's tar (read from
  the page cache): the tar tap, zstd at levels 1 and 3 (with the compressed size), the envelope
  (AES-256-GCM over the compressed bytes), SHA-256 of the object, and writing it with fsync.

    .venv/bin/python bench/basebackup_stages.py --gb 0.5 [--text] [--load]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hv_pipelines.core import db  # noqa: E402
from hv_pipelines.core.embedded import pg_bin_dir  # noqa: E402
from hv_pipelines.core.envelope import encrypt_stream  # noqa: E402
from hv_pipelines.core.keyring import Keyring, generate_hex_key  # noqa: E402
from hv_pipelines.core.pitr import basebackup, local_archiving  # noqa: E402
from hv_pipelines.core.pitr.cluster import Cluster, hand_over, scratch_dir, write_settings  # noqa: E402
from hv_pipelines.core.pitr.tartap import TarTap  # noqa: E402
from hv_pipelines.core.storage import LocalStore  # noqa: E402
from hv_pipelines.core.zstd_frames import compress  # noqa: E402

PGBENCH_SCALE_PER_GB = 68
NOTES = ("CREATE TABLE notes AS SELECT g, md5(g::text) || ' ' || md5((g * 7)::text) || ' reported ' || "
         "(random() * 1000)::int || ' mg ' || md5(random()::text) AS note, now() - random() * interval '900 days' "
         "AS noted_at FROM generate_series(1, {rows}) g")


def loads() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ready(url: str) -> int:
    with db.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'").fetchone()[0]


def pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while piece := source.read(1024 * 1024):
            yield piece


def stage(label: str, stream: Iterable[bytes]) -> bytes | None:
    """Run `stream` to its end on this thread; print its CPU seconds and output size."""
    cpu, size = time.thread_time(), 0
    for piece in stream:
        size += len(piece)
    print(f"  {label:<44} CPU {time.thread_time() - cpu:6.2f}s  out {size / 1e6:8.1f} MB")


def side_by_side(cluster: Cluster, scratch: Path, store: LocalStore, keyring: Keyring, rounds: int) -> Path:
    print("side by side (wall; CPU of pg_basebackup / of our pipeline):")
    plain = scratch / "plain"
    for _ in range(rounds):
        for level in (None, 1, 3):
            while ready(cluster.url()):  # both wait at their end for the archiver: start with nothing waiting
                time.sleep(0.5)
            before, started, client, ours = loads(), time.monotonic(), children_cpu(), time.process_time()
            if level is None:
                shutil.rmtree(plain, ignore_errors=True)
                subprocess.run([str(cluster.bin_dir / "pg_basebackup"), "-D", str(plain), "-Ft", "-X", "none",
                                "--checkpoint=fast", "-d", cluster.url()], check=True, capture_output=True)
            else:
                basebackup.take_base_backup(cluster.url(), store, keyring, level=level)
            wall, client, ours = time.monotonic() - started, children_cpu() - client, time.process_time() - ours
            what = "plain pg_basebackup -Ft to disk" if level is None else f"hv base backup, zstd {level}"
            print(f"  {what:<32} {wall:6.1f}s  CPU {client:5.2f}s / {ours:5.2f}s  ({before})")
    return plain / "base.tar"


def stages(tar: Path, keyring: Keyring, scratch: Path) -> None:
    print(f"per stage, alone, over the {tar.stat().st_size / 1e9:.2f} GB tar:")
    stage("read (the floor of every line below)", pieces(tar))
    stage("tar tap (backup_label, backup_manifest)", TarTap({"backup_label", "backup_manifest"}).through(pieces(tar)))
    for level in (1, 3):
        stage(f"zstd {level}", compress(pieces(tar), level=level))
    compressed = scratch / "compressed"
    with compressed.open("wb") as out:
        for piece in compress(pieces(tar), level=1):
            out.write(piece)
    stage("envelope (AES-256-GCM) of the zstd 1 output", encrypt_stream(pieces(compressed), keyring))

    def hashed() -> Iterator[bytes]:
        digest = hashlib.sha256()
        for piece in pieces(compressed):
            digest.update(piece)
            yield piece

    stage("SHA-256 of the zstd 1 output", hashed())
    cpu = time.thread_time()
    store = LocalStore(scratch / "write-test")
    store.put_stream("object", pieces(compressed))
    print(f"  {'write it to the store with fsync':<44} CPU {time.thread_time() - cpu:6.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=0.5, help="pgbench size to generate")
    parser.add_argument("--text", action="store_true", help="add a table of notes as large as the pgbench data")
    parser.add_argument("--load", action="store_true", help="run pgbench -c 2 during the side-by-side backups")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    scratch = scratch_dir("hv-bench-stages-")
    objects = scratch / "objects"
    objects.mkdir()
    hand_over(objects)
    key = generate_hex_key()
    command = local_archiving.prepare(scratch / "wal.env", objects,
                                      {"HV_OBJECT_STORE_URL": objects.as_uri(), "ENCRYPTION_KEY": key})
    cluster = Cluster(scratch / "primary", pg_bin_dir())
    cluster.initdb()
    write_settings(cluster.data_dir, {"wal_level": "replica", "archive_mode": "on", "archive_command": command,
                                      "max_wal_size": "4GB"})
    cluster.start()
    load = None
    try:
        scale = max(1, round(options.gb * PGBENCH_SCALE_PER_GB))
        subprocess.run([str(cluster.bin_dir / "pgbench"), "-i", "-q", "-s", str(scale), cluster.url()], check=True,
                       capture_output=True)
        if options.text:
            with db.connect(cluster.url(), autocommit=True) as conn:
                conn.execute(NOTES.format(rows=int(options.gb * 4_000_000)))
        with db.connect(cluster.url()) as conn:
            size = conn.execute("SELECT pg_database_size('postgres')").fetchone()[0]
        print(f"database: {size / 1e9:.2f} GB (pgbench scale {scale}{', notes' if options.text else ''}); "
              f"{loads()} at the start")
        if options.load:
            load = subprocess.Popen([str(cluster.bin_dir / "pgbench"), "-c", "2", "-j", "1", "-T", "3600", "-n",
                                     cluster.url()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        keyring = Keyring.from_hex(key)
        tar = side_by_side(cluster, scratch, LocalStore(objects), keyring, options.rounds)
        if load is not None:
            load.send_signal(signal.SIGINT)
            load.wait(30)
            load = None
        stages(tar, keyring, scratch)
        print(f"{loads()} at the end")
    finally:
        if load is not None:
            load.kill()
        cluster.stop("immediate")
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
