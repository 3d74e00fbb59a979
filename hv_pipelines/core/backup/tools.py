"""The PostgreSQL client tools a backup runs: the `pg_dump`/`pg_restore` that match the server.

`pg_dump` refuses to dump a server newer than itself, and an archive written by a newer `pg_dump`
cannot be read by an older `pg_restore`; an older client would also silently miss newer catalog
features. So the tool is chosen by major version among every installation on the machine:
`HV_PG_BIN` first (what `hv dev` exports), the embedded server's own binaries (`make install`'s), Debian's
`/usr/lib/postgresql/<major>/bin`, then `PATH`. An exact major match wins, else the oldest newer one.

Credentials never reach the command line (where `ps` shows them): the password goes to the child
through `PGPASSWORD` and the connection string it is given has none. Nor does any other secret of
this process reach the tools: their environment is built by `core.child_env` (runtime and libpq
variables only), never inherited.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hv_pipelines.core import db
from hv_pipelines.core.child_env import child_env
from hv_pipelines.core.errors import ConfigurationError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
DEBIAN_ROOT = Path("/usr/lib/postgresql")


@dataclass(frozen=True)
class PgTool:
    path: Path
    major: int
    version: str


def _candidate_dirs() -> Iterator[Path]:
    """Bin directories in order of preference (lazily: the first exact match ends the search)."""
    if os.environ.get("HV_PG_BIN"):
        yield Path(os.environ["HV_PG_BIN"])
    from hv_pipelines.core.embedded_server import pg_bin_dir

    try:
        embedded = pg_bin_dir()
    except ConfigurationError:  # the pinned build is `make install`'s; production images need not have it
        embedded = None
    if embedded is not None:
        yield embedded
    if DEBIAN_ROOT.is_dir():
        yield from sorted(DEBIAN_ROOT.glob("*/bin"))
    on_path = shutil.which("pg_dump")
    if on_path:
        yield Path(on_path).resolve().parent


@functools.cache
def _probe(path: Path) -> PgTool | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30,
                             env=child_env()).stdout
    except OSError:
        return None
    match = _VERSION.search(out)
    if not match:
        return None
    return PgTool(path, int(match.group(1)), f"{match.group(1)}.{match.group(2) or 0}")


def server_major(version: str) -> int:
    """`16.4`, `15.18 (Debian ...)` or `17beta1` -> the major version number."""
    match = re.match(r"(\d+)", version)
    if not match:
        raise ConfigurationError(f"cannot read a PostgreSQL major version from {version!r}")
    return int(match.group(1))


def find_tool(name: str, major: int) -> PgTool:
    """The `name` (pg_dump, pg_restore) for a server of `major`: exact match, else the oldest newer one."""
    found: dict[Path, PgTool] = {}
    for directory in _candidate_dirs():
        tool = _probe((directory / name).resolve()) if (directory / name).is_file() else None
        if tool is not None and tool.major == major:
            return tool
        if tool is not None:
            found.setdefault(tool.path, tool)
    usable = sorted((t for t in found.values() if t.major > major), key=lambda t: t.major)
    if not usable:
        seen = ", ".join(f"{t.path} ({t.major})" for t in found.values()) or "none"
        raise ConfigurationError(
            f"no {name} for PostgreSQL {major} (found: {seen}): install postgresql-client-{major} or set "
            f"HV_PG_BIN to the bin directory of PostgreSQL {major} or newer")
    return usable[0]


def client_connection(url: str) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, environment for the child) for a PostgreSQL client tool.

    The environment is the only one a client tool gets: runtime and libpq variables (TLS settings
    included), and the URL's password as PGPASSWORD — or this process's PGPASSWORD when the URL has
    none, since that is what our own libpq connection to the same URL uses.
    """
    params = conninfo_to_dict(db.libpq_url(url))
    password = params.pop("password", None) or os.environ.get("PGPASSWORD")
    env = child_env({"PGPASSWORD": str(password)} if password else None, libpq=True)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env
