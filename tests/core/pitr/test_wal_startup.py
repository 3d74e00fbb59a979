"""`hv wal push` and `hv wal fetch` start fast: PostgreSQL runs them once per WAL file.

Not a timed test (the machine is shared): what it pins is the cause of a slow start. The commands
run as PostgreSQL runs them (the server's OS user, a real segment of a real server, the env file)
and report at exit which packages they imported; none of the heavy ones may be among them, and the
local archive is not walked (an archive of a busy server holds 100 000 objects).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hv_pipelines.core.pitr import archive
from hv_pipelines.core.pitr.cluster import as_server_user, hand_over
from hv_pipelines.core.pitr.envfile import write_env_file
from hv_pipelines.core.pitr.walfiles import control_system_identifier
from hv_pipelines.core.storage import STALE_UPLOAD_AGE, UPLOAD_PREFIX

from .conftest import switch_and_wait

pytestmark = pytest.mark.slow

# What costs a per-segment command more than the segment itself (pydantic-settings: ~0.15 s CPU,
# SQLAlchemy 0.25 s, Dagster seconds), and what a file:// archive never needs (boto3 0.25 s).
HEAVY = {"pydantic", "pydantic_settings", "pydantic_core", "sqlalchemy", "dagster", "pandas", "pyarrow", "psycopg",
         "alembic", "boto3", "botocore", "yaml", "httpx", "requests"}
REPORT_IMPORTS = ("import atexit, sys; atexit.register(lambda: print('IMPORTED', *sorted({m.split('.')[0] for m in "
                  "sys.modules}), file=sys.stderr)); sys.argv = ['hv', *sys.argv[1:]]; "
                  "from hv_pipelines.cli import main; main()")


def hv_reporting_imports(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    done = subprocess.run([sys.executable, "-c", REPORT_IMPORTS, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, **as_server_user())
    imported = done.stderr.rsplit("IMPORTED ", 1)[1].split() if "IMPORTED " in done.stderr else []
    return done, set(imported)


def stale_upload(directory: Path) -> Path:
    """A killed push's temporary file, old enough that any sweep would remove it."""
    directory.mkdir(parents=True)
    path = directory / f"{UPLOAD_PREFIX}killed"
    path.write_bytes(b"ciphertext of a killed push")
    old = time.time() - STALE_UPLOAD_AGE.total_seconds() - 3600
    os.utime(path, (old, old))
    return path


def test_push_and_fetch_import_nothing_heavy_and_do_not_walk_the_archive(archiving_cluster, local_archive, scratch):
    name = switch_and_wait(archiving_cluster)
    system = control_system_identifier(archiving_cluster.data_dir)
    copy = scratch / "copy" / "pg_wal" / name
    copy.parent.mkdir(parents=True)
    shutil.copy(archiving_cluster.data_dir / "pg_wal" / name, copy)
    other = scratch / "other-objects"
    leftover = stale_upload(other / archive.wal_key(system, name).rsplit("/", 1)[0])
    env_file = scratch / "other.env"
    write_env_file(env_file, {**local_archive.env, "HV_OBJECT_STORE_URL": other.as_uri()})
    for path in (scratch / "copy", other, env_file):
        hand_over(path)

    pushed, imported = hv_reporting_imports("wal", "push", str(copy), "--env-file", str(env_file),
                                            cwd=copy.parent.parent)
    assert pushed.returncode == 0 and f"{name} archived" in pushed.stderr, pushed.stderr
    assert imported, "the child did not report its imports"
    assert {"zstandard", "cryptography", "click"} <= imported  # it did the work
    assert not imported & HEAVY, f"hv wal push imported {sorted(imported & HEAVY)}"
    assert leftover.exists(), "hv wal push walked the archive for stale uploads"

    dest = scratch / "RECOVERYXLOG"
    fetched, imported = hv_reporting_imports("wal", "fetch", name, str(dest), "--env-file",
                                             str(env_file), "--system-identifier", str(system),
                                             cwd=scratch)
    assert fetched.returncode == 0, fetched.stderr
    assert dest.read_bytes() == copy.read_bytes()
    assert not imported & HEAVY, f"hv wal fetch imported {sorted(imported & HEAVY)}"
