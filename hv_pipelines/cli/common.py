"""What several `hv` groups share: the keyring and object store built from the settings.

Either settings object will do: `Settings`, or `StoreSettings` (`hv wal`, which must start fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore, open_store

if TYPE_CHECKING:
    from hv_pipelines.core.settings import Settings
    from hv_pipelines.core.store_settings import StoreSettings


def keyring_from(settings: Settings | StoreSettings) -> Keyring:
    """The active master key plus retired ones (HV_ENCRYPTION_KEYS_RETIRED), or KMS with HV_KMS_KEY_ID."""
    if settings.encryption_key is None:
        raise ConfigurationError("ENCRYPTION_KEY is not set: backups, audit archives and EHR credentials are "
                                 "sealed with the master key (`hv dev` exports the development key)")
    return Keyring.from_hex(settings.encryption_key.get_secret_value(), settings.retired_keys,
                            kms_key_id=settings.kms_key_id)


def store_from(settings: Settings | StoreSettings, *, sweep: bool = True) -> ObjectStore:
    """The store of HV_OBJECT_STORE_URL; `sweep=False` skips removing killed uploads (see open_store)."""
    if not settings.object_store_url:
        raise ConfigurationError("HV_OBJECT_STORE_URL is not set: use s3://bucket/prefix or file:///path/to/dir")
    return open_store(settings.object_store_url, endpoint_url=settings.s3_endpoint_url, sse=settings.s3_sse,
                      kms_key_id=settings.kms_key_id, sweep=sweep)
