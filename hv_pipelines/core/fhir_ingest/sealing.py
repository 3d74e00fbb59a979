"""Small secrets and personal details at rest: sealed with the project's authenticated envelope.

An EHR client's private key and a customer's personal information are stored as text columns; each
is encrypted under a fresh data key wrapped by the keyring (`core.envelope`), so a key rotation keeps
old values readable through the retired keys, and any tampering fails authentication.
"""

from __future__ import annotations

import base64

from hv_pipelines.core.envelope import decrypt_stream, encrypt_stream
from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import Keyring

PREFIX = "hvenv1:"


def seal(keyring: Keyring, plaintext: bytes) -> str:
    return PREFIX + base64.b64encode(b"".join(encrypt_stream([plaintext], keyring))).decode("ascii")


def unseal(keyring: Keyring, sealed: str) -> bytes:
    if not sealed.startswith(PREFIX):
        raise IntegrityError("a sealed value has an unknown format: it was not written by hv_pipelines")
    try:
        raw = base64.b64decode(sealed[len(PREFIX):], validate=True)
    except ValueError:
        raise IntegrityError("a sealed value is not valid base64: it was altered") from None
    return b"".join(decrypt_stream([raw], keyring))
