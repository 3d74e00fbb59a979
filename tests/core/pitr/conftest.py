"""Archiving PostgreSQL 16 clusters (the embedded server's binaries, archive_mode=on, `hv wal push`) and their stores.

Each test gets its own cluster (initdb, ~1 s) and its own archive, so a test may damage either.
The server runs as the `pgserver` OS user when the tests run as root: the env file, the local
store and the data directory are handed to that user, exactly as in a deployment.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.embedded import pg_bin_dir
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.pitr.cluster import Cluster, hand_over, let_server_run, scratch_dir, write_settings
from hv_pipelines.core.pitr.envfile import write_env_file
from hv_pipelines.core.storage import LocalStore, ObjectStore, S3Store

HV = Path(sys.executable).parent / "hv"


@dataclass
class Archive:
    """Where a cluster archives to: the store, its key, and the env file archive_command reads."""

    store: ObjectStore
    key_hex: str
    env_file: Path
    env: dict[str, str]

    @property
    def keyring(self) -> Keyring:
        return Keyring.from_hex(self.key_hex)


@pytest.fixture
def scratch():
    path = scratch_dir("hv-pitr-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_archive(scratch: Path, store: ObjectStore, extra: dict[str, str] | None = None) -> Archive:
    key = generate_hex_key()
    env = {"HV_OBJECT_STORE_URL": store.url, "ENCRYPTION_KEY": key, **(extra or {})}
    env_file = scratch / "wal.env"
    write_env_file(env_file, env)
    hand_over(env_file)
    return Archive(store, key, env_file, env)


@pytest.fixture
def local_archive(scratch: Path) -> Archive:
    store_dir = scratch / "objects"
    store_dir.mkdir()
    hand_over(store_dir)
    return make_archive(scratch, LocalStore(store_dir))


@pytest.fixture
def s3_archive(scratch: Path, s3_client, moto_endpoint: str) -> Archive:
    bucket = f"hv-pitr-{scratch.name[-8:].lower().replace('_', '-')}"
    s3_client.create_bucket(Bucket=bucket)
    store = S3Store(bucket, "hv", client=s3_client)
    return make_archive(scratch, store, {"HV_S3_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                                         "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})


@pytest.fixture(params=["local", "s3"])
def any_archive(request) -> Archive:
    return request.getfixturevalue("local_archive" if request.param == "local" else "s3_archive")


def archive_command(env_file: Path) -> str:
    let_server_run(Path(sys.executable))
    let_server_run(HV)
    return f"{HV} wal push %p --env-file {env_file} --quiet"


@pytest.fixture(scope="session")
def cluster_template():
    """One initdb for the session; tests start copies of it (same system identifier, own archives)."""
    root = scratch_dir("hv-pitr-template-")
    Cluster(root / "data", pg_bin_dir()).initdb()
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def start_archiving_cluster(scratch: Path, archive: Archive, template: Path | None = None,
                            name: str = "primary") -> Cluster:
    """A cluster archiving into `archive`: a copy of `template`, or a new one (own system identifier)."""
    cluster = Cluster(scratch / name, pg_bin_dir())
    if template is None:
        cluster.initdb()
    else:
        shutil.copytree(template, cluster.data_dir, symlinks=True)
        hand_over(cluster.data_dir)
    write_settings(cluster.data_dir, {"wal_level": "replica", "archive_mode": "on", "archive_timeout": "60",
                                      "archive_command": archive_command(archive.env_file),
                                      "max_wal_senders": "4"})
    cluster.start()
    return cluster


@pytest.fixture
def archiving_cluster(scratch: Path, local_archive: Archive, cluster_template: Path):
    cluster = start_archiving_cluster(scratch, local_archive, cluster_template)
    yield cluster
    cluster.stop("immediate")


def switch_and_wait(cluster: Cluster) -> str:
    """Force a segment switch and wait until PostgreSQL reports that segment archived; return its name."""
    with db.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("SELECT pg_logical_emit_message(false, 'hv-test', 'switch')")
        name = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]

    def archived() -> bool:
        with db.connect(cluster.url(), autocommit=True) as conn:
            last, failed = conn.execute(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver").fetchone()
        return last is not None and last >= name

    cluster.wait_until(archived, f"{name} to be archived", timeout=60)
    return name
