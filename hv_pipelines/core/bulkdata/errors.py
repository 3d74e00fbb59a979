"""What can go wrong talking to an EHR's FHIR Bulk Data server, each error saying what to do next.

Messages carry URLs without query strings, HTTP statuses, OAuth error codes and OperationOutcome
issue codes: never tokens, keys or resource content.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from hv_pipelines.core.errors import HVError


def safe_url(url: str) -> str:
    """`url` without its query string and credentials (signed download URLs carry secrets there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class BulkDataError(HVError):
    """The bulk-data server refused or failed an operation."""


class AuthorizationError(BulkDataError):
    """The EHR refused our credentials: the connection needs an operator (new key, client id, scopes)."""


class ExportFailed(BulkDataError):
    """The server reported the export (or its kick-off) as failed with an OperationOutcome."""


class OutputExpired(BulkDataError):
    """A status or output URL is gone (404/410): the export has to be kicked off again."""


class ServerUnavailable(BulkDataError):
    """The server kept answering 429/5xx (or not at all) after every retry."""


def outcome_summary(body: object, *, limit: int = 3) -> str:
    """A short, PHI-free description of an OperationOutcome: severity, code and diagnostics of its issues.

    Kick-off and status OperationOutcomes describe the request (unsupported `_type`, bad group id),
    so their diagnostics are what an operator needs; they are truncated to keep messages short.
    """
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return "no OperationOutcome in the response"
    parts = []
    for issue in (body.get("issue") or [])[:limit]:
        if not isinstance(issue, dict):
            continue
        text = str(issue.get("diagnostics") or (issue.get("details") or {}).get("text") or "")[:160]
        parts.append(f"{issue.get('severity', '?')}/{issue.get('code', '?')}" + (f": {text}" if text else ""))
    return "; ".join(parts) or "an OperationOutcome without issues"
