"""Decrypted archive rows never land in a named file: a read-back killed with SIGKILL leaves nothing in
the temporary directory, and leftovers of older releases are swept when a command starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from hv_pipelines.core import archival
from hv_pipelines.core.archival import Month
from hv_pipelines.core.archival.manifest import ArchiveManifest
from hv_pipelines.core.archival.parts import read_archive, sweep_stale_scratch
from tests.conftest import ROOT
from tests.core.archival.audit_rows import insert_audit_rows

MONTH = Month(2023, 4)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR for this test (and `tempfile`'s cached choice of it)."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def manifest(migrated_db: str, user_id: str, local_store, keyring) -> ArchiveManifest:
    insert_audit_rows(migrated_db, MONTH, 3000, user_id)
    result = archival.archive_month(migrated_db, local_store, keyring, MONTH,
                                    options=archival.ArchiveOptions(row_group_rows=500))
    return ArchiveManifest.open(local_store.read_bytes(result.manifest_key), keyring)


def _open_files_under(directory: Path) -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return [t for t in targets if t.startswith(str(directory))]


def test_the_decrypted_part_has_no_name_while_it_is_read(manifest, local_store, keyring, scratch: Path) -> None:
    seen: list[tuple[list[str], list[str]]] = []

    read_archive(local_store, keyring, manifest,
                 on_table=lambda table: seen.append((os.listdir(scratch), _open_files_under(scratch))))

    assert len(seen) == 6
    for names, open_files in seen:
        assert names == []  # nothing a later process, or a crash, could find by name
        assert open_files and all(f.endswith("(deleted)") for f in open_files)  # the rows are there, unnamed
    assert os.listdir(scratch) == []


def test_kill_9_mid_read_back_leaves_no_plaintext(manifest, local_store, keyring, scratch: Path) -> None:
    child = textwrap.dedent(f"""
        import sys, time
        from hv_pipelines.core.archival.manifest import ArchiveManifest
        from hv_pipelines.core.archival.parts import read_archive
        from hv_pipelines.core.keyring import Keyring
        from hv_pipelines.core.storage import LocalStore

        keyring = Keyring.from_hex({keyring.active.secret.hex()!r})
        store = LocalStore({str(local_store.root)!r})
        manifest = ArchiveManifest.open(store.read_bytes({manifest.key!r}), keyring)

        def stall(table):
            print("reading", flush=True)
            time.sleep(60)

        read_archive(store, keyring, manifest, on_table=stall)
    """)
    process = subprocess.Popen([sys.executable, "-c", child], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)}, start_new_session=True)
    try:
        assert process.stdout.readline().strip() == "reading"
        assert os.listdir(scratch) == []
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert os.listdir(scratch) == []


def test_leftovers_of_older_releases_are_swept_when_old_enough(scratch: Path) -> None:
    stale, fresh = scratch / "hv-archive-stale1", scratch / "hv-archive-fresh1"
    for directory in (stale, fresh):
        directory.mkdir()
        (directory / "part.parquet").write_bytes(b"PAR1 decrypted rows PAR1")
    foreign = scratch / "hv-backup-keep"
    foreign.write_bytes(b"not ours")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    assert sweep_stale_scratch() == ["hv-archive-stale1"]
    assert sorted(os.listdir(scratch)) == ["hv-archive-fresh1", "hv-backup-keep"]
