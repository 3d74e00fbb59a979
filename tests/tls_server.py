"""A PostgreSQL that accepts TLS only (`hostssl` lines, no `host`), on 127.0.0.1, with a certificate
from a local CA for the name `localhost`: what production's server looks like to the pipeline.

pgserver's PostgreSQL is built without SSL, so this is Debian's (`make test` installs postgresql-15),
run as the `postgres` OS user when the tests run as root (Debian's server refuses root)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hv_pipelines.core import tls

HBA = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n"


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca_cert: Path
    pgdata: Path

    def url(self, database: str = "postgres", *, host: str = "localhost", ca: Path | None = None) -> str:
        return (f"postgresql://postgres@{host}:{self.port}/{database}"
                f"?sslmode=verify-full&sslrootcert={ca or self.ca_cert}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def debian_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("the TLS tests need a PostgreSQL built with SSL: apt-get install postgresql-15 "
                           "(`make test` does)")
    return found[-1].parent


def _run(bin_dir: Path, tool: str, *args: str) -> None:
    command = [str(bin_dir / tool), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@contextmanager
def tls_only_server() -> Iterator[TlsServer]:
    bin_dir = debian_bin()
    home = Path(tempfile.mkdtemp(prefix="hv-tls-pg-"))
    home.chmod(0o755)
    pgdata = home / "data"
    pgdata.mkdir()
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if owner:
        os.chown(pgdata, owner.pw_uid, owner.pw_gid)
    _run(bin_dir, "initdb", "-D", str(pgdata), "--auth=trust", "--encoding=utf8", "-U", "postgres")
    files = tls.local_ca(home / "tls", ["localhost"])
    for source in (files.server_cert, files.server_key):
        target = pgdata / source.name
        shutil.copy(source, target)
        target.chmod(0o600)
        if owner:
            os.chown(target, owner.pw_uid, owner.pw_gid)
    (pgdata / "pg_hba.conf").write_text(HBA)
    port = _free_port()
    _run(bin_dir, "pg_ctl", "-D", str(pgdata), "-w", "-l", str(pgdata / "log"), "-o",
         f"-h 127.0.0.1 -p {port} -k {pgdata} -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key",
         "start")
    try:
        yield TlsServer(port, files.ca_cert, pgdata)
    finally:
        _run(bin_dir, "pg_ctl", "-D", str(pgdata), "-w", "-m", "fast", "stop")
        shutil.rmtree(home, ignore_errors=True)
