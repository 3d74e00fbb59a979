"""The keyring's own promises: what a master key must be, derivations fixed across releases, what it
refuses and says, the KMS client it builds from the environment, and a repr that never shows a key."""

from __future__ import annotations

import boto3
import pytest

from hv_pipelines.core.errors import ConfigurationError, IntegrityError
from hv_pipelines.core.keyring import Keyring, MasterKey, WrappedKey, generate_hex_key

# Fixed vectors written by this release: manifests and wrapped data keys already in object stores
# carry values derived this way, so a change to a derivation (its purpose label, its salt) would make
# every existing backup and archive unverifiable or unopenable.
KNOWN_KEY = "00" * 31 + "01"
KNOWN_KEY_ID = "hv1:9fea87e52f0d8848"
KNOWN_MANIFEST = b'{"backup_id": "20260101T000000Z"}'
KNOWN_MAC = "fd1ff85375189ab1aeb1eb304c25b3f15f6c540909c2ce9fa6d125f7be06fdd9"
KNOWN_WRAPPED = bytes.fromhex("533282a04a0de9a2f44603a0d96d17b29563d3bd4544579ee29f8ad7b010a1d6e9cc1b4e167f477f"
                              "516b9e3f65c7ba4da6e9f87e8562898cc0899400")


@pytest.mark.parametrize("hex_key", ["00" * 31, "00" * 33, ""])
def test_a_master_key_of_another_length_is_refused_saying_what_it_must_be(hex_key):
    with pytest.raises(ConfigurationError, match=r"^a master key must be 32 bytes \(64 hexadecimal characters\)$"):
        MasterKey.from_hex(hex_key)


def test_a_manifest_mac_and_a_wrapped_key_from_an_earlier_release_still_verify_and_open():
    keyring = Keyring.from_hex(KNOWN_KEY)
    assert keyring.active_key_id == KNOWN_KEY_ID
    assert keyring.mac(KNOWN_MANIFEST) == KNOWN_MAC
    keyring.verify_mac(KNOWN_MANIFEST, KNOWN_MAC)
    assert keyring.unwrap(WrappedKey(KNOWN_KEY_ID, KNOWN_WRAPPED)) == b"\x11" * 32


def test_a_retired_key_verifies_the_manifests_it_sealed_and_the_active_key_does_not():
    keyring = Keyring.from_hex(generate_hex_key(), [KNOWN_KEY])
    keyring.verify_mac(KNOWN_MANIFEST, KNOWN_MAC, KNOWN_KEY_ID)
    with pytest.raises(IntegrityError, match="^manifest authentication failed: it was altered or sealed with another key$"):
        keyring.verify_mac(KNOWN_MANIFEST, KNOWN_MAC)


def test_an_unknown_key_id_is_refused_saying_which_setting_adds_it():
    keyring = Keyring.from_hex(generate_hex_key())
    with pytest.raises(IntegrityError, match=f"^master key {KNOWN_KEY_ID} is not in the keyring: set ENCRYPTION_KEY "
                                             "or add the retired key to HV_ENCRYPTION_KEYS_RETIRED$"):
        keyring.unwrap(WrappedKey(KNOWN_KEY_ID, KNOWN_WRAPPED))


def test_the_repr_names_key_ids_and_never_a_key():
    keyring = Keyring.from_hex(KNOWN_KEY, [generate_hex_key()])
    assert repr(keyring) == f"Keyring(active={KNOWN_KEY_ID}, keys=2, kms=False)"
    assert KNOWN_KEY not in repr(keyring.active) and "secret" not in repr(keyring.active)
    assert repr(Keyring.from_hex(KNOWN_KEY, kms_key_id="k-1")).endswith("kms=True)")


def test_a_kms_key_from_the_settings_wraps_through_a_client_built_from_the_environment(moto_endpoint, monkeypatch):
    """HV_KMS_KEY_ID with no client handed in: boto3's own settings (here moto's KMS over HTTP) reach KMS."""
    for name, value in {"AWS_ENDPOINT_URL_KMS": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    kms_key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    keyring = Keyring.from_hex(generate_hex_key(), kms_key_id=kms_key)

    wrapped = keyring.wrap(b"\x22" * 32)
    assert wrapped.key_id == f"kms:{kms_key}" == keyring.active_key_id
    assert Keyring.from_hex(generate_hex_key(), kms_key_id=kms_key).unwrap(wrapped) == b"\x22" * 32
