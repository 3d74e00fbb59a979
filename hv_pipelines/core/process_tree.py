"""Stopping a process tree for good: every descendant, including the orphans it leaves behind (Linux).

A supervisor that only signals its child loses the grandchildren the child fails to stop: when the
child exits they are reparented to init and keep running (Dagster's code server and its gRPC
child did exactly that). A child subreaper receives those orphans instead of init, so every
process started below it stays findable in /proc as its descendant until it is stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
POLL_SECONDS = 0.05
KILL_WAIT_SECONDS = 2.0
PROC = Path("/proc")


def adopt_orphans() -> bool:
    """Make this process the child subreaper of everything started below it from now on; False when
    the kernel does not support it (then orphans go to init, as before)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process, from /proc/<pid>/stat."""
    parents: dict[int, int] = {}
    if not PROC.is_dir():  # not Linux: nothing adopted, nothing found
        return parents
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        state, ppid = stat[stat.rindex(")") + 2:].split(" ", 2)[:2]
        if state != "Z":
            parents[int(entry.name)] = int(ppid)
    return parents


def descendants(root: int) -> list[int]:
    """Every live process below `root` (children, their children, ...), parents before children."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, pending = [], list(children.get(root, []))
    while pending:
        pid = pending.pop(0)
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def reap_children() -> None:
    """Collect the exit status of every child that has exited (orphans adopted as subreaper too)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """Wait up to `seconds` for `pids` to exit (reaping our own children); the ones still running."""
    deadline = time.monotonic() + seconds
    while True:
        reap_children()
        running = [pid for pid in pids if alive(pid)]
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(POLL_SECONDS)


def stop_descendants(root: int, grace: float) -> int:
    """SIGTERM every descendant of `root`, then SIGKILL whatever still runs `grace` seconds later,
    including processes started meanwhile (a supervisor restarting a child it just lost). Returns
    how many processes were signalled."""
    deadline = time.monotonic() + grace
    sent: set[tuple[int, int]] = set()
    while targets := descendants(root):
        now = time.monotonic()
        if now > deadline + KILL_WAIT_SECONDS:  # only a process stuck in the kernel outlives SIGKILL
            break
        sig = signal.SIGTERM if now < deadline else signal.SIGKILL
        for pid in targets:
            if (pid, sig) not in sent:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                sent.add((pid, sig))
        wait_gone(targets, POLL_SECONDS)
    reap_children()
    return len({pid for pid, _ in sent})
