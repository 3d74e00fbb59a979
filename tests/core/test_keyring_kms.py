"""Data keys wrapped by AWS KMS (HV_KMS_KEY_ID), against moto's KMS over real HTTP."""

from __future__ import annotations

import boto3
import pytest

from hv_pipelines.core.envelope import decrypt_stream, encrypt_stream, read_header
from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring, MasterKey, generate_hex_key


@pytest.fixture
def kms(moto_endpoint: str):
    return boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")


def _keyring(kms, kms_key_id: str | None) -> Keyring:
    return Keyring(MasterKey.from_hex(generate_hex_key()), kms_key_id=kms_key_id, kms_client=kms)


def test_kms_wrapped_stream_round_trips_and_names_the_kms_key(kms) -> None:
    key_id = kms.create_key(Description="hv backups")["KeyMetadata"]["KeyId"]
    keyring = _keyring(kms, key_id)
    plaintext = [b"pg_dump bytes " * 5000, b"tail"]
    sealed = b"".join(encrypt_stream(plaintext, keyring, chunk_size=4096))

    assert read_header([sealed]).key_id == f"kms:{key_id}"
    assert b"pg_dump bytes" not in sealed
    # Any process with KMS access opens it: the master key of the reader does not matter.
    reader = _keyring(kms, None)
    assert b"".join(decrypt_stream([sealed], reader)) == b"".join(plaintext)


def test_tampered_kms_sealed_stream_is_refused(kms) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    sealed = bytearray(b"".join(encrypt_stream([b"x" * 10_000], _keyring(kms, key_id), chunk_size=4096)))
    sealed[-5] ^= 0x01  # tamper with the last chunk
    with pytest.raises(IntegrityError):
        b"".join(decrypt_stream([bytes(sealed)], _keyring(kms, None)))
