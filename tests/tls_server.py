"""A TLS-only PostgreSQL of a test module's own: the embedded server (core/embedded_server.py), whose
pg_hba.conf has `hostssl` lines only and no Unix socket, with a certificate from its local CA for
127.0.0.1 and localhost: what production's server looks like to the pipeline. A module gets its own
because some tests change its pg_hba.conf."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from hv_pipelines.core.embedded_server import EmbeddedServer, start_postgres


@dataclass(frozen=True)
class TlsServer:
    server: EmbeddedServer

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def ca_cert(self) -> Path:
        return self.server.ca_cert

    @property
    def passfile(self) -> Path:
        return self.server.passfile

    @property
    def pgdata(self) -> Path:
        return self.server.pgdata

    def url(self, database: str = "postgres", *, host: str = "localhost", ca: Path | None = None,
            hostaddr: str | None = None) -> str:
        """verify-full to `host` (with `hostaddr`, libpq connects there but checks the certificate for `host`)."""
        url = (f"postgresql://postgres@{host}:{self.port}/{database}?sslmode=verify-full"
               f"&sslrootcert={quote(str(ca or self.ca_cert))}&passfile={quote(str(self.passfile))}")
        return url + (f"&hostaddr={hostaddr}" if hostaddr else "")


@contextmanager
def tls_only_server() -> Iterator[TlsServer]:
    # Not under pytest's basetemp, which only root may enter: as root the server runs as its own OS user.
    server = start_postgres(Path(tempfile.mkdtemp(prefix="hv-tls-pg-")) / "pg", cleanup_mode="delete")
    try:
        yield TlsServer(server)
    finally:
        server.cleanup()
