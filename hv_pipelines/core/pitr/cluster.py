"""A PostgreSQL cluster on a data directory of ours: the restored server, the drill's scratch cluster.

PostgreSQL refuses to run as root. When hv runs as root (containers, `make dev` on a fresh machine)
the server runs as the `pgserver` OS user (the name pgserver gave it, kept so that data directories made
before keep their owner), the user the embedded server runs as too; the data
directory and everything the server must read (its settings, the archive's env file) are handed to
that user. The server listens on 127.0.0.1 and on a Unix socket in a private directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hv_pipelines.core.child_env import child_env
from hv_pipelines.core.errors import ConfigurationError, HVError

ROOT_SERVER_USER = "pgserver"
START_TIMEOUT_S = 120
SOCKET_PREFIX = "hvpg-"


class ClusterError(HVError):
    """A PostgreSQL server of ours did not start, stop or recover."""


def server_user() -> str | None:
    """The OS user the server runs as: `pgserver` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(ROOT_SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", ROOT_SERVER_USER], check=True,
                       capture_output=True)
    return ROOT_SERVER_USER


def as_server_user() -> dict:
    """subprocess arguments that run a child as the server's OS user (its own group, no root groups)."""
    user = server_user()
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def hand_over(path: Path) -> None:
    """Give `path` (recursively) to the server's OS user, so the server can read and write it."""
    user = server_user()
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def let_server_run(executable: Path) -> None:
    """Let the server's OS user run `executable` (the `hv` of archive_command and its interpreter).

    As root, an interpreter under /root (pyenv) is out of the server user's reach: grant traverse
    (o+x, not read) on each directory above it, as for the server's own binaries.
    """
    if server_user() is None:
        return
    for target in {executable.absolute(), executable.resolve()}:
        for directory in target.parents:
            info = directory.stat()
            # A server started with root's group (as pgserver did) needs the group bit too.
            wanted = stat.S_IXOTH | (stat.S_IXGRP if info.st_gid == 0 else 0)
            if info.st_mode & wanted != wanted:
                directory.chmod(stat.S_IMODE(info.st_mode) | wanted)


def scratch_dir(prefix: str) -> Path:
    """A new private directory the server's OS user owns (short, for the Unix socket path limit)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    hand_over(path)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _conf_value(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def write_settings(data_dir: Path, settings: dict[str, str], *, file: str = "postgresql.auto.conf") -> None:
    """Append `settings` to a configuration file of the cluster (later lines win)."""
    path = data_dir / file
    with path.open("a") as conf:
        conf.write("\n# written by hv_pipelines\n")
        for name, value in settings.items():
            conf.write(f"{name} = {_conf_value(str(value))}\n")
    hand_over(path)


@dataclass
class Cluster:
    """A data directory, the binaries that run it, and where it listens once started."""

    data_dir: Path
    bin_dir: Path
    port: int = field(default_factory=free_port)
    socket_dir: Path | None = None

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, args: list[str], *, check: bool = True, timeout: float | None = None):
        # The server pg_ctl starts inherits this environment: runtime variables only, none of our secrets.
        result = subprocess.run([str(self.bin_dir / tool), *args], cwd=self.data_dir.parent, capture_output=True,
                                text=True, timeout=timeout, env=child_env(), **as_server_user())
        if check and result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ClusterError(f"{tool} failed on {self.data_dir}: {' | '.join(tail)}{self._log_tail()}")
        return result

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return " — server log: " + " | ".join(text) if text else ""

    def initdb(self) -> None:
        """A new cluster (tests, benchmarks): trust authentication on loopback, user `postgres`."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        hand_over(self.data_dir)
        self._run("initdb", ["-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                             "--no-instructions"])

    def start(self, *, wait: bool = True) -> None:
        if self.socket_dir is None:
            self.socket_dir = scratch_dir(SOCKET_PREFIX)
        options = f"-p {self.port} -h 127.0.0.1 -k {self.socket_dir}"
        args = ["-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-t", str(START_TIMEOUT_S)]
        self._run("pg_ctl", [*args, "-w" if wait else "-W", "start"], timeout=START_TIMEOUT_S + 10)

    def is_running(self) -> bool:
        return self._run("pg_ctl", ["-D", str(self.data_dir), "status"], check=False).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (if it runs) and remove its private socket directory, also when another
        Cluster object started it (postmaster.pid names the directory)."""
        if self.socket_dir is None:
            self.socket_dir = self._pid_socket_dir()
        if self.data_dir.is_dir() and self.is_running():
            self._run("pg_ctl", ["-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop"], check=False)
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            self.socket_dir = None

    def _pid_socket_dir(self) -> Path | None:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4] else None
        return socket_dir if socket_dir is not None and socket_dir.name.startswith(SOCKET_PREFIX) else None

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def wait_until(self, predicate, what: str, timeout: float = 300.0) -> None:
        """Poll `predicate` (a connection to the server may still be refused) until true; ClusterError if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise ClusterError(f"the server on {self.data_dir} stopped while waiting for {what}{self._log_tail()}")
            try:
                if predicate():
                    return
            except Exception:  # noqa: BLE001 - not accepting connections yet
                pass
            time.sleep(0.2)
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}{self._log_tail()}")


def require_binary(bin_dir: Path, name: str) -> Path:
    path = bin_dir / name
    if not path.is_file():
        raise ConfigurationError(f"{name} not found in {bin_dir}: set HV_PG_BIN to the server's bin directory")
    return path
