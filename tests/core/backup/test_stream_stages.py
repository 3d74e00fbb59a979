"""The stages of a backup stream run on their own threads and report their CPU seconds.

A backup's time is split between pg_dump, reading its pipe, zstd and AES-GCM: these tests check the
figures the profile rests on (a child's own CPU, read before it is reaped; each prefetch thread's
CPU) and that a failure anywhere in a chain of threaded stages still reaches the consumer and stops
every thread.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import threading

import pytest

from hv_pipelines.core.backup.streams import PIECE_SIZE, ClientProcess, prefetch

BURN = "import hashlib, sys\nh = hashlib.sha256()\nfor _ in range(400): h.update(bytes(1 << 20))\nsys.stdout.write('x')"
SLEEP = "import sys, time\ntime.sleep(0.4)\nsys.stdout.write('x')"


def _run(code: str) -> ClientProcess:
    tool = ClientProcess([sys.executable, "-c", code], dict(os.environ), feeds_stdin=False)
    assert b"".join(tool.read_stdout()) == b"x"
    tool.finish("fix the test")
    return tool


def test_a_tools_cpu_seconds_are_its_own_not_its_wall_time():
    busy, idle = _run(BURN), _run(SLEEP)
    assert busy.cpu_seconds is not None and busy.cpu_seconds > 0.1, "400 MiB hashed costs CPU"
    assert idle.cpu_seconds is not None and idle.cpu_seconds < busy.cpu_seconds
    assert idle.cpu_seconds < 0.3, "0.4 s asleep is wall time, not CPU"


def test_a_tools_pipe_holds_a_whole_piece():
    tool = ClientProcess([sys.executable, "-c", SLEEP], dict(os.environ), feeds_stdin=False)
    try:
        with open("/proc/sys/fs/pipe-max-size") as limit:
            if int(limit.read()) < PIECE_SIZE:
                pytest.skip("pipe-max-size below a piece")
        assert fcntl.fcntl(tool.proc.stdout.fileno(), fcntl.F_GETPIPE_SZ) >= PIECE_SIZE
    finally:
        tool.kill()


def test_each_prefetch_stage_reports_its_own_thread_cpu():
    cpu: dict[str, float] = {}

    def hashed(pieces):
        for piece in pieces:
            yield hashlib.sha256(piece * 8).digest()

    source = (bytes(1 << 20) for _ in range(40))
    out = list(prefetch(hashed(prefetch(source, cpu=cpu, stage="read")), cpu=cpu, stage="hash"))
    assert len(out) == 40
    assert cpu["hash"] > cpu["read"] and cpu["hash"] > 0.05, "40 x 8 MiB hashed on its own thread"


def test_a_failure_deep_in_a_chain_of_stages_reaches_the_consumer_and_stops_every_thread():
    before = threading.active_count()

    def failing():
        yield b"first"
        raise OSError("the source broke")

    with pytest.raises(OSError, match="the source broke"):
        list(prefetch(prefetch(failing(), stage="read"), stage="seal"))
    assert threading.active_count() == before


def test_a_consumer_that_stops_early_stops_every_stage():
    before = threading.active_count()
    endless = (b"x" * 1024 for _ in iter(int, 1))
    chain = prefetch(prefetch(endless, stage="read"), stage="seal")
    assert next(chain) == b"x" * 1024
    chain.close()
    assert threading.active_count() == before
