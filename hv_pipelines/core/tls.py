"""A local certificate authority for PostgreSQL's TLS: a CA and a server certificate signed by it.

Development and the test suite serve TLS the way production does, so clients connect with
`sslmode=verify-full` and `sslrootcert=<ca.crt>` everywhere and a wrong CA or host name fails
the same way. The CA's key stays next to its certificate (mode 0600) to sign a new server
certificate; it never signs anything else. Production uses the organisation's own CA instead.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hv_pipelines.core import db

VALIDITY = timedelta(days=825)  # the most a TLS client accepts for a server certificate


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hv_pipelines local CA"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def local_ca(directory: Path, hosts: list[str]) -> TlsFiles:
    """The CA and server certificate under `directory`, created when missing; the server certificate
    names `hosts` (DNS names or IP addresses), the only names verify-full accepts for it."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    if files.ca_cert.exists() and files.server_cert.exists() and files.server_key.exists():
        return files
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    # A name of its own: two local CAs with one name would be confused for each other by a client.
    ca_name = _name(f"hv_pipelines development CA {secrets.token_hex(4)}")
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + VALIDITY)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(ca_cert.subject)
                   .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                   .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .sign(ca_key, hashes.SHA256()))
    _write_key(directory / "ca.key", ca_key)
    _write_key(files.server_key, server_key)
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def verify_full_url(url: str, ca_cert: Path) -> str:
    """`url` with `sslmode=verify-full` and `sslrootcert` set (replacing any it had)."""
    parsed = db.sqlalchemy_url(url)
    query = {**parsed.query, "sslmode": "verify-full", "sslrootcert": str(ca_cert)}
    return parsed.set(query=query).render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://", 1)
