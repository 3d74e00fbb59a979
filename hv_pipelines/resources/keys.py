"""Master keys for envelope encryption as a Dagster resource.

The active key comes from `dg.EnvVar("ENCRYPTION_KEY")`, so the UI shows the variable's name only.
Retired keys are read from `HV_ENCRYPTION_KEYS_RETIRED` when the keyring is built, never resolved
into run config (an optional variable cannot be an EnvVar without its value showing up there).
"""

from __future__ import annotations

import dagster as dg

from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.settings import load_settings


class KeyringResource(dg.ConfigurableResource):
    encryption_key: str
    kms_key_id: str | None = None

    def keyring(self) -> Keyring:
        return Keyring.from_hex(self.encryption_key, load_settings().retired_keys,
                                kms_key_id=self.kms_key_id or None)
