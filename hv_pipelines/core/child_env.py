"""The environment a child process gets: what it needs to run, never the secrets of ours.

An hv process holds `ENCRYPTION_KEY`, `DATABASE_URL` (with its password), cloud and EHR credentials in
its environment. A child inherits all of it by default, and a third-party tool (pg_dump, pg_restore,
pg_ctl and the server it starts) may print its environment in a crash report or pass it on to
children of its own. So a child starts from an empty environment plus the variables a process needs
to run at all (`RUNTIME_VARIABLES`), and a libpq client adds only libpq's own settings (`LIBPQ_VARIABLES`)
and the one password it needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Locale, search path, time zone and scratch space: what any program expects; none of them secret.
RUNTIME_VARIABLES = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH")

# libpq's connection settings (its documented environment variables), so a client tool connects the way
# this process's own libpq connection does: TLS (PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, ...),
# a service or password file, timeouts. PGPASSWORD is not passed on from here: the password comes from
# the URL (see core.backup.tools.client_connection).
LIBPQ_VARIABLES = (
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE",
    "PGOPTIONS", "PGAPPNAME", "PGREQUIREAUTH", "PGCHANNELBINDING", "PGSSLMODE", "PGREQUIRESSL",
    "PGSSLCOMPRESSION", "PGSSLCERT", "PGSSLKEY", "PGSSLCERTMODE", "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR",
    "PGSSLSNI", "PGREQUIREPEER", "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE",
    "PGKRBSRVNAME", "PGGSSLIB", "PGGSSDELEGATION", "PGCONNECT_TIMEOUT", "PGCLIENTENCODING",
    "PGTARGETSESSIONATTRS", "PGLOADBALANCEHOSTS", "PGDATESTYLE", "PGTZ", "PGSYSCONFDIR", "PGLOCALEDIR",
)


def child_env(extra: Mapping[str, str] | None = None, *, libpq: bool = False) -> dict[str, str]:
    """The environment for a child: the runtime variables (and libpq's settings if `libpq`), plus `extra`."""
    names = RUNTIME_VARIABLES + (LIBPQ_VARIABLES if libpq else ())
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.update({name: value for name, value in os.environ.items() if name.startswith("LC_")})
    env.update(extra or {})
    return env
