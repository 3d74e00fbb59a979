"""The environment a child process gets: what it needs to run, never the secrets of ours.

An hv process holds `ENCRYPTION_KEY`, `DATABASE_URL` (with its password), cloud and EHR credentials in
its environment. A child inherits all of it by default, and a third-party tool (pg_dump, pg_restore,
pg_ctl and the server it starts) may print its environment in a crash report or pass it on to
children of its own. A pool worker (`ScrubbedSpawnContext`) runs third-party code on untrusted input.
So a child starts from an empty environment plus the variables a process needs
to run at all (`RUNTIME_VARIABLES`), and a libpq client adds only libpq's own settings (`LIBPQ_VARIABLES`)
and the one password it needs.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from multiprocessing import context, popen_spawn_posix, reduction, spawn, util
from multiprocessing.context import set_spawning_popen

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


class _ScrubbedPopen(popen_spawn_posix.Popen):
    """multiprocessing's spawn start, with the child started from `child_env()` instead of our environment.

    multiprocessing has no way to pass a child an environment (it execs with a copy of ours), so this
    is its `Popen._launch` (CPython 3.11-3.13, unchanged between them) with the one call that starts
    the interpreter replaced by `os.posix_spawn` with an explicit environment. The pipes and the
    resource tracker's descriptor it hands the child are made inheritable for the spawn only.
    """

    def _launch(self, process_obj) -> None:
        from multiprocessing import resource_tracker

        tracker_fd = resource_tracker.getfd()
        self._fds.append(tracker_fd)
        prep_data = spawn.get_preparation_data(process_obj._name)
        fp = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, fp)
            reduction.dump(process_obj, fp)
        finally:
            set_spawning_popen(None)
        parent_r = child_w = child_r = parent_w = None
        try:
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            cmd = spawn.get_command_line(tracker_fd=tracker_fd, pipe_handle=child_r)
            self._fds.extend([child_r, child_w])
            self.pid = _spawn_passing(spawn.get_executable(), cmd, self._fds, child_env())
            self.sentinel = parent_r
            with open(parent_w, "wb", closefd=False) as f:
                f.write(fp.getbuffer())
        finally:
            self.finalizer = util.Finalize(self, util.close_fds, [fd for fd in (parent_r, parent_w) if fd is not None])
            for fd in (child_r, child_w):
                if fd is not None:
                    os.close(fd)


def _spawn_passing(path: str, args: list[str], fds: list[int], env: dict[str, str]) -> int:
    inheritable = [os.get_inheritable(fd) for fd in fds]
    for fd in fds:
        os.set_inheritable(fd, True)
    try:
        return os.posix_spawn(path, args, env)
    finally:
        for fd, was in zip(fds, inheritable, strict=True):
            os.set_inheritable(fd, was)


class _ScrubbedProcess(context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        return _ScrubbedPopen(process_obj)


class ScrubbedSpawnContext(context.SpawnContext):
    """A spawn context (for a ProcessPoolExecutor's `mp_context`) whose processes get `child_env()`:
    a pool of workers that run third-party code (FHIR validation) never holds our secrets."""

    Process = _ScrubbedProcess
