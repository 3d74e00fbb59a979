"""The user's `customer_repositories` row, created from their Patient resource when missing.

Identity hashes are keyed HMACs (the keyring's MAC key), not plain hashes: a name and birth date are
guessable, so an unkeyed hash of them would be a lookup table away from the identity. Personal
information is sealed with the keyring and never leaves the row in clear.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.fhir_ingest.sealing import seal
from hv_pipelines.core.keyring import Keyring

MOTHERS_MAIDEN_NAME = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"


def _norm(value: Any) -> str:
    return " ".join(str(value or "").lower().split())


def _official_name(patient: dict[str, Any]) -> dict[str, Any]:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    return next((n for n in names if n.get("use") == "official"), names[0] if names else {})


def identity_hashes(keyring: Keyring, patient: dict[str, Any]) -> tuple[str, str, str]:
    """(primary, secondary, composite): name + birth date; first identifier (else gender + postal code);
    both together."""
    name = _official_name(patient)
    given = (name.get("given") or [""])[0]
    primary = keyring.mac(f"hv-identity-primary|{_norm(name.get('family'))}|{_norm(given)}|"
                          f"{patient.get('birthDate', '')}".encode())
    identifier = next((i for i in patient.get("identifier") or []
                       if isinstance(i, dict) and i.get("value")), None)
    if identifier:
        secondary_source = f"id|{_norm(identifier.get('system'))}|{_norm(identifier['value'])}"
    else:
        address = (patient.get("address") or [{}])[0]
        secondary_source = f"demo|{_norm(patient.get('gender'))}|{_norm(address.get('postalCode'))}"
    secondary = keyring.mac(f"hv-identity-secondary|{secondary_source}".encode())
    composite = keyring.mac(f"hv-identity-composite|{primary}|{secondary}".encode())
    return primary, secondary, composite


def personal_info(patient: dict[str, Any], connection_id: str) -> dict[str, Any]:
    return {"name": _official_name(patient), "birthDate": patient.get("birthDate"),
            "gender": patient.get("gender"),
            "address": patient.get("address") or [], "telecom": patient.get("telecom") or [],
            "identifier": patient.get("identifier") or [],
            "source": {"connectionId": connection_id, "patientId": patient.get("id")}}


def repository_of(conn: psycopg.Connection, user_id: str) -> str | None:
    row = conn.execute("SELECT id FROM customer_repositories WHERE user_id = %s", (user_id,)).fetchone()
    return row[0] if row else None


def ensure_repository(conn: psycopg.Connection, keyring: Keyring, *, user_id: str, connection_id: str,
                      patient: dict[str, Any]) -> tuple[str, bool]:
    """(repository id, created?) of the user's repository, creating it from `patient` when missing."""
    existing = repository_of(conn, user_id)
    if existing:
        return existing, False
    primary, secondary, composite = identity_hashes(keyring, patient)
    sealed = seal(keyring, json.dumps(personal_info(patient, connection_id), sort_keys=True).encode())
    addresses = [a for a in patient.get("address") or [] if isinstance(a, dict)]
    row = conn.execute(
        """INSERT INTO customer_repositories (id, user_id, primary_identity_hash, secondary_identity_hash,
                  composite_identity_hash, encrypted_personal_info, has_mothers_maiden_name,
                  has_previous_address, updated_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now()) ON CONFLICT DO NOTHING RETURNING id""",
        (str(uuid.uuid4()), user_id, primary, secondary, composite, sealed,
         any(e.get("url") == MOTHERS_MAIDEN_NAME for e in patient.get("extension") or []
             if isinstance(e, dict)),
         any(a.get("use") == "old" or (a.get("period") or {}).get("end") for a in addresses))).fetchone()
    if row:
        return row[0], True
    existing = repository_of(conn, user_id)
    if existing:  # created concurrently by the application
        return existing, False
    raise HVError(f"another HoloVitals user already has a repository with the identity of the patient of "
                  f"connection {connection_id}: resolve the duplicate account before syncing this connection")
