"""Benchmark: where a restore's time goes before recovery starts (not a timed test).

Starts a throw-away PostgreSQL 16 archiving with `hv wal push`, fills it with `pgbench -i` to --gb,
takes a plain `pg_basebackup -Ft -X none` to disk and two `take_base_backup`s (manifest checksums
SHA-256, as base backups now take, and CRC32C, pg_basebackup's default and older backups'), and
prints, alternating --rounds times, each stage alone with its wall time, CPU seconds (this process
and its children: tar, pg_verifybackup) and the load average:

- decrypt + zstd of the sealed object (read from the page cache), content thrown away;
- extraction as restore does it (decrypt + zstd, member checks, GNU tar), with and without hashing
  each file as it streams (SHA-256), beside GNU tar of the plain tar (the floor's extraction);
- `pg_verifybackup --no-parse-wal` reading every file back (CRC32C and SHA-256 manifests), and with
  `--skip-checksums` (what follows the in-stream check), and the in-stream comparison itself;
- the WAL recovery asks for, --segments of them: fetched as the restore's spool does
  (`archive.fetch`: decrypt, zstd, SHA-256 against the binding, write and fsync), the same without
  the fsync, and `sh -c 'cp ...'` per segment from a plain copy of the WAL (the floor's restore_command).

    .venv/bin/python bench/restore_stages.py --gb 2
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hv_pipelines.core.embedded import pg_bin_dir  # noqa: E402
from hv_pipelines.core.keyring import Keyring, generate_hex_key  # noqa: E402
from hv_pipelines.core.pitr import (  # noqa: E402
    archive,
    basebackup,
    descriptor,
    local_archiving,
    manifest,
    sealed,
    untar,
)
from hv_pipelines.core.pitr.cluster import Cluster, hand_over, scratch_dir, write_settings  # noqa: E402
from hv_pipelines.core.pitr.descriptor import BaseBackup  # noqa: E402
from hv_pipelines.core.storage import LocalStore  # noqa: E402

PGBENCH_SCALE_PER_GB = 68


def loads() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def cpu_now() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, work: Callable[[], object]) -> object:
    before, started, cpu = loads(), time.monotonic(), cpu_now()
    result = work()
    print(f"  {label:<58} {time.monotonic() - started:6.2f}s  CPU {cpu_now() - cpu:6.2f}s  ({before})", flush=True)
    return result


def one_round(store: LocalStore, keyring: Keyring, sha: BaseBackup, crc: BaseBackup, plain_tar: Path, scratch: Path,
              verifybackup: Path) -> None:
    def content(backup: BaseBackup, body) -> Iterator[bytes]:
        context = descriptor.object_context(backup.system_identifier, backup.backup_id)
        return sealed.open_sealed(body, keyring, context, what=backup.object_key)[1]

    def decrypt_only() -> None:
        with closing(store.open(sha.object_key)) as body:
            for _ in content(sha, body):
                pass

    def extract(backup: BaseBackup, target: Path, digest: str | None) -> untar.MemberCheck:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        with closing(store.open(backup.object_key)) as body:
            return untar.extract_tar(content(backup, body), target, what=backup.object_key, digest=digest)

    def verify(target: Path, *extra: str) -> None:
        subprocess.run([str(verifybackup), "--no-parse-wal", "--quiet", *extra, str(target)], check=True)

    def floor() -> None:
        shutil.rmtree(scratch / "floor", ignore_errors=True)
        (scratch / "floor").mkdir()
        subprocess.run(["tar", "-x", "-f", str(plain_tar), "-C", str(scratch / "floor")], check=True)

    timed("decrypt + zstd only", decrypt_only)
    timed("extract, no hashing (CRC32C backup)", lambda: extract(crc, scratch / "crc", None))
    check = timed("extract, SHA-256 of each file as it streams", lambda: extract(sha, scratch / "sha", "sha256"))
    timed("GNU tar -x of the plain tar (the floor)", floor)
    timed("pg_verifybackup, every file read back (CRC32C)", lambda: verify(scratch / "crc"))
    timed("pg_verifybackup, every file read back (SHA-256)", lambda: verify(scratch / "sha"))
    timed("in-stream digests against the manifest (SHA-256)",
          lambda: manifest.compare((scratch / "sha" / "backup_manifest").read_bytes(), check.digests, "SHA256",
                                   what=sha.object_key))
    timed("pg_verifybackup --skip-checksums", lambda: verify(scratch / "sha", "--skip-checksums"))


def wal_round(store: LocalStore, keyring: Keyring, system: str, names: list[str], plain_wal: Path,
              scratch: Path) -> None:
    spool = scratch / "spool"

    def fetch(sync: bool) -> None:
        shutil.rmtree(spool, ignore_errors=True)
        spool.mkdir()
        for name in names:
            if sync:
                archive.fetch(name, spool / name, store, keyring, system)
                continue
            key = archive.wal_key(system, name)
            with closing(store.open(key)) as body:
                binding, content = sealed.open_sealed(body, keyring, archive.wal_context(system, name), what=key)
                data = b"".join(content)
            assert hashlib.sha256(data).hexdigest() == binding["sha256"]
            (spool / name).write_bytes(data)

    def copy() -> None:
        shutil.rmtree(spool, ignore_errors=True)
        spool.mkdir()
        for name in names:
            subprocess.run(["sh", "-c", f"cp {plain_wal}/{name} {spool}/{name}"], check=True)

    timed(f"{len(names)} WAL segments as the spool fetches them (with fsync)", lambda: fetch(True))
    timed(f"{len(names)} WAL segments, the same without the fsync", lambda: fetch(False))
    timed(f"{len(names)} WAL segments by `sh -c cp` (the floor)", copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=0.5, help="pgbench size to generate")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--segments", type=int, default=60, help="WAL segments fetched per WAL stage")
    options = parser.parse_args()
    scratch = scratch_dir("hv-bench-restore-stages-")
    objects = scratch / "objects"
    objects.mkdir()
    hand_over(objects)
    key = generate_hex_key()
    command = local_archiving.prepare(scratch / "wal.env", objects,
                                      {"HV_OBJECT_STORE_URL": objects.as_uri(), "ENCRYPTION_KEY": key})
    plain_wal = scratch / "plain-wal"
    plain_wal.mkdir()
    hand_over(plain_wal)
    cluster = Cluster(scratch / "primary", pg_bin_dir())
    cluster.initdb()
    write_settings(cluster.data_dir, {"wal_level": "replica", "archive_mode": "on", "max_wal_size": "4GB",
                                      "archive_command": f"{command} && cp %p {plain_wal}/%f"})
    cluster.start()
    try:
        scale = max(1, round(options.gb * PGBENCH_SCALE_PER_GB))
        subprocess.run([str(cluster.bin_dir / "pgbench"), "-i", "-q", "-s", str(scale), cluster.url()], check=True,
                       capture_output=True)
        store, keyring = LocalStore(objects), Keyring.from_hex(key)
        backups = {checksums: basebackup.take_base_backup(cluster.url(), store, keyring, manifest_checksums=checksums)
                   for checksums in ("SHA256", "CRC32C")}
        plain = scratch / "plain"
        subprocess.run([str(cluster.bin_dir / "pg_basebackup"), "-D", str(plain), "-Ft", "-X", "none",
                        "--checkpoint=fast", "-d", cluster.url()], check=True, capture_output=True)
    finally:
        cluster.stop("immediate")
    names = sorted(p.name for p in plain_wal.iterdir() if len(p.name) == 24)[:options.segments]
    print(f"tar {backups['SHA256'].tar_bytes / 1e9:.2f} GB (pgbench scale {scale}), object "
          f"{backups['SHA256'].object_bytes / 1e6:.0f} MB; {loads()} at the start; wall, CPU (ours and children's):")
    try:
        for number in range(options.rounds):
            print(f"round {number + 1}:")
            one_round(store, keyring, backups["SHA256"], backups["CRC32C"], plain / "base.tar", scratch,
                      cluster.bin_dir / "pg_verifybackup")
            wal_round(store, keyring, backups["SHA256"].system_identifier, names, plain_wal, scratch)
        print(f"{loads()} at the end")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
