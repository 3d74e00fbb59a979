"""Configuration read from the environment (and `.env`), with secrets masked everywhere.

The variable names are the platform's own (`DATABASE_URL`, `SHADOW_DATABASE_URL`, `ENCRYPTION_KEY`)
plus `HV_*` for the pipeline. `Settings.__repr__` and every error built here mask secret values, so
a settings object can be logged or shown in a traceback safely.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hv_pipelines.core.errors import ConfigurationError, DatabaseUnreachable
from hv_pipelines.core.store_settings import BAD_MASTER_KEY, DEFAULT_S3_SSE, HEX_KEY, retired_keys_of

_URL_PASSWORD = re.compile(r"(?P<head>[a-z0-9+.-]+://[^:/@]*:)(?P<password>[^@]*)(?P<tail>@)", re.IGNORECASE)


def mask_url(url: str | None) -> str | None:
    """Return `url` with any password replaced by `***` (for logs, metadata and errors)."""
    if url is None:
        return None
    return _URL_PASSWORD.sub(r"\g<head>***\g<tail>", url)


DATABASE_URL_EXAMPLE = "postgresql://user:***@host:5432/dbname"


def split_database_url(url: str) -> SplitResult:
    """`url`'s parts, or `DatabaseUnreachable` for a URL that is not a PostgreSQL URL or whose port is
    not a number. The URL itself is not shown: where its password is cannot be told either."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError as exc:
        raise DatabaseUnreachable(f"the database URL is malformed ({exc}): write it like {DATABASE_URL_EXAMPLE}") from None
    if not parts.scheme.startswith("postgres"):
        raise DatabaseUnreachable(f"the database URL is malformed (scheme {parts.scheme or 'missing'!r}, not "
                                  f"postgresql): write it like {DATABASE_URL_EXAMPLE}")
    return parts


class Settings(BaseSettings):
    """Everything hv_pipelines reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    shadow_database_url: SecretStr | None = Field(default=None, validation_alias="SHADOW_DATABASE_URL")
    # The login each kind of job connects as (docs/security.md); an unset one falls back to DATABASE_URL.
    database_url_migrations: SecretStr | None = Field(default=None, validation_alias="HV_DATABASE_URL_MIGRATIONS")
    database_url_terminology: SecretStr | None = Field(default=None, validation_alias="HV_DATABASE_URL_TERMINOLOGY")
    database_url_ehr: SecretStr | None = Field(default=None, validation_alias="HV_DATABASE_URL_EHR")
    database_url_archival: SecretStr | None = Field(default=None, validation_alias="HV_DATABASE_URL_ARCHIVAL")
    database_url_backup: SecretStr | None = Field(default=None, validation_alias="HV_DATABASE_URL_BACKUP")
    encryption_key: SecretStr | None = Field(default=None, validation_alias="ENCRYPTION_KEY")
    retired_encryption_keys: SecretStr | None = Field(
        default=None,
        validation_alias="HV_ENCRYPTION_KEYS_RETIRED",
        description="Comma-separated 64-hex-char keys that old backups and archives were sealed with.",
    )
    kms_key_id: str | None = Field(default=None, validation_alias="HV_KMS_KEY_ID")
    object_store_url: str | None = Field(default=None, validation_alias="HV_OBJECT_STORE_URL")
    s3_endpoint_url: str | None = Field(default=None, validation_alias="HV_S3_ENDPOINT_URL")
    s3_sse: str = Field(default=DEFAULT_S3_SSE, validation_alias="HV_S3_SSE")
    env: str = Field(default="development", validation_alias=AliasChoices("HV_ENV"))
    home: Path = Field(default=Path(".hv"), validation_alias="HV_HOME")
    seed_file: Path | None = Field(default=None, validation_alias="HV_SEED_FILE")
    terminology_landing: str | None = Field(default=None, validation_alias="HV_TERMINOLOGY_LANDING")
    alert_webhook_url: SecretStr | None = Field(default=None, validation_alias="HV_ALERT_WEBHOOK_URL")
    dagster_url: str = Field(default="http://127.0.0.1:3000", validation_alias="HV_DAGSTER_URL")

    @field_validator("encryption_key")
    @classmethod
    def _key_is_64_hex(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not HEX_KEY.match(value.get_secret_value()):
            raise ValueError(BAD_MASTER_KEY)
        return value

    @property
    def is_production(self) -> bool:
        return self.env.lower() == "production"

    @cached_property
    def retired_keys(self) -> list[str]:
        return retired_keys_of(self.retired_encryption_keys.get_secret_value() if self.retired_encryption_keys else "")

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise ConfigurationError(
                "DATABASE_URL is not set: export it (postgresql://user:***@host/db) or run `hv dev`, "
                "which starts the embedded PostgreSQL")
        url = self.database_url.get_secret_value()
        split_database_url(url)
        return url

    def database_url_for(self, domain: str) -> str:
        """The URL of the login that `domain`'s jobs connect as (`HV_DATABASE_URL_<DOMAIN>`), else DATABASE_URL."""
        own = getattr(self, f"database_url_{domain}")
        if own is None:
            return self.require_database_url()
        split_database_url(own.get_secret_value())
        return own.get_secret_value()

    def __repr__(self) -> str:
        shown = {
            "database_url": mask_url(self.database_url.get_secret_value()) if self.database_url else None,
            "encryption_key": "***" if self.encryption_key else None,
            "object_store_url": self.object_store_url,
            "env": self.env,
        }
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    __str__ = __repr__


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's error into one that names the variable but never its value."""
    try:
        return Settings(_env_file=os.environ.get("HV_DOTENV", ".env"), **overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors(include_input=False)
        )
    # Raised outside the except block so the pydantic error, which holds the offending value,
    # is not chained onto ours as __context__.
    raise ConfigurationError(f"invalid configuration: {problems}")
