"""tools/mutants.py (`make mutants`) stopped by a signal to its whole process group, as a terminal's
Ctrl-C or a supervisor stops it, in the middle of a real mutmut run: no PostgreSQL it started survives,
and its scratch directory is gone. The server runs in a session of its own (pg_ctl), so the group's
signal never reaches it: only the script can stop it.

The run is a real one, of one seed mutant against one test that migrates a database (seconds), in a copy of the repository: the
script replaces `mutants/` under its own root, which must not be a developer's results.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hv_pipelines.core.embedded_server import EmbeddedServer

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 240


def _copy_of_repository(target: Path) -> Path:
    """The tracked files (the script, the package, the tests, pyproject's [tool.mutmut]), without mutants/."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def _postgres_of(root: Path) -> list[int]:
    """Processes whose command line names a directory under `root` (a server started from there)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and "postgres" in cmdline and str(root) in cmdline:
            found.append(int(proc.name))
    return found


def _wait_for(run: subprocess.Popen, condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert run.poll() is None, f"the run ended before {what}: {run.stdout.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, f"{what} within {WAIT_S}s"
        time.sleep(0.2)


@pytest.fixture
def work_dir() -> Path:
    """Not tmp_path: pytest-of-<user> is shared with every other pytest session of the user, which may
    prune it under a running server."""
    path = Path(tempfile.mkdtemp(prefix="hv-test-mutants-stop-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_process_group_mid_run_stops_the_postgresql_it_started(work_dir, stop):
    repo = _copy_of_repository(work_dir / "repo")
    scratch = work_dir / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("HV_TEST_DATABASE_URL", "DATABASE_URL")}
    env["TMPDIR"] = str(scratch)
    run = subprocess.Popen(
        [sys.executable, str(repo / "tools" / "mutants.py"), "--group", "seed", "--max-children", "1",
         "--tests", "tests/core/test_seed.py::test_fresh_database_gets_the_expected_rows",
         "hv_pipelines.core.seed_tables.x_plan__mutmut_1"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)  # a process group of its own, as a terminal gives a foreground job
    servers = []
    try:
        # mutmut has started (the script marks mutants/ just before) and the server is up.
        _wait_for(run, lambda: (repo / "mutants" / ".hv-modules").exists() and list(scratch.glob("*/pg/data/postmaster.pid"))
                  and _postgres_of(scratch), "the server ran and mutmut started")
        servers = [path.parents[1] for path in scratch.glob("*/pg/data/postmaster.pid")]
        assert run.poll() is None, "the run ended before it was stopped: pick a slower selection"
        os.killpg(run.pid, stop)
        output = run.communicate(timeout=WAIT_S)[0].decode(errors="replace")
        assert run.returncode != 0  # stopped, not finished
        deadline = time.monotonic() + 10
        while _postgres_of(scratch) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _postgres_of(scratch) == [], output[-2000:]
        assert list(scratch.iterdir()) == [], "the server's scratch directory is removed"
        if stop != signal.SIGINT:  # Ctrl-C: Python's KeyboardInterrupt may reach mutmut's handler first
            assert f"error: stopped by {stop.name}; the mutants run so far are in mutants/" in output
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        for root in servers:  # what a failing run left: stop it, as the test started it
            if root.exists():
                EmbeddedServer(root, None).stop()
