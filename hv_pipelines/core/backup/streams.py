"""The moving parts of a backup stream: client-tool processes, compression, metering, prefetch.

Everything here passes bounded pieces (compress/decompress: core.zstd_frames) (about a MiB) from one stage to the next, so the memory of a
backup or restore does not depend on the size of the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.settings import mask_url
from hv_pipelines.core.zstd_frames import PIECE_SIZE, compress, decompress  # noqa: F401 - compress, decompress re-exported

_STDERR_LINES = 8
# Lines PostgreSQL tools print that can quote row values (a unique-key DETAIL, a COPY CONTEXT line).
_MAY_QUOTE_DATA = ("DETAIL:", "CONTEXT:", "Key (", "Failing row")


class ToolError(HVError):
    """pg_dump or pg_restore failed; the message carries its (data-free) error lines."""


class ClientProcess:
    """A PostgreSQL client tool with a piped stdin or stdout and its stderr drained on a thread.

    Only the last few stderr lines are kept, with lines that may quote row data dropped, so the
    error that reaches the operator names the failing object but never its contents.
    """

    def __init__(self, args: list[str], env: dict[str, str], *, feeds_stdin: bool) -> None:
        self.name = Path(args[0]).name
        self._tail: deque[str] = deque(maxlen=_STDERR_LINES)
        self.proc = subprocess.Popen(
            args, env=env, stdin=subprocess.PIPE if feeds_stdin else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if feeds_stdin else subprocess.PIPE, stderr=subprocess.PIPE)
        self.cpu_seconds: float | None = None  # the tool's own user + system CPU, once finish() saw it exit
        _widen_pipe(self.proc.stdin if feeds_stdin else self.proc.stdout)
        self._drain = threading.Thread(target=self._read_stderr, name=f"{self.name}-stderr", daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line and not any(marker in line for marker in _MAY_QUOTE_DATA):
                self._tail.append(mask_url(line)[:300])

    def errors(self) -> str:
        self._drain.join(timeout=10)
        return " | ".join(self._tail) or "no error output"

    def finish(self, what_to_do: str) -> None:
        """Wait for the tool and raise ToolError (with `what_to_do`) when it did not succeed."""
        self.cpu_seconds = exited_cpu_seconds(self.proc.pid)
        code = self.proc.wait()
        if code != 0:
            raise ToolError(f"{self.name} exited with status {code}: {self.errors()} — {what_to_do}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._drain.join(timeout=10)

    def read_stdout(self) -> Iterator[bytes]:
        """The tool's stdout in pieces; killing the tool if the consumer stops early."""
        finished = False
        try:
            while piece := self.proc.stdout.read(PIECE_SIZE):
                yield piece
            finished = True
        finally:
            if not finished:
                self.kill()


def _widen_pipe(pipe) -> None:
    """Give a tool's pipe a piece's worth of buffer (Linux: 64 KiB by default), so the tool keeps writing
    while this process is busy with the previous piece instead of stalling every 64 KiB."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or above pipe-max-size: the default works
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIECE_SIZE)


def exited_cpu_seconds(pid: int) -> float | None:
    """The CPU time of child `pid` once it has exited, read before it is reaped (Linux; None elsewhere)."""
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError, IndexError):
        return None


class Meter:
    """Counts (and optionally hashes) the bytes that pass through it."""

    def __init__(self, *, sha256: bool = False) -> None:
        self.bytes = 0
        self._hash = hashlib.sha256() if sha256 else None

    def add(self, piece: bytes) -> bytes:
        self.bytes += len(piece)
        if self._hash is not None:
            self._hash.update(piece)
        return piece

    def through(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            yield self.add(piece)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest() if self._hash is not None else ""


class MeteredReader:
    """A file-like reader that meters what is read through it (the ciphertext checksum on read-back)."""

    def __init__(self, source, meter: Meter) -> None:
        self._source, self._meter = source, meter

    def read(self, size: int = -1, /) -> bytes:
        return self._meter.add(self._source.read(size))


_END = object()


def prefetch(pieces: Iterable[bytes], *, depth: int = 8, cpu: dict[str, float] | None = None,
             stage: str = "") -> Iterator[bytes]:
    """Run the producing pipeline on a thread, `depth` pieces ahead of the consumer.

    The consumer (an upload) blocks on the network while the producer (pg_dump, zstd, AES) keeps
    working; the queue bound keeps memory at `depth` pieces. An exception on either side stops the
    other: a producer failure is re-raised to the consumer, a consumer that stops closes the producer.
    zstd, AES-GCM, SHA-256 and pipe reads release the GIL, so stages chained through prefetch run on
    both cores. With `cpu`, the thread's CPU seconds are added to `cpu[stage]` when it ends (a profile).
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(pieces)
        started = time.thread_time()
        try:
            for piece in iterator:
                if not offer(piece):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the consumer thread, which re-raises it
            offer(exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            if cpu is not None:
                cpu[stage] = cpu.get(stage, 0.0) + time.thread_time() - started

    worker = threading.Thread(target=produce, name="backup-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
