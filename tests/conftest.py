"""The test harness: one PostgreSQL for the session, a fresh database per test, S3 over real HTTP.

- PostgreSQL: the embedded server (PostgreSQL 16, core/embedded_server.py, in a temporary directory)
  unless `HV_TEST_DATABASE_URL` names an external server. It serves TLS only (`hostssl` lines,
  SCRAM passwords, no Unix socket), so every test connects with sslmode=verify-full against its
  local CA, as production does. Every test gets its own database, cloned from a template that was
  migrated once per session, so tests are isolated and fast.
- S3: moto's ThreadedMotoServer on 127.0.0.1 — boto3 talks HTTP to it exactly as to AWS.
- Isolation: the developer's `.hv/` and `.env` are never read, and any socket connection outside
  loopback fails the test that attempts it.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.storage import LocalStore, S3Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ["HV_DOTENV"] = os.devnull
for _name in ("DATABASE_URL", "SHADOW_DATABASE_URL", "ENCRYPTION_KEY", "HV_ENCRYPTION_KEYS_RETIRED",
              "HV_KMS_KEY_ID", "HV_OBJECT_STORE_URL", "HV_ALERT_WEBHOOK_URL", "HV_ENV"):
    os.environ.pop(_name, None)
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"tests may only reach loopback, not {host}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory):
    """URL of a PostgreSQL server the suite may create and drop databases on."""
    external = os.environ.get("HV_TEST_DATABASE_URL")
    if external:
        yield external
        return
    from hv_pipelines.core.embedded_server import start_postgres

    # Not under pytest's basetemp: pytest prunes old basetemps, which must never hit a live server.
    server = start_postgres(Path(tempfile.mkdtemp(prefix="hv-test-pg-")) / "pg", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="module")
def own_pg_server():
    """URL of a PostgreSQL server of the test module's own, for tests that change server-wide settings
    (ALTER SYSTEM) or roles that must not leak into the rest of the suite."""
    from hv_pipelines.core.embedded_server import start_postgres

    home = Path(tempfile.mkdtemp(prefix="hv-own-pg-"))
    server = start_postgres(home / "pg", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_server():
    """A TLS-only PostgreSQL of the test module's own (tests/tls_server.py)."""
    from tests.tls_server import tls_only_server

    with tls_only_server() as server:
        yield server


def _fresh_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def empty_db(pg_server_url: str):
    """URL of a new, empty database, dropped after the test."""
    name = _fresh_name("hv_test")
    url = db.create_database(pg_server_url, name)
    yield url
    db.drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def migrated_template(pg_server_url: str):
    """A database at Alembic head, used as the template for `migrated_db`."""
    from hv_pipelines.core.migrations import upgrade

    name = _fresh_name("hv_template")
    url = db.create_database(pg_server_url, name)
    upgrade(url, "head")
    yield name
    db.drop_database(pg_server_url, name)


@pytest.fixture
def migrated_db(pg_server_url: str, migrated_template: str):
    """URL of a new database holding the whole HoloVitals schema (no rows)."""
    name = _fresh_name("hv_test")
    url = db.create_database(pg_server_url, name, template=migrated_template)
    yield url
    db.drop_database(pg_server_url, name)


@pytest.fixture
def login_url(migrated_db: str):
    """`login_url(role)`: URL of `migrated_db` for a new LOGIN role that is a member of group `role`,
    with its password (the server asks every login for one); the logins are dropped afterwards."""
    from hv_pipelines.core import logins

    created: list[str] = []

    def make(role: str) -> str:
        name, password = _fresh_name(f"t_{role}"), logins.generate_password()
        with db.connect(migrated_db) as conn:
            logins.create_login(conn, name, role, password)
        created.append(name)
        return db.with_login(migrated_db, name, password)

    yield make
    with db.connect(migrated_db) as conn:
        for name in created:
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE "{name}"')


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_client(moto_endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_store(s3_client) -> S3Store:
    """A fresh bucket (without Object Lock) behind the moto HTTP server."""
    bucket = _fresh_name("hv-test").replace("_", "-")
    s3_client.create_bucket(Bucket=bucket)
    return S3Store(bucket, "hv", client=s3_client)


@pytest.fixture
def s3_locked_store(s3_client) -> S3Store:
    """A fresh bucket created with Object Lock enabled."""
    bucket = _fresh_name("hv-lock").replace("_", "-")
    s3_client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return S3Store(bucket, "hv", client=s3_client, lock_mode="GOVERNANCE")


@pytest.fixture(scope="session")
def webserver(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory):
    """A Dagster webserver on a database of its own (tests/webserver.py), started once for the UI and
    `hv run` tests."""
    from tests.webserver import running_webserver

    with running_webserver(pg_server_url, tmp_path_factory.mktemp("webserver")) as server:
        yield server


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


@pytest.fixture(params=["local", "s3"])
def any_store(request):
    """Both backends, so a test proves the same behaviour on each."""
    return request.getfixturevalue("local_store" if request.param == "local" else "s3_store")


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_hex(generate_hex_key())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point HV_HOME at a temporary directory so no test touches the developer's `.hv/`."""
    monkeypatch.setenv("HV_HOME", str(tmp_path / "hv-home"))
