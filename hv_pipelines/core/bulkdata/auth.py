"""SMART Backend Services authorization: a JWT client assertion (RS384/ES384) exchanged for a token.

The token endpoint is discovered from `<base>/.well-known/smart-configuration`. Tokens are cached and
fetched again shortly before they expire; after a 401 the client calls `invalidate()` and retries
once with a fresh token. Servers that need no authorization (public test servers) use `OpenAccess`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from hv_pipelines.core.bulkdata.errors import AuthorizationError, BulkDataError, safe_url

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # the SMART spec allows at most five minutes
REFRESH_MARGIN = 60  # fetch a new token this many seconds before the current one expires


def discover_token_endpoint(http: httpx.Client, base_url: str) -> str:
    url = base_url.rstrip("/") + "/.well-known/smart-configuration"
    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise BulkDataError(f"cannot reach {safe_url(url)} ({type(exc).__name__}): check the connection's "
                            "FHIR base URL and the network path to the EHR") from None
    if response.status_code != 200:
        raise BulkDataError(f"{safe_url(url)} answered {response.status_code}: the FHIR base URL is wrong or "
                            "the server does not publish SMART configuration; set tokenEndpoint on the "
                            "connection")
    try:
        endpoint = response.json()["token_endpoint"]
    except (ValueError, KeyError, TypeError):
        raise BulkDataError(f"{safe_url(url)} has no token_endpoint: set tokenEndpoint on the "
                            "connection") from None
    return str(endpoint)


@dataclass(frozen=True)
class SigningKey:
    """A private key and the JOSE algorithm it signs with (RS384 for RSA, ES384 for EC P-384)."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(repr=False)
    algorithm: str
    kid: str | None = None

    @classmethod
    def from_pem(cls, pem: bytes, *, kid: str | None = None) -> SigningKey:
        try:
            key = load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            raise AuthorizationError("the EHR private key is not an unencrypted PEM private key: export it "
                                     "with `openssl pkcs8 -topk8 -nocrypt`") from None
        if isinstance(key, rsa.RSAPrivateKey):
            return cls(key, "RS384", kid)
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
            return cls(key, "ES384", kid)
        raise AuthorizationError("the EHR private key must be RSA (RS384) or EC P-384 (ES384), as SMART "
                                 "Backend Services requires")


class OpenAccess:
    """An open server: no Authorization header at all."""

    def headers(self) -> dict[str, str]:
        return {}

    def invalidate(self) -> None:
        """Nothing cached, nothing to drop."""


class BackendServicesAuth:
    """Client-credentials tokens obtained with a signed JWT assertion, cached until shortly before expiry."""

    def __init__(self, http: httpx.Client, *, base_url: str, client_id: str, signing_key: SigningKey,
                 scopes: str, token_endpoint: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._http = http
        self._base_url = base_url
        self._client_id = client_id
        self._signing_key = signing_key
        self._scopes = scopes
        self._token_endpoint = token_endpoint
        self._clock = clock  # what the token cache measures expiry with
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"BackendServicesAuth(client_id={self._client_id!r}, alg={self._signing_key.algorithm})"

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN:
                self._token, lifetime = self._fetch_token()
                self._expires_at = self._clock() + lifetime
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _assertion(self, audience: str) -> str:
        now = int(time.time())  # the server checks exp/iat against real time, whatever clock the cache uses
        claims = {"iss": self._client_id, "sub": self._client_id, "aud": audience,
                  "exp": now + ASSERTION_LIFETIME, "iat": now, "jti": uuid.uuid4().hex}
        headers = {"typ": "JWT", **({"kid": self._signing_key.kid} if self._signing_key.kid else {})}
        return jwt.encode(claims, self._signing_key.key, algorithm=self._signing_key.algorithm,
                          headers=headers)

    def _fetch_token(self) -> tuple[str, float]:
        if self._token_endpoint is None:
            self._token_endpoint = discover_token_endpoint(self._http, self._base_url)
        endpoint = self._token_endpoint
        form = {"grant_type": "client_credentials", "scope": self._scopes,
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": self._assertion(endpoint)}
        try:
            response = self._http.post(endpoint, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise BulkDataError(f"cannot reach the token endpoint {safe_url(endpoint)} "
                                f"({type(exc).__name__}): check the network path to the EHR") from None
        if response.status_code != 200:
            raise AuthorizationError(
                f"the token endpoint {safe_url(endpoint)} refused client {self._client_id!r} "
                f"({response.status_code} {_oauth_error(response)}): check the client id, that the public "
                "key is registered with the EHR, and the granted scopes")
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise AuthorizationError(f"the token endpoint {safe_url(endpoint)} returned no "
                                     "access_token") from None
        self.tokens_fetched += 1
        return token, lifetime


def _oauth_error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", "error"))[:60]
    except (ValueError, AttributeError):
        return "error"
