"""Benchmark: PITR against the plain PostgreSQL tools, side by side in one run (not a timed test).

Starts a throw-away PostgreSQL 16 (pgserver's binaries) that archives with `hv wal push` into a local
store and, beside it, with `cp` into a plain directory (the same WAL, unencrypted, as the floor),
fills it with `pgbench -i` to --gb, runs a pgbench write load throughout, and prints from one run:

- base backup: `hv pitr base-backup` (pg_basebackup tar → zstd → envelope → store) over a plain
  `pg_basebackup -Ft -X none` to local disk, under the same load (goal ≤ 1.2×);
- WAL archiving: the most segments waiting (`.ready`) at any sample, and the archiver's failures;
- restore: `hv pitr restore --latest` over a plain untar of the plain base backup plus recovery of the
  same WAL with `restore_command = cp` (goal ≤ 1.2×);
- RPO: the server is killed with SIGKILL under load, `--latest` is restored from the archive, and the
  committed pgbench transactions missing from it are counted (against the killed server's own crash
  recovery), with how long before the kill the last restored one committed (goal: ≤ archive_timeout);
- peak RSS (VmHWM) of `hv wal push`, `hv pitr base-backup` and `hv pitr restore` (goal ≤ 256 MB).

pgBackRest is compared only when `pgbackrest` and Debian's PostgreSQL 15 are installed (it is not
on the project's machines: the line says so).

    .venv/bin/python bench/pitr.py --gb 2          # the issue's size
    .venv/bin/python bench/pitr.py --gb 0.2        # quicker
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hv_pipelines.core import db  # noqa: E402
from hv_pipelines.core.embedded import pg_bin_dir  # noqa: E402
from hv_pipelines.core.keyring import generate_hex_key  # noqa: E402
from hv_pipelines.core.pitr import local_archiving  # noqa: E402
from hv_pipelines.core.pitr.cluster import Cluster, hand_over, scratch_dir, write_settings  # noqa: E402

PGBENCH_SCALE_PER_GB = 68  # pgbench -i -s 1 is about 15 MB
MEASURED = ("import atexit, sys; sys.path.insert(0, {root!r}); from bench.rss import peak_rss_mib; "
            "atexit.register(lambda: print(f'PEAK_RSS {{peak_rss_mib():.1f}}', file=sys.stderr)); "
            "sys.argv = ['hv', *{args!r}]; from hv_pipelines.cli import main; main()")
ROOT = str(Path(__file__).resolve().parents[1])


def hv_measured(args: list[str], env: dict[str, str], **kwargs) -> tuple[float, float, str]:
    """Run `hv ARGS` in a child and return (wall seconds, its peak RSS MiB, stdout)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURED.format(root=ROOT, args=args)], env={**os.environ, **env},
                          capture_output=True, text=True, **kwargs)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"hv {' '.join(args)} failed: {done.stderr.strip()[-800:]}")
    peak = float(done.stderr.rsplit("PEAK_RSS ", 1)[1].split()[0])
    return wall, peak, done.stdout


class Load:
    """pgbench's TPC-B-like write load on a thread until stopped."""

    def __init__(self, bin_dir: Path, url: str) -> None:
        self.proc = subprocess.Popen([str(bin_dir / "pgbench"), "-c", "2", "-j", "1", "-T", "3600", "-n", url],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Backlog:
    """Samples the number of segments waiting to be archived, on a thread."""

    def __init__(self, url: str) -> None:
        self.max, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def _run(self, url: str) -> None:
        with db.connect(url, autocommit=True) as conn:
            while not self._stop.wait(0.5):
                try:
                    ready = conn.execute("SELECT count(*) FROM pg_ls_archive_statusdir() "
                                         "WHERE name LIKE '%.ready'").fetchone()[0]
                except Exception:  # noqa: BLE001 - the server was killed
                    return
                self.max = max(self.max, ready)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_promoted(cluster: Cluster) -> None:
    def promoted() -> bool:
        with db.connect(cluster.url(), autocommit=True) as conn:
            return not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]

    cluster.wait_until(promoted, "recovery", timeout=3600)


def count_history(url: str) -> tuple[int, object]:
    with db.connect(url) as conn:
        return conn.execute("SELECT count(*), max(mtime) FROM pgbench_history").fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=2.0, help="database size to generate (pgbench -i)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    options = parser.parse_args()
    bin_dir = pg_bin_dir()
    scratch = scratch_dir("hv-bench-pitr-")
    objects, plain_wal = scratch / "objects", scratch / "plain-wal"
    for directory in (objects, plain_wal):
        directory.mkdir()
        hand_over(directory)
    key = generate_hex_key()
    env = {"HV_OBJECT_STORE_URL": objects.as_uri(), "ENCRYPTION_KEY": key}
    command = local_archiving.prepare(scratch / "wal.env", objects, env)
    cluster = Cluster(scratch / "primary", bin_dir)
    cluster.initdb()
    write_settings(cluster.data_dir, {
        "wal_level": "replica", "archive_mode": "on", "archive_timeout": "60", "max_wal_size": "4GB",
        "archive_command": f"{command} && cp %p {plain_wal}/%f"})
    cluster.start()
    results: list[str] = []
    try:
        scale = max(1, round(options.gb * PGBENCH_SCALE_PER_GB))
        started = time.monotonic()
        subprocess.run([str(bin_dir / "pgbench"), "-i", "-q", "-s", str(scale), cluster.url()], check=True,
                       capture_output=True)
        with db.connect(cluster.url()) as conn:
            size = conn.execute("SELECT pg_database_size('postgres')").fetchone()[0]
        print(f"database: {size / 1e9:.2f} GB (pgbench scale {scale}) in {time.monotonic() - started:.0f}s")
        backlog = Backlog(cluster.url())
        load = Load(bin_dir, cluster.url())
        try:
            plain_dir = scratch / "plain-base"
            started = time.monotonic()
            subprocess.run([str(bin_dir / "pg_basebackup"), "-D", str(plain_dir), "-Ft", "-X", "none",
                            "--checkpoint=fast", "-d", cluster.url()], check=True, capture_output=True)
            plain_backup = time.monotonic() - started
            ours_backup, backup_rss, out = hv_measured(["pitr", "base-backup"], {**env, "DATABASE_URL": cluster.url()})
            results.append(f"base backup: hv {ours_backup:.1f}s / plain pg_basebackup -Ft {plain_backup:.1f}s = "
                           f"{ours_backup / plain_backup:.2f}x (goal <= 1.2x)")
            time.sleep(5)
        finally:
            load.stop()
        # One more segment so the plain and our archive both hold everything the load wrote.
        with db.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_switch_wal()")
            archived, failed = conn.execute("SELECT archived_count, failed_count FROM pg_stat_archiver").fetchone()
        time.sleep(3)
        backlog.stop()
        results.append(f"WAL archiving under pgbench: max backlog {backlog.max} segment(s) waiting, "
                       f"{archived} archived, {failed} failed attempts")

        # Restore: ours vs untar + recovery of the same WAL with cp.
        ours_dir = scratch / "restored-ours"
        ours_restore, restore_rss, out = hv_measured(["pitr", "restore", "--latest", "--data-dir", str(ours_dir)],
                                                     env)
        steps = out.strip().splitlines()[-1].strip()
        started = time.monotonic()
        floor = Cluster(scratch / "restored-plain", bin_dir)
        floor.data_dir.mkdir()
        with tarfile.open(plain_dir / "base.tar") as tar:
            tar.extractall(floor.data_dir, filter="data")
        write_settings(floor.data_dir, {"restore_command": f"cp {plain_wal}/%f %p", "archive_mode": "off",
                                        "recovery_target_action": "promote"})
        (floor.data_dir / "recovery.signal").touch()
        floor.data_dir.chmod(0o700)
        hand_over(floor.data_dir)
        floor.start()
        wait_promoted(floor)
        floor.stop()
        plain_restore = time.monotonic() - started
        results.append(f"restore --latest: hv {ours_restore:.1f}s / untar + cp recovery {plain_restore:.1f}s = "
                       f"{ours_restore / plain_restore:.2f}x (goal <= 1.2x; ours: {steps})")

        # RPO: kill -9 under load, restore --latest, count lost commits.
        load = Load(bin_dir, cluster.url())
        time.sleep(20)
        killed_at = time.time()
        os.kill(cluster.postmaster_pid(), signal.SIGKILL)
        load.stop()
        time.sleep(1)
        rpo_dir = scratch / "restored-rpo"
        hv_measured(["pitr", "restore", "--latest", "--data-dir", str(rpo_dir), "--start"], env)
        rpo_cluster = Cluster(rpo_dir, bin_dir)
        rpo_cluster.port = int((rpo_dir / "postmaster.pid").read_text().splitlines()[3])
        restored_count, restored_last = count_history(rpo_cluster.url())
        rpo_cluster.stop()
        for leftover in ("postmaster.pid",):
            (cluster.data_dir / leftover).unlink(missing_ok=True)
        cluster.start()  # crash recovery: every transaction the server had committed
        true_count, _ = count_history(cluster.url())
        behind = killed_at - restored_last.timestamp() if restored_last else float("nan")
        results.append(f"RPO after kill -9 under load: {true_count - restored_count} committed transaction(s) of "
                       f"{true_count} lost; the newest restored one committed {behind:.1f}s before the kill "
                       "(goal <= archive_timeout 60s)")

        # Peak RSS of one push, on a copy of a segment.
        segment = next(p for p in sorted((cluster.data_dir / "pg_wal").iterdir()) if len(p.name) == 24)
        copy = scratch / "copy" / "pg_wal" / segment.name
        copy.parent.mkdir(parents=True)
        shutil.copy(segment, copy)
        shutil.copytree(cluster.data_dir / "global", scratch / "copy" / "global")
        other = scratch / "objects-rss"
        push_s, push_rss, _ = hv_measured(["wal", "push", str(copy)], {**env, "HV_OBJECT_STORE_URL": other.as_uri()},
                                          cwd=scratch / "copy")
        results.append(f"peak RSS (goal <= 256 MB): wal push {push_rss:.0f} MB ({push_s:.2f}s wall incl. start-up), "
                       f"base-backup {backup_rss:.0f} MB, restore {restore_rss:.0f} MB")
        if shutil.which("pgbackrest") and Path("/usr/lib/postgresql/15/bin/postgres").exists():
            results.append("pgBackRest: installed, but this bench does not drive it yet")
        else:
            results.append("pgBackRest: not compared (pgbackrest and Debian's PostgreSQL 15 are not installed)")
    finally:
        cluster.stop("immediate")
        for name in ("restored-ours", "restored-plain", "restored-rpo"):
            Cluster(scratch / name, bin_dir).stop("immediate")
        if not options.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(results))


if __name__ == "__main__":
    main()
