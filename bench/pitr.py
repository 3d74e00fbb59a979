"""Benchmark: PITR against the plain PostgreSQL tools, side by side in one run (not a timed test).

Starts a throw-away PostgreSQL 16 (the embedded server's binaries) that archives with `hv wal push` into a local
store and, beside it, with `cp` into a plain directory (the same WAL, unencrypted, as the floor),
fills it with `pgbench -i` to --gb, runs a pgbench write load throughout, and prints from one run:

- base backup: `hv pitr base-backup` (pg_basebackup tar → zstd → envelope → store) over a plain
  `pg_basebackup -Ft -X none` to local disk, under the same load (goal ≤ 1.2×);
- WAL archiving: the most segments waiting (`.ready`) at any sample, and the archiver's failures;
- restore: `hv pitr restore --latest` over a plain untar (GNU tar) of the same base backup (its tar,
  decrypted beforehand, untimed) plus recovery of the same WAL with `restore_command = cp` (goal ≤
  1.2×), in --pairs pairs whose order alternates (ours first, then the floor first, ...; an
  `os.sync()` before each side)
  (the machine is shared: each pair is printed with the load averages, and the ratio of the best
  of each side is the figure);
- RPO: the server is killed with SIGKILL under load, `--latest` is restored from the archive, and the
  committed pgbench transactions missing from it are counted (against the killed server's own crash
  recovery), with how long before the kill the last restored one committed (goal: ≤ archive_timeout);
- peak RSS (VmHWM) of `hv wal push`, `hv pitr base-backup` and `hv pitr restore` (goal ≤ 256 MB).

When `pgbackrest` and Debian's PostgreSQL 15 are installed (`make bench-tools`), a second cluster,
PostgreSQL 15 this time (pgBackRest 2.45 supports no later one) and of the same size, archives with
both `hv wal push` and `pgbackrest archive-push`; with no load, one after the other, it times a full
backup (`hv pitr base-backup` vs `pgbackrest backup --type=full`, both zstd at --level and encrypted:
pgBackRest's repository cipher aes-256-cbc, one process) and a restore to the end of the archive
(`hv pitr restore --latest` vs `pgbackrest restore` plus starting the server until it has promoted),
and prints our ratio to it. Both run as the server's OS user.

    .venv/bin/python bench/pitr.py --gb 2          # the issue's size
    .venv/bin/python bench/pitr.py --gb 0.2        # quicker
    .venv/bin/python bench/pitr.py --gb 2 --pairs 3 --no-pgbackrest   # our figures only
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hv_pipelines.core import db  # noqa: E402
from hv_pipelines.core.embedded import pg_bin_dir  # noqa: E402
from hv_pipelines.core.keyring import Keyring, generate_hex_key  # noqa: E402
from hv_pipelines.core.pitr import basebackup, descriptor, local_archiving, sealed  # noqa: E402
from hv_pipelines.core.pitr.cluster import (  # noqa: E402
    Cluster,
    as_server_user,
    hand_over,
    scratch_dir,
    write_settings,
)
from hv_pipelines.core.pitr.inventory import read_state, resolve_system  # noqa: E402
from hv_pipelines.core.storage import LocalStore  # noqa: E402

PGBENCH_SCALE_PER_GB = 68  # pgbench -i -s 1 is about 15 MB
MEASURED = ("import atexit, sys; sys.path.insert(0, {root!r}); from bench.rss import peak_rss_mib; "
            "atexit.register(lambda: print(f'PEAK_RSS {{peak_rss_mib():.1f}}', file=sys.stderr)); "
            "sys.argv = ['hv', *{args!r}]; from hv_pipelines.cli import main; main()")
ROOT = str(Path(__file__).resolve().parents[1])
PG15 = Path("/usr/lib/postgresql/15/bin")
STANZA = "bench"


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's children that have been waited for, theirs included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU_SPENT: dict[str, float] = {}  # what each measured command cost in CPU seconds, by its words


def hv_measured(args: list[str], env: dict[str, str], **kwargs) -> tuple[float, float, str]:
    """Run `hv ARGS` in a child and return (wall seconds, its peak RSS MiB, stdout); its CPU (pg_basebackup and
    tar included) goes into CPU_SPENT."""
    started, cpu = time.monotonic(), children_cpu()
    done = subprocess.run([sys.executable, "-c", MEASURED.format(root=ROOT, args=args)], env={**os.environ, **env},
                          capture_output=True, text=True, **kwargs)
    wall = time.monotonic() - started
    CPU_SPENT[" ".join(args[:2])] = children_cpu() - cpu
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


def drain_archive(url: str, timeout: float = 1800) -> None:
    """Wait until no segment waits to be archived: pg_basebackup (-X none) and pgBackRest both wait at the
    end of a backup for its last segment to be archived, so a backlog left by `pgbench -i` would be
    charged to whichever backup runs first."""
    deadline = time.monotonic() + timeout
    with db.connect(url, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'").fetchone()[0]:
            if time.monotonic() > deadline:
                raise SystemExit("the archiver did not catch up with the WAL backlog in time")
            time.sleep(1)


def loads() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def untar_and_recover(base_tar: Path, data_dir: Path, bin_dir: Path, wal_dir: Path) -> float:
    """The floor: GNU tar of the plain base backup, recovery with `cp` from a plain WAL directory."""
    started = time.monotonic()
    floor = Cluster(data_dir, bin_dir)
    data_dir.mkdir()
    subprocess.run(["tar", "-x", "-f", str(base_tar), "-C", str(data_dir)], check=True)
    write_settings(data_dir, {"restore_command": f"cp {wal_dir}/%f %p", "archive_mode": "off",
                              "recovery_target_action": "promote"})
    (data_dir / "recovery.signal").touch()
    data_dir.chmod(0o700)
    hand_over(data_dir)
    floor.start()
    wait_promoted(floor)
    floor.stop()
    return time.monotonic() - started


def plain_tar_of_newest_backup(objects: Path, key: str, target: Path) -> None:
    """The tar inside the base backup `hv pitr restore --latest` restores, decrypted to `target` (untimed),
    so that the floor untars the same base backup and replays the same WAL. (A named plaintext file,
    allowed here only: the bench's data is pgbench's, and the plain base backup beside it is plaintext too.)"""
    store, keyring = LocalStore(objects), Keyring.from_hex(key)
    backup = read_state(store, keyring, resolve_system(store, None)).backups[-1]
    context = descriptor.object_context(backup.system_identifier, backup.backup_id)
    with closing(store.open(backup.object_key)) as body, target.open("wb") as out:
        for piece in sealed.open_sealed(body, keyring, context, what=backup.object_key)[1]:
            out.write(piece)


def restore_pairs(pairs: int, scratch: Path, env: dict[str, str], bin_dir: Path, base_tar: Path,
                  plain_wal: Path) -> tuple[list[str], float]:
    """Alternate ours and the floor `pairs` times; the lines to print and our peak RSS."""
    lines, ours_best, floor_best, peak = [], float("inf"), float("inf"), 0.0
    for number in range(pairs):
        ours_dir, floor_dir = scratch / "restored-ours", scratch / "restored-plain"
        for directory in (ours_dir, floor_dir):
            shutil.rmtree(directory, ignore_errors=True)
        before, start_load = loads(), os.getloadavg()[0]
        for side in ("ours", "floor") if number % 2 == 0 else ("floor", "ours"):  # alternating order
            os.sync()  # the other side's restored files written back: each side pays only for its own
            if side == "ours":
                ours, rss, out = hv_measured(["pitr", "restore", "--latest", "--data-dir", str(ours_dir)], env)
            else:
                cpu = children_cpu()
                plain = untar_and_recover(base_tar, floor_dir, bin_dir, plain_wal)
                plain_cpu = children_cpu() - cpu
        noisy = " noisy" if max(start_load, os.getloadavg()[0]) > (os.cpu_count() or 1) else ""
        ours_best, floor_best, peak = min(ours_best, ours), min(floor_best, plain), max(peak, rss)
        steps = out.strip().splitlines()[-1].strip()
        lines.append(f"  pair {number + 1}: hv {ours:.1f}s / untar + cp recovery {plain:.1f}s = {ours / plain:.2f}x "
                     f"({before} .. {loads()}{noisy}; {'hv' if number % 2 == 0 else 'floor'} first; "
                     f"client CPU hv {CPU_SPENT['pitr restore']:.1f}s / tar and pg_ctl "
                     f"{plain_cpu:.1f}s, the servers' own not counted; ours: {steps})")
    lines.insert(0, f"restore --latest, best of {pairs}: hv {ours_best:.1f}s / GNU tar + cp recovery "
                    f"{floor_best:.1f}s = {ours_best / floor_best:.2f}x (goal <= 1.2x)")
    return lines, peak


def pgbackrest(config: Path, *args: str) -> float:
    """Run `pgbackrest ARGS` as the server's OS user (it refuses to back up a cluster it does not own)."""
    started = time.monotonic()
    done = subprocess.run(["pgbackrest", f"--config={config}", f"--stanza={STANZA}", *args], capture_output=True,
                          text=True, **as_server_user())
    if done.returncode != 0:
        raise SystemExit(f"pgbackrest {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return time.monotonic() - started


def compare_pgbackrest(scratch: Path, scale: int, key: str, level: int) -> list[str]:
    """The same size of database on PostgreSQL 15, backed up and restored by us and by pgBackRest."""
    objects = scratch / "objects15"
    repo, work = scratch / "pgbackrest-repo", scratch / "pgbackrest-work"
    for directory in (objects, repo, work):
        directory.mkdir()
        hand_over(directory)
    env = {"HV_OBJECT_STORE_URL": objects.as_uri(), "ENCRYPTION_KEY": key}
    ours_push = local_archiving.prepare(scratch / "wal15.env", objects, env)
    cluster = Cluster(scratch / "pg15", PG15)
    cluster.initdb()
    cluster.socket_dir = scratch_dir("hvpg-")
    hand_over(cluster.socket_dir)
    config = scratch / "pgbackrest.conf"
    config.write_text("\n".join([
        "[global]", f"repo1-path={repo}", "repo1-cipher-type=aes-256-cbc", f"repo1-cipher-pass={key[:32]}",
        "compress-type=zst", f"compress-level={level}", "start-fast=y", "repo1-retention-full=9",
        f"log-path={work}", f"lock-path={work}", f"spool-path={work}", "log-level-console=warn",
        f"[{STANZA}]", f"pg1-path={cluster.data_dir}", f"pg1-port={cluster.port}",
        f"pg1-socket-path={cluster.socket_dir}", "pg1-user=postgres", ""]))
    hand_over(config)
    write_settings(cluster.data_dir, {
        "wal_level": "replica", "archive_mode": "on", "archive_timeout": "60", "max_wal_size": "4GB",
        "archive_command": f"{ours_push} && pgbackrest --config={config} --stanza={STANZA} archive-push %p"})
    cluster.start()
    subprocess.run([str(PG15 / "pgbench"), "-i", "-q", "-s", str(scale), cluster.url()], check=True,
                   capture_output=True)
    with db.connect(cluster.url()) as conn:
        size = conn.execute("SELECT pg_database_size('postgres')").fetchone()[0]
    pgbackrest(config, "stanza-create")
    drain_archive(cluster.url())
    before = loads()
    ours_backup, _, _ = hv_measured(["pitr", "base-backup", "--level", str(level)], {**env, "DATABASE_URL": cluster.url()})
    drain_archive(cluster.url())
    their_backup = pgbackrest(config, "backup", "--type=full")
    backup_loads = f"{before} .. {loads()}"
    subprocess.run([str(PG15 / "pgbench"), "-n", "-c", "2", "-T", "20", cluster.url()], check=True,
                   capture_output=True)
    with db.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("SELECT pg_switch_wal()")
    time.sleep(5)
    cluster.stop()
    before = loads()
    ours_restore, _, _ = hv_measured(["pitr", "restore", "--latest", "--data-dir", str(scratch / "pg15-ours")], env)
    theirs = Cluster(scratch / "pg15-pgbackrest", PG15)
    theirs.data_dir.mkdir()
    theirs.data_dir.chmod(0o700)
    hand_over(theirs.data_dir)
    started = time.monotonic()
    pgbackrest(config, "restore", f"--pg1-path={theirs.data_dir}", "--archive-mode=off")
    theirs.start()
    wait_promoted(theirs)
    theirs.stop()
    their_restore = time.monotonic() - started
    return [f"pgBackRest 2.45 on PostgreSQL 15, {size / 1e9:.2f} GB, no load, one after the other "
            f"(both zstd {level} and encrypted; pgBackRest one process):",
            f"  full backup: hv {ours_backup:.1f}s / pgbackrest {their_backup:.1f}s = "
            f"{ours_backup / their_backup:.2f}x ({backup_loads})",
            f"  restore to the end of the archive, server promoted: hv {ours_restore:.1f}s / pgbackrest restore "
            f"+ recovery {their_restore:.1f}s = {ours_restore / their_restore:.2f}x ({before} .. {loads()})"]


def count_history(url: str) -> tuple[int, object]:
    with db.connect(url) as conn:
        return conn.execute("SELECT count(*), max(mtime) FROM pgbench_history").fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=2.0, help="database size to generate (pgbench -i)")
    parser.add_argument("--level", type=int, default=basebackup.DEFAULT_LEVEL,
                        help="zstd level of both sides' base backups (default: hv's)")
    parser.add_argument("--pairs", type=int, default=3, help="alternating restore pairs (best of each side)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--no-pgbackrest", action="store_true",
                        help="skip the pgBackRest comparison (a second cluster: minutes) even when installed")
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
        drain_archive(cluster.url())
        backlog = Backlog(cluster.url())
        load = Load(bin_dir, cluster.url())
        try:
            plain_dir = scratch / "plain-base"
            before, started, cpu = loads(), time.monotonic(), children_cpu()
            subprocess.run([str(bin_dir / "pg_basebackup"), "-D", str(plain_dir), "-Ft", "-X", "none",
                            "--checkpoint=fast", "-d", cluster.url()], check=True, capture_output=True)
            plain_backup, plain_cpu = time.monotonic() - started, children_cpu() - cpu
            ours_backup, backup_rss, out = hv_measured(["pitr", "base-backup", "--level", str(options.level)], {**env, "DATABASE_URL": cluster.url()})
            results.append(f"base backup at zstd {options.level}: hv {ours_backup:.1f}s / plain pg_basebackup -Ft "
                           f"{plain_backup:.1f}s = {ours_backup / plain_backup:.2f}x (goal <= 1.2x; {before} .. "
                           f"{loads()}); client CPU hv {CPU_SPENT['pitr base-backup']:.1f}s (pg_basebackup "
                           f"included) / plain pg_basebackup {plain_cpu:.1f}s")
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

        # Restore: ours vs untar + recovery of the same WAL with cp, alternating.
        # The floor untars the very base backup ours restores (its plaintext), and replays the same WAL:
        # the plain pg_basebackup above started earlier, so recovering from it would replay more WAL.
        same_tar = scratch / "same-base.tar"
        plain_tar_of_newest_backup(objects, key, same_tar)
        lines, restore_rss = restore_pairs(options.pairs, scratch, env, bin_dir, same_tar, plain_wal)
        results.extend(lines)

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
        if options.no_pgbackrest:
            results.append("pgBackRest: not compared (--no-pgbackrest)")
        elif shutil.which("pgbackrest") and (PG15 / "postgres").exists():
            cluster.stop("immediate")
            results.extend(compare_pgbackrest(scratch, scale, key, options.level))
        else:
            results.append("pgBackRest: not compared (pgbackrest and Debian's PostgreSQL 15 are not installed: "
                           "make bench-tools)")
    finally:
        cluster.stop("immediate")
        for name in ("restored-ours", "restored-plain", "restored-rpo", "pg15", "pg15-ours", "pg15-pgbackrest"):
            Cluster(scratch / name, PG15 if name.startswith("pg15") else bin_dir).stop("immediate")
        if not options.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"{loads()} at the end")
    print("\n".join(results))


if __name__ == "__main__":
    main()
