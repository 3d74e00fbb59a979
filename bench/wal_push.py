"""Benchmark: what one `hv wal push` costs per WAL segment, start-up included (not a timed test).

PostgreSQL runs archive_command once per 16 MiB segment, so a new Python process per segment: its
start-up bounds how fast one archiver can go. This bench archives --segments real segments of a
throw-away PostgreSQL 16 (copied out by `archive_command = cp`), then runs the installed `hv wal
push SEGMENT --env-file FILE` on each, one after the other as the archiver does, into a local
store, and prints per segment: the wall time, the CPU seconds (user + system, from the child's
rusage), the part the command itself reports (read, SHA-256, zstd, seal, fsync), and beside them a
bare `python -c pass` as the floor no Python command can go under. Then the same segments pushed
again (PostgreSQL re-pushes after a crash: each is read back and compared). The load average is
printed at the start and the end. `--beside HV` times another install's `hv` (an older checkout)
the same way, alternating segment by segment, into a store of its own.

    .venv/bin/python bench/wal_push.py --segments 20 [--beside /work/main/.venv/bin/hv]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hv_pipelines.core import db  # noqa: E402
from hv_pipelines.core.embedded import pg_bin_dir  # noqa: E402
from hv_pipelines.core.keyring import generate_hex_key  # noqa: E402
from hv_pipelines.core.pitr.cluster import Cluster, hand_over, scratch_dir, write_settings  # noqa: E402
from hv_pipelines.core.pitr.envfile import write_env_file  # noqa: E402

HV = Path(sys.executable).parent / "hv"


def loads() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, its stderr)."""
    started = time.monotonic()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {stderr.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


def archived_segments(scratch: Path, count: int) -> Path:
    """A directory laid out like a data directory (pg_wal/, global/) holding `count` finished segments."""
    copy = scratch / "copy"
    (copy / "pg_wal").mkdir(parents=True)
    hand_over(copy / "pg_wal")
    cluster = Cluster(scratch / "primary", pg_bin_dir())
    cluster.initdb()
    write_settings(cluster.data_dir, {"wal_level": "replica", "archive_mode": "on",
                                      "archive_command": f"cp %p {copy}/pg_wal/%f"})
    cluster.start()
    try:
        with db.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE TABLE filler (g int, m text)")
            for _ in range(count):
                conn.execute("INSERT INTO filler SELECT g, md5(g::text) FROM generate_series(1, 60000) g")
                conn.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 120
        while len(list((copy / "pg_wal").iterdir())) < count and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        cluster.stop()
    shutil.copytree(cluster.data_dir / "global", copy / "global")
    return copy


def row(what: str, walls: list[float], cpus: list[float], inner: list[float] | None = None) -> str:
    text = (f"{what:<66} wall median {statistics.median(walls) * 1000:5.0f} ms (min {min(walls) * 1000:4.0f})  "
            f"CPU median {statistics.median(cpus) * 1000:4.0f} ms")
    if inner:
        text += f"  in the command {statistics.median(inner):3.0f} ms"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--beside", type=Path, help="another `hv` to time the same way, alternating")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    options = parser.parse_args()
    scratch = scratch_dir("hv-bench-wal-push-")
    try:
        copy = archived_segments(scratch, options.segments)
        segments = sorted((copy / "pg_wal").iterdir())[: options.segments]
        key = generate_hex_key()
        commands = {}
        for number, hv in enumerate([HV, options.beside] if options.beside else [HV]):
            env_file = scratch / f"wal-{number}.env"
            write_env_file(env_file, {"HV_OBJECT_STORE_URL": (scratch / f"objects-{number}").as_uri(),
                                      "ENCRYPTION_KEY": key})
            commands[str(hv)] = (hv, env_file)
        print(f"{len(segments)} segments of 16 MiB; {loads()} at the start")
        floor = [timed([sys.executable, "-c", "pass"], copy)[:2] for _ in segments]
        results = {}
        for again in ("", ", again (already archived)"):
            for segment in segments:
                for name, (hv, env_file) in commands.items():
                    wall, cpu, err = timed([str(hv), "wal", "push", str(segment), "--env-file", str(env_file)], copy)
                    walls, cpus, inner = results.setdefault(f"{name} wal push{again}", ([], [], []))
                    walls.append(wall)
                    cpus.append(cpu)
                    inner.append(float(re.search(r" in (\d+) ms", err).group(1)))
        print(row("python -c pass (the floor)", *zip(*floor, strict=True)))
        for label, (walls, cpus, inner) in results.items():
            print(row(label, walls, cpus, inner))
        print(f"{loads()} at the end")
    finally:
        Cluster(scratch / "primary", pg_bin_dir()).stop("immediate")
        if not options.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
