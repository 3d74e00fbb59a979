"""EHR connections: creating them, loading them with their credentials, and keeping their sync state.

A bulk-data connection keeps its client settings in `ehr_connections.metadata` (JSON): client id,
export level, group id, scopes, types, and where the private key lives — sealed in the row
(`hv ehr connect --private-key FILE`), or named by an environment variable or a file path that the
operator manages. The key itself never appears in logs, metadata or errors.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from hv_pipelines.core.bulkdata import (
    BackendServicesAuth,
    BulkDataClient,
    ExportLevel,
    OpenAccess,
    SigningKey,
    profile_for,
)
from hv_pipelines.core.errors import ConfigurationError, HVError
from hv_pipelines.core.fhir_ingest.sealing import seal, unseal
from hv_pipelines.core.keyring import Keyring


@dataclass(frozen=True)
class BulkSettings:
    client_id: str | None = None
    export_level: str = ExportLevel.GROUP.value
    group_id: str | None = None
    scopes: str | None = None
    types: tuple[str, ...] | None = None
    token_endpoint: str | None = None
    kid: str | None = None
    key_source: dict[str, str] = field(default_factory=dict, repr=False)  # {"sealed"|"env"|"file": ...}

    @classmethod
    def from_metadata(cls, text: str | None) -> BulkSettings:
        try:
            data = json.loads(text or "{}").get("bulkData") or {}
        except (ValueError, AttributeError):
            data = {}
        types = data.get("types")
        return cls(client_id=data.get("clientId"),
                   export_level=data.get("exportLevel", ExportLevel.GROUP.value),
                   group_id=data.get("groupId"), scopes=data.get("scopes"),
                   types=tuple(types) if types else None, token_endpoint=data.get("tokenEndpoint"),
                   kid=data.get("kid"), key_source=data.get("privateKey") or {})

    def to_metadata(self) -> str:
        raw = asdict(self)
        data = {"clientId": raw["client_id"], "exportLevel": raw["export_level"], "groupId": raw["group_id"],
                "scopes": raw["scopes"], "types": list(self.types) if self.types else None,
                "tokenEndpoint": raw["token_endpoint"], "kid": raw["kid"], "privateKey": raw["key_source"]}
        return json.dumps({"bulkData": {k: v for k, v in data.items() if v not in (None, {}, [])}})


@dataclass(frozen=True)
class EHRConnection:
    id: str
    user_id: str
    provider: str
    fhir_base_url: str
    status: str
    customer_id: str | None
    auto_sync: bool
    sync_frequency: int
    last_sync_at: datetime | None
    next_sync_at: datetime | None
    error_message: str | None
    settings: BulkSettings

    @property
    def export_level(self) -> ExportLevel:
        return ExportLevel(self.settings.export_level)


_COLUMNS = ("id, user_id, provider::text, fhir_base_url, status::text, customer_id, auto_sync, "
            "sync_frequency, last_sync_at, next_sync_at, error_message, metadata")



def _from_row(row: tuple) -> EHRConnection:
    *head, metadata = row
    return EHRConnection(*head, settings=BulkSettings.from_metadata(metadata))


def load_connection(conn: psycopg.Connection, connection_id: str) -> EHRConnection:
    row = conn.execute(f"SELECT {_COLUMNS} FROM ehr_connections WHERE id = %s", (connection_id,)).fetchone()
    if row is None:
        raise HVError(f"EHR connection {connection_id} does not exist: list connections with `hv ehr status`")
    return _from_row(row)


def list_connections(conn: psycopg.Connection) -> list[EHRConnection]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM ehr_connections ORDER BY created_at, id").fetchall()
    return [_from_row(row) for row in rows]


def create_connection(conn: psycopg.Connection, keyring: Keyring, *, user_email: str, provider: str,
                      base_url: str, client_id: str | None = None, private_key_pem: bytes | None = None,
                      private_key_env: str | None = None, private_key_file: str | None = None,
                      group_id: str | None = None, export_level: str | None = None, kid: str | None = None,
                      customer_id: str | None = None, sync_frequency: int = 24,
                      types: tuple[str, ...] | None = None) -> str:
    """Insert an `ehr_connections` row (status PENDING until the first sync succeeds); return its id."""
    provider = provider.upper()
    known = _providers(conn)
    if provider not in known:
        raise ConfigurationError(f"unknown EHR provider {provider!r}: use one of {', '.join(sorted(known))}")
    profile = profile_for(provider)
    level = ExportLevel(export_level) if export_level else profile.default_level
    profile.check_level(level)
    if level is ExportLevel.GROUP and not group_id:
        raise ConfigurationError(f"{profile.display_name} exports by Group: pass --group-id")
    sources = [s for s in (private_key_pem, private_key_env, private_key_file) if s]
    if client_id and len(sources) != 1:
        raise ConfigurationError("a client id needs exactly one private key: --private-key FILE, "
                                 "--private-key-env VAR or --private-key-path PATH")
    if private_key_pem:
        SigningKey.from_pem(private_key_pem)  # refuse a key we could never sign with, before storing it
    user = conn.execute("SELECT id FROM users WHERE lower(email) = lower(%s)", (user_email,)).fetchone()
    if user is None:
        raise HVError("no HoloVitals user has that email: the user must sign up before an EHR is connected")
    connection_id = str(uuid.uuid4())
    key_source = ({"sealed": seal(keyring, private_key_pem)} if private_key_pem else
                  {"env": private_key_env} if private_key_env else
                  {"file": private_key_file} if private_key_file else {})
    settings = BulkSettings(client_id=client_id, export_level=level.value, group_id=group_id,
                            scopes=profile.scopes if client_id else None, types=types, kid=kid,
                            key_source=key_source)
    conn.execute(
        """INSERT INTO ehr_connections (id, user_id, provider, provider_name, fhir_base_url, status,
                                        customer_id, sync_frequency, metadata, updated_at)
           VALUES (%s, %s, %s::"EHRProvider", %s, %s, 'PENDING', %s, %s, %s, now())""",
        (connection_id, user[0], provider,
         profile.display_name if profile.provider == provider else provider.title(), base_url.rstrip("/"),
         customer_id, sync_frequency, settings.to_metadata()))
    return connection_id


def _providers(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT unnest(enum_range(NULL::\"EHRProvider\"))::text").fetchall()}


def private_key_pem(settings: BulkSettings, keyring: Keyring) -> bytes:
    source = settings.key_source
    if "sealed" in source:
        return unseal(keyring, source["sealed"])
    if "env" in source:
        value = os.environ.get(source["env"])
        if not value:
            raise ConfigurationError(f"the EHR private key variable {source['env']} is not set")
        return value.encode()
    if "file" in source:
        path = Path(source["file"])
        if not path.is_file():
            raise ConfigurationError(f"the EHR private key file {path} does not exist")
        return path.read_bytes()
    raise ConfigurationError("the connection has a client id but no private key: reconnect it with "
                             "--private-key")


def build_client(connection: EHRConnection, keyring: Keyring, **client_options: Any) -> BulkDataClient:
    """A Bulk Data client for the connection: Backend Services auth when it has a client id, else open."""
    http = httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0), follow_redirects=True)
    settings = connection.settings
    if settings.client_id:
        auth = BackendServicesAuth(http, base_url=connection.fhir_base_url, client_id=settings.client_id,
                                   signing_key=SigningKey.from_pem(private_key_pem(settings, keyring),
                                                                   kid=settings.kid),
                                   scopes=settings.scopes or profile_for(connection.provider).scopes,
                                   token_endpoint=settings.token_endpoint)
    else:
        auth = OpenAccess()
    return BulkDataClient(connection.fhir_base_url, auth, http=http, **client_options)


def set_customer_id(conn: psycopg.Connection, connection_id: str, customer_id: str) -> None:
    conn.execute("UPDATE ehr_connections SET customer_id = %s, updated_at = now() WHERE id = %s",
                 (customer_id, connection_id))


def mark_synced(conn: psycopg.Connection, connection: EHRConnection, at: datetime) -> None:
    conn.execute(
        """UPDATE ehr_connections SET status = 'ACTIVE', error_message = NULL, last_sync_at = %s,
                  next_sync_at = %s, updated_at = now() WHERE id = %s""",
        (at, at + timedelta(hours=max(1, connection.sync_frequency)), connection.id))


def mark_error(conn: psycopg.Connection, connection_id: str, message: str) -> None:
    conn.execute("""UPDATE ehr_connections SET status = 'ERROR', error_message = %s, updated_at = now()
                    WHERE id = %s""", (message[:1000], connection_id))


def due_connections(conn: psycopg.Connection, now: datetime) -> list[tuple[str, str, datetime | None]]:
    """(id, provider, next_sync_at) of connections that sync automatically and are due now.

    Connections in ERROR, REVOKED or DISCONNECTED wait for an operator; PENDING ones (never synced)
    are due at once.
    """
    return conn.execute(
        """SELECT id, provider::text, next_sync_at FROM ehr_connections
           WHERE auto_sync AND status IN ('PENDING', 'ACTIVE', 'EXPIRED')
             AND (next_sync_at IS NULL OR next_sync_at <= %s)
           ORDER BY next_sync_at NULLS FIRST, id""", (now,)).fetchall()
