"""The object store and key settings alone, read without pydantic: all that `hv wal push` and `fetch` need.

PostgreSQL starts `hv wal push` once per WAL segment (and `hv wal fetch` once per file recovery
reads). Importing pydantic-settings to build `Settings` (settings.py) costs more CPU than sealing
the 16 MiB segment, so these commands read their few variables here instead: the same names, the
same precedence (the environment first, then the `.env` file that HV_DOTENV names, `.env` by
default; names matched regardless of case, as pydantic-settings does), the same checks and
messages. `Settings` validates with the functions below, and a test holds the two readers to each
other.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hv_pipelines.core.errors import ConfigurationError

HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
BAD_MASTER_KEY = ("ENCRYPTION_KEY must be 64 hexadecimal characters (32 bytes); generate one with "
                  "`python -c 'import secrets; print(secrets.token_hex(32))'`")
DEFAULT_S3_SSE = "AES256"


def retired_keys_of(raw: str) -> list[str]:
    """HV_ENCRYPTION_KEYS_RETIRED's keys; ConfigurationError naming the first malformed entry (never its value)."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    bad = [i for i, k in enumerate(keys) if not HEX_KEY.match(k)]
    if bad:
        raise ConfigurationError(f"HV_ENCRYPTION_KEYS_RETIRED entry #{bad[0] + 1} is not 64 hexadecimal characters")
    return keys


class Secret:
    """A value that prints as `***` (pydantic's SecretStr, as far as keyring_from uses it)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class StoreSettings:
    """The subset of `Settings` that opens the object store and the keyring, with the same attribute names."""

    object_store_url: str | None
    encryption_key: Secret | None
    retired_keys: list[str]
    kms_key_id: str | None
    s3_endpoint_url: str | None
    s3_sse: str


def load_store_settings() -> StoreSettings:
    """Read the store and key settings; ConfigurationError (naming the variable, never its value) as load_settings."""
    values = _environment()
    key = values.get("encryption_key")
    if key is not None and not HEX_KEY.match(key):
        raise ConfigurationError(f"invalid configuration: ENCRYPTION_KEY: {BAD_MASTER_KEY}")
    return StoreSettings(
        object_store_url=values.get("hv_object_store_url"),
        encryption_key=None if key is None else Secret(key),
        retired_keys=retired_keys_of(values.get("hv_encryption_keys_retired") or ""),
        kms_key_id=values.get("hv_kms_key_id"),
        s3_endpoint_url=values.get("hv_s3_endpoint_url"),
        s3_sse=values.get("hv_s3_sse", DEFAULT_S3_SSE),
    )


def _environment() -> dict[str, str]:
    """Lower-cased names: the dotenv file's values, overridden by the process environment's."""
    values: dict[str, str] = {}
    dotenv = Path(os.environ.get("HV_DOTENV", ".env"))
    if dotenv.is_file():
        from dotenv import dotenv_values

        values.update({name.lower(): value for name, value in dotenv_values(dotenv, encoding="utf-8").items()
                       if value is not None})
    values.update({name.lower(): value for name, value in os.environ.items()})
    return values
