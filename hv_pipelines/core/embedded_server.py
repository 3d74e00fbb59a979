"""The embedded PostgreSQL 16 (`make dev`, the test suite): TLS only, verify-full, SCRAM passwords.

The binaries are the pinned build `make install` unpacks into `<venv>/postgresql-16`
(tools/install_postgresql.py), built with OpenSSL, so development connects the way production does:
every URL says `sslmode=verify-full` with the local CA of `core.tls`, and a wrong CA or host name
fails here as it would there. Under the server's directory (`.hv/postgresql` for `make dev`):

    data/        the cluster (initdb with data checksums), owned by the server's OS user
    tls/         the local CA (ca.crt; ca.key mode 0600) and the server certificate for 127.0.0.1/localhost
    passfile     libpq password file (0600): the generated password of `postgres` and of each dev login
    holders.json pids of the processes holding the server; the last one to let go stops it
    port         the port it last listened on, tried first at its next start

pg_hba.conf has `hostssl` lines with scram-sha-256 only, for 127.0.0.1 (databases and replication):
no `host` line, no trust. The server offers no Unix socket at all (`unix_socket_directories = ''`):
a socket would be a second way in that skips TLS, and nothing needs one (pg_ctl -w reads
postmaster.pid). PostgreSQL refuses to run as root; as root the server runs as the OS user of
core/pitr/cluster.py, as pgserver did before.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from hv_pipelines.core import tls
from hv_pipelines.core.child_env import child_env
from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.pitr.cluster import (
    as_server_user,
    free_port,
    hand_over,
    let_server_run,
    write_settings,
)

HOST = "127.0.0.1"
SUPERUSER = "postgres"
START_TIMEOUT_S = 120
HBA = """\
# Written by hv_pipelines: TLS and a SCRAM password are the only way in; no Unix socket is offered.
hostssl all         all 127.0.0.1/32 scram-sha-256
hostssl replication all 127.0.0.1/32 scram-sha-256
"""
SETTINGS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "ssl": "on",
    "ssl_cert_file": "server.crt",
    "ssl_key_file": "server.key",
    "ssl_min_protocol_version": "TLSv1.2",
    "password_encryption": "scram-sha-256",
}


def pg_bin_dir() -> Path:
    """The pinned PostgreSQL's bin directory (server and client tools), in this interpreter's virtualenv."""
    bin_dir = Path(sys.prefix) / "postgresql-16" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise ConfigurationError(f"no PostgreSQL in {bin_dir.parent}: run `make install` "
                                 "(tools/install_postgresql.py unpacks it), or set DATABASE_URL")
    return bin_dir


class EmbeddedServer:
    """A handle on the server under `root`: `get_uri()` while it runs, `cleanup()` to let go of it."""

    _handles: dict[Path, EmbeddedServer] = {}

    def __init__(self, root: Path, cleanup_mode: str | None) -> None:
        self.root = root
        self.pgdata = root / "data"
        self.ca_cert = root / "tls" / "ca.crt"
        self.passfile = root / "passfile"
        self.cleanup_mode = cleanup_mode
        self.port = 0
        self.bin_dir = pg_bin_dir()

    # --- holders -------------------------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        with (self.root / "lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _holders(self) -> list[int]:
        """The holders still running: a holder that was killed never let go, and must not keep the
        server up for ever."""
        try:
            pids = json.loads((self.root / "holders.json").read_text())
        except (OSError, ValueError):
            return []
        return [pid for pid in pids if isinstance(pid, int) and _running(pid)]

    def _set_holders(self, pids: list[int]) -> None:
        (self.root / "holders.json").write_text(json.dumps(pids))

    # --- life cycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        with self._locked():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            elif not self.passfile.exists() or not self.ca_cert.exists():
                raise ConfigurationError(f"{self.pgdata} holds a cluster this server did not make (no passfile or "
                                         f"CA next to it): move it away or delete {self.root}")
            self.port = self._running_port() or self._start()
            self._set_holders(sorted({*self._holders(), os.getpid()}))
        atexit.register(self.cleanup)

    def _pg(self, tool: str, *args: str, timeout: float = START_TIMEOUT_S + 10) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin_dir / tool), *args], capture_output=True, text=True, timeout=timeout,
                              cwd=self.root, env=child_env(), **as_server_user())

    def _initdb(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        self._write_passfile({SUPERUSER: password})
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.root / "initdb.pw"  # read by initdb as the server's user; removed at once
        pwfile.touch(mode=0o600)
        pwfile.write_text(password + "\n")
        for path in (self.pgdata, pwfile):
            hand_over(path)
        let_server_run(self.bin_dir / "postgres")
        let_server_run(self.pgdata)
        try:
            result = self._pg("initdb", "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={pwfile}",
                              "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--data-checksums",
                              "--encoding=UTF8", "--no-instructions")
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)  # initdb needs an empty directory the next time
            raise ConfigurationError(f"initdb failed in {self.pgdata}: {result.stderr.strip()[-400:]}")
        files = tls.local_ca(self.root / "tls", [HOST, "localhost"])
        for source in (files.server_cert, files.server_key):
            shutil.copyfile(source, self.pgdata / source.name)
            (self.pgdata / source.name).chmod(0o600)
        (self.pgdata / "pg_hba.conf").write_text(HBA)
        write_settings(self.pgdata, SETTINGS, file="postgresql.conf")
        hand_over(self.pgdata)

    def _running_port(self) -> int | None:
        """The port of a server already running on this data directory (another holder started it)."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, port, status = int(lines[0]), int(lines[3]), lines[7].strip()
        except (OSError, ValueError, IndexError):
            return None
        return port if _running(pid) and status == "ready" else None

    def _start(self) -> int:
        log = self.pgdata / "server.log"
        let_server_run(self.bin_dir / "postgres")  # a virtualenv made again since has its parents' modes anew
        try:  # the port of its last start: the URLs stay the same from one `make dev` to the next
            ports = [int((self.root / "port").read_text())]
        except (OSError, ValueError):
            ports = []
        for port in ports + [free_port() for _ in range(3)]:  # a port may be taken before the server binds it
            result = self._pg("pg_ctl", "-D", str(self.pgdata), "-l", str(log), "-o", f"-p {port}", "-w",
                              "-t", str(START_TIMEOUT_S), "start")
            if result.returncode == 0:
                (self.root / "port").write_text(f"{port}\n")
                return port
            if "could not bind" not in _tail(log):
                break
        raise ConfigurationError(f"the embedded PostgreSQL in {self.pgdata} did not start: {_tail(log)}")

    def restart(self) -> None:
        """Restart on the same port (benchmarks: empty shared buffers); the server log keeps its output."""
        result = self._pg("pg_ctl", "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"), "-m", "fast",
                          "-w", "-t", str(START_TIMEOUT_S), "restart")
        if result.returncode != 0:
            raise ConfigurationError(f"the embedded PostgreSQL in {self.pgdata} did not restart: "
                                     f"{_tail(self.pgdata / 'server.log')}")

    def stop(self) -> None:
        if self._running_port() is not None:
            self._pg("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop")

    def cleanup(self) -> None:
        """Let go of the server: the last holder stops it (and with cleanup_mode "delete" removes it)."""
        atexit.unregister(self.cleanup)
        if EmbeddedServer._handles.get(self.root) is self:
            del EmbeddedServer._handles[self.root]
        if not self.root.exists():
            return
        with self._locked():
            others = [pid for pid in self._holders() if pid != os.getpid()]
            self._set_holders(others)
            if others or self.cleanup_mode is None:
                return
            self.stop()
        if self.cleanup_mode == "delete":
            shutil.rmtree(self.root, ignore_errors=True)

    def get_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    # --- URLs and logins -----------------------------------------------------------------------------
    def get_uri(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        """The URL of `database` as `user`: TCP, verify-full against the local CA, password from the passfile."""
        return (f"postgresql://{quote(user)}@{HOST}:{self.port}/{quote(database)}?sslmode=verify-full"
                f"&sslrootcert={quote(str(self.ca_cert))}&passfile={quote(str(self.passfile))}")

    def password(self, user: str) -> str:
        """The password of login `user` from the passfile, generated (and stored) the first time."""
        passwords = self._passwords()
        if user not in passwords:
            passwords[user] = secrets.token_urlsafe(24)
            self._write_passfile(passwords)
        return passwords[user]

    def _passwords(self) -> dict[str, str]:
        passwords = {}
        for line in self.passfile.read_text().splitlines():
            _host, _port, _db, user, password = line.split(":", 4)
            passwords[user] = password
        return passwords

    def _write_passfile(self, passwords: dict[str, str]) -> None:
        self.passfile.touch(mode=0o600)
        self.passfile.chmod(0o600)  # libpq ignores a password file others can read
        self.passfile.write_text("".join(f"*:*:*:{user}:{password}\n" for user, password in passwords.items()))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(log: Path, lines: int = 3) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "no server log"


def start_postgres(root: Path, *, cleanup_mode: str | None = "stop") -> EmbeddedServer:
    """Start (or attach to) the embedded server under `root`, creating it the first time. One handle per
    server in a process; `cleanup_mode` "stop" stops it when the last holder lets go, "delete" also
    removes `root`, None leaves it running."""
    root = root.absolute()
    if root in EmbeddedServer._handles:
        return EmbeddedServer._handles[root]
    server = EmbeddedServer(root, cleanup_mode)
    root.mkdir(parents=True, exist_ok=True)
    server.start()
    EmbeddedServer._handles[root] = server
    return server


def _serve(root: Path) -> None:
    """`python -m hv_pipelines.core.embedded_server ROOT`: start a throw-away server, print its URL, and
    stop and remove it when stdin closes (tools/mutants.py, whose process must not import hv_pipelines)."""
    def stop(signum: int, _frame: object) -> None:
        # A stop signal to the whole process group reaches this process too, and PostgreSQL runs in a
        # session of its own (pg_ctl): unwind through the `finally` that stops it, once.
        for each in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(each, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    for each in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(each, stop)
    server = start_postgres(root, cleanup_mode="delete")
    print(server.get_uri(), flush=True)
    try:
        sys.stdin.read()
    finally:
        server.cleanup()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
