"""`hv dev` (what `make dev` runs): the UI comes up with no DATABASE_URL, and Ctrl-C (SIGINT to the
whole process group, as a terminal sends it) leaves nothing it started running, idle or after a run."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the README promises for Ctrl-C; the measured time is printed (pytest -s) for the docs.
SHUTDOWN_LIMIT_SECONDS = 30


@pytest.fixture
def home():
    """HV_HOME for one `hv dev`: not under pytest's basetemp, whose root a concurrent pytest session
    resets to mode 0700, which the embedded PostgreSQL's own system user then cannot traverse."""
    path = Path(tempfile.mkdtemp(prefix="hv-test-dev-"))
    yield path / "hv-home"
    shutil.rmtree(path, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_mentioning(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, as ps reports them."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,stat=,args="], capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        pid, ppid, state, *args = line.split(None, 3)
        table[int(pid)] = (int(ppid), state, args[0] if args else "")
    return table


def _tree(root: int) -> dict[int, str]:
    """pid -> command line of `root` and everything below it."""
    table = _process_table()
    found, pending = {}, [root]
    while pending:
        pid = pending.pop()
        if pid in table:
            found[pid] = table[pid][2]
            pending.extend(child for child, (ppid, _, _) in table.items() if ppid == pid)
    return found


def _running(pids: dict[int, str]) -> dict[int, str]:
    """Those of `pids` still running (zombies, dead but unreaped by an init that never reaps, excluded)."""
    table = _process_table()
    return {pid: args for pid, args in pids.items() if pid in table and not table[pid][1].startswith("Z")}


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def _start_dev(home: Path, port: int, sigint: signal.Handlers = signal.SIG_DFL) -> subprocess.Popen:
    """`hv dev` in a process group of its own, SIGINT at its default as a terminal starts a foreground
    command, or ignored as a script's background `setsid make dev &` starts it (the issue's report)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"HV_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "hv_pipelines.cli", "dev", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))  # noqa: PLW1509


def _wait_for_ui(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as resp:
                assert json.load(resp)["dagster_version"] == "1.13.27"
            entries = _graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
            if entries["data"]["workspaceOrError"]["locationEntries"] == [
                    {"name": "hv_pipelines", "loadStatus": "LOADED"}]:
                return
        except OSError:
            pass
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the UI did not come up within 120 s"
        time.sleep(1)


def _stack(proc: subprocess.Popen, home: Path) -> dict[int, str]:
    """Every process the stack runs: `hv dev`'s tree and the embedded PostgreSQL's (the postmaster is
    started through pg_ctl, so it is not below `hv dev`)."""
    pids = _tree(proc.pid)
    postmaster = int((home / "postgresql" / "data" / "postmaster.pid").read_text().split()[0])
    return pids | _tree(postmaster)


def _ctrl_c_stops_everything(proc: subprocess.Popen, home: Path) -> tuple[float, str]:
    """Send SIGINT to the process group; return how long until nothing of the stack ran, and the output."""
    stack = _stack(proc, home)
    commands = "\n".join(stack.values())
    for part in ("dagster_webserver", "dagster._daemon", "code-server start", "api grpc", "postgres"):
        assert part in commands, f"{part} is not running before Ctrl-C:\n{commands}"
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to the foreground group
    output, _ = proc.communicate(timeout=SHUTDOWN_LIMIT_SECONDS * 2)
    while _running(stack) and time.monotonic() - started < 90:
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    assert _running(stack) == {}, f"still running after Ctrl-C:\n{_running(stack)}\n{output}"
    assert _processes_mentioning(str(home)) == []
    return elapsed, output


def _stop_on_failure(proc: subprocess.Popen, home: Path) -> None:
    """After a failed test: kill what `hv dev` left (Dagster runs in a process group of its own) and
    stop the embedded PostgreSQL (SIGINT: its fast shutdown), so no test leaves a server behind."""
    if proc.poll() is None:
        for pid in _tree(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    with contextlib.suppress(OSError, ValueError, IndexError):
        os.kill(int((home / "postgresql" / "data" / "postmaster.pid").read_text().split()[0]), signal.SIGINT)


@pytest.mark.slow
@pytest.mark.parametrize("sigint", [signal.SIG_DFL, signal.SIG_IGN], ids=["foreground", "started-by-a-script"])
def test_dev_serves_the_code_location_and_ctrl_c_stops_everything(home: Path, sigint: signal.Handlers) -> None:
    port = _free_port()
    proc = _start_dev(home, port, sigint)
    try:
        _wait_for_ui(proc, port)
        assert (home / "keys").is_dir() and (home / "postgresql" / "data").is_dir()
        elapsed, output = _ctrl_c_stops_everything(proc, home)
    finally:
        _stop_on_failure(proc, home)
    print(f"idle stack ({sigint.name} SIGINT inherited) stopped {elapsed:.1f} s after Ctrl-C")
    assert elapsed < SHUTDOWN_LIMIT_SECONDS, output
    assert "DEVELOPMENT encryption key" in output
    assert "embedded PostgreSQL stopped" in output


@pytest.mark.slow
def test_ctrl_c_right_after_a_run_stops_everything(home: Path) -> None:
    """The run goes through the webserver, the daemon's queue and a run worker below the code server,
    as `hv run` launches it; Ctrl-C comes as soon as it has finished."""
    port = _free_port()
    proc = _start_dev(home, port)
    try:
        _wait_for_ui(proc, port)
        env = os.environ | {"HV_DAGSTER_URL": f"http://127.0.0.1:{port}", "HV_HOME": str(home)}
        run = subprocess.run([sys.executable, "-m", "hv_pipelines.cli", "run", "migrate_and_seed"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0 and "success" in run.stdout, run.stdout + run.stderr
        elapsed, output = _ctrl_c_stops_everything(proc, home)
    finally:
        _stop_on_failure(proc, home)
    print(f"stack stopped {elapsed:.1f} s after Ctrl-C, right after a run")
    assert elapsed < SHUTDOWN_LIMIT_SECONDS, output
    assert "embedded PostgreSQL stopped" in output
