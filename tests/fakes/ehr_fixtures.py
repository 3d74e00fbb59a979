"""Building blocks the EHR tests share: sample resources, users, connections, fast clients."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from hv_pipelines.core import db
from hv_pipelines.core.bulkdata import Backoff
from hv_pipelines.core.fhir_ingest import connections
from hv_pipelines.core.keyring import Keyring

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"



def sample_resources() -> list[dict[str, Any]]:
    """Realistic R4 resources: patient `pat-a` (the connected user) with several of each mapped type, and
    `pat-b`, another patient of the same export."""
    return [json.loads(line) for line in (FIXTURES / "sample_export.ndjson").read_text().splitlines()]


def create_user(db_url: str, email: str = "amy@example.com") -> str:
    user_id = str(uuid.uuid4())
    with db.connect(db_url) as conn:
        conn.execute("INSERT INTO users (id, email, password_hash, updated_at) VALUES (%s, %s, 'x', now())",
                     (user_id, email))
    return user_id


def create_connection(db_url: str, keyring: Keyring, server, *, private_pem: bytes | None,
                      email: str = "amy@example.com", customer_id: str | None = "pat-a",
                      provider: str = "OTHER", export_level: str = "system",
                      group_id: str | None = None) -> str:
    with db.connect(db_url) as conn:
        return connections.create_connection(
            conn, keyring, user_email=email, provider=provider, base_url=server.base_url,
            client_id="hv-client" if private_pem else None, private_key_pem=private_pem, group_id=group_id,
            export_level=export_level, customer_id=customer_id)


def fast_client_factory(keyring: Keyring):
    """Real clients whose waits are recorded but not slept (Retry-After values are asserted, not endured)."""
    return lambda connection: connections.build_client(connection, keyring, sleep=lambda _s: None,
                                                       backoff=Backoff(initial=0.01, cap=0.05))


def scalar(db_url: str, sql: str, *params: object) -> Any:
    with db.connect(db_url) as conn:
        return conn.execute(sql, params or None).fetchone()[0]


def rows(db_url: str, sql: str, *params: object) -> list[tuple]:
    with db.connect(db_url) as conn:
        return conn.execute(sql, params or None).fetchall()
