"""Master keys: the active one seals new data keys, retired ones still open old backups and archives.

A master key is identified by `key_id` (a hash of the key, safe to print and store beside the
ciphertext), so an object names the key it needs without revealing it. Data keys are wrapped with
AES-256-GCM under the master key (the key id is the associated data), or by AWS KMS when a KMS
key is configured. Manifests are authenticated with HMAC-SHA256 under a key derived from the master.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hv_pipelines.core.errors import ConfigurationError, IntegrityError

KMS_PREFIX = "kms:"


def key_id_of(key: bytes) -> str:
    return "hv1:" + hashlib.sha256(b"hv-master-key-id:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes = field(repr=False)

    @classmethod
    def from_hex(cls, hex_key: str) -> MasterKey:
        secret = bytes.fromhex(hex_key)
        if len(secret) != 32:
            raise ConfigurationError("a master key must be 32 bytes (64 hexadecimal characters)")
        return cls(key_id_of(secret), secret)

    def _derive(self, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hv-pipelines:" + purpose).derive(self.secret)


@dataclass(frozen=True)
class WrappedKey:
    key_id: str
    blob: bytes


class Keyring:
    """The active master key (or KMS key) plus retired keys, looked up by key id."""

    def __init__(self, active: MasterKey, retired: list[MasterKey] | None = None, *,
                 kms_key_id: str | None = None, kms_client=None) -> None:
        self.active = active
        self._keys = {k.key_id: k for k in [*(retired or []), active]}
        self.kms_key_id = kms_key_id
        self._kms_client = kms_client

    @classmethod
    def from_hex(cls, active_hex: str, retired_hex: list[str] | None = None, *, kms_key_id: str | None = None) -> Keyring:
        return cls(MasterKey.from_hex(active_hex), [MasterKey.from_hex(k) for k in retired_hex or []],
                   kms_key_id=kms_key_id)

    def __repr__(self) -> str:
        return f"Keyring(active={self.active.key_id}, keys={len(self._keys)}, kms={self.kms_key_id is not None})"

    @property
    def active_key_id(self) -> str:
        return KMS_PREFIX + self.kms_key_id if self.kms_key_id else self.active.key_id

    def _key(self, key_id: str) -> MasterKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise IntegrityError(
                f"master key {key_id} is not in the keyring: set ENCRYPTION_KEY or add the retired key to "
                "HV_ENCRYPTION_KEYS_RETIRED") from None

    def _kms(self):
        if self._kms_client is None:
            import boto3

            self._kms_client = boto3.client("kms")
        return self._kms_client

    def wrap(self, data_key: bytes) -> WrappedKey:
        if self.kms_key_id:
            blob = self._kms().encrypt(KeyId=self.kms_key_id, Plaintext=data_key)["CiphertextBlob"]
            return WrappedKey(self.active_key_id, blob)
        nonce = os.urandom(12)
        sealed = AESGCM(self.active._derive(b"wrap")).encrypt(nonce, data_key, self.active.key_id.encode())
        return WrappedKey(self.active.key_id, nonce + sealed)

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        if wrapped.key_id.startswith(KMS_PREFIX):
            return self._kms().decrypt(CiphertextBlob=wrapped.blob)["Plaintext"]
        key = self._key(wrapped.key_id)
        try:
            return AESGCM(key._derive(b"wrap")).decrypt(wrapped.blob[:12], wrapped.blob[12:], key.key_id.encode())
        except Exception:
            raise IntegrityError(f"the data key sealed under {wrapped.key_id} failed authentication") from None

    def mac(self, data: bytes, key_id: str | None = None) -> str:
        """HMAC-SHA256 of `data` under the active (or named) master key; manifests carry it."""
        key = self._key(key_id) if key_id and not key_id.startswith(KMS_PREFIX) else self.active
        return hmac.new(key._derive(b"mac"), data, hashlib.sha256).hexdigest()

    def verify_mac(self, data: bytes, mac: str, key_id: str | None = None) -> None:
        if not hmac.compare_digest(self.mac(data, key_id), mac):
            raise IntegrityError("manifest authentication failed: it was altered or sealed with another key")


def generate_hex_key() -> str:
    return os.urandom(32).hex()
