"""Turning a block of NDJSON lines into COPY rows for `fhir_resources` staging — the per-resource work.

`process_block` runs in worker processes: it parses each line, validates it against the FHIR R4
model of its type (fhir.resources R4B models), extracts the display columns and renders the row in
COPY text format, so the parent only writes bytes to PostgreSQL. A line that is not JSON, not a
resource, or not valid becomes a `Reject` (line number, type, id, reason); reasons come from the
validator's location and message only, never the offending value, so they carry no PHI.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from hv_pipelines.core.fhir_ingest.extract import (
    attachment,
    patient_of,
    resource_category,
    resource_date,
    resource_status,
    resource_title,
)
from hv_pipelines.core.fhir_ingest.resource_types import bucket_of, stored_fhir_id

STAGE_COLUMNS = ("line_no", "fhir_type", "resource_type", "fhir_id", "raw_data", "title", "description",
                 "date", "category", "status", "content_type", "content_url", "content_size", "metadata")


@dataclass(frozen=True)
class Reject:
    line: int
    fhir_type: str | None
    fhir_id: str | None
    reason: str


@dataclass
class BlockResult:
    copy_rows: bytes = b""
    lines: int = 0
    accepted: int = 0
    rejects: list[Reject] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)


def copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    text = str(value)
    # str.replace scans at C speed; translate() would walk every character of a 1 KB resource in Python's
    # slower per-character path. Most values hold none of these characters and are returned unchanged.
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def validation_reason(exc: ValidationError, limit: int = 3) -> str:
    problems = [f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                for err in exc.errors(include_url=False, include_input=False, include_context=False)[:limit]]
    more = exc.error_count() - limit
    return ("invalid " + "; ".join(problems) + (f" (+{more} more)" if more > 0 else ""))[:400]


def version_tag(resource: dict[str, Any], line: bytes) -> str:
    """What identifies this version: meta.versionId + lastUpdated when the server sends them, else a
    hash of the content. An incoming resource with the tag already stored is skipped, not rewritten."""
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    if meta.get("versionId") or meta.get("lastUpdated"):
        return f"v:{meta.get('versionId', '')}|{meta.get('lastUpdated', '')}"
    return "sha256:" + hashlib.sha256(line).hexdigest()


def resource_metadata(fhir_type: str, patient: str | None, tag: str) -> str:
    """The `metadata` JSON of a row: sorted keys and fixed separators, so `"patient":"<id>",` appears
    verbatim and normalisation can select one patient's rows without casting every row to jsonb."""
    return json.dumps({"fhirType": fhir_type, "patient": patient, "version": tag},
                      separators=(",", ":"), sort_keys=True)


def stage_row(line_no: int, resource: dict[str, Any], line: bytes) -> str:
    fhir_type = resource["resourceType"]
    content_type, content_url, content_size = attachment(resource)
    description = resource.get("description") if fhir_type in ("DocumentReference", "CarePlan") else None
    values = (line_no, fhir_type, bucket_of(fhir_type), stored_fhir_id(fhir_type, resource["id"]),
              line.decode("utf-8"), resource_title(resource), description, resource_date(resource),
              resource_category(resource), resource_status(resource), content_type, content_url, content_size,
              resource_metadata(fhir_type, patient_of(resource), version_tag(resource, line)))
    return "\t".join(copy_field(v) for v in values) + "\n"


def check_resource(data: object) -> tuple[str | None, str | None, str | None]:
    """(type, id, reason-it-is-rejected) for a parsed line; reason is None for a valid resource."""
    if not isinstance(data, dict):
        return None, None, "not a JSON object"
    fhir_type, fhir_id = data.get("resourceType"), data.get("id")
    if not isinstance(fhir_type, str):
        return None, None, "no resourceType"
    if not isinstance(fhir_id, str) or not fhir_id:
        return fhir_type, None, "no id"
    try:
        model = get_fhir_model_class(fhir_type)
    except ValueError:
        return fhir_type[:64], fhir_id[:64], f"{fhir_type[:64]} is not an R4 resource type"
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return fhir_type, fhir_id[:64], validation_reason(exc)
    return fhir_type, fhir_id, None


def process_block(block: bytes, first_line: int) -> BlockResult:
    """Validate and render every line of `block`; line numbers start at `first_line` (1-based)."""
    result = BlockResult()
    rows: list[str] = []
    for offset, raw in enumerate(block.split(b"\n")):
        line = raw.strip()
        if not line:
            continue
        line_no = first_line + offset
        result.lines += 1
        try:
            data = json.loads(line)
        except ValueError as exc:
            reason = f"not JSON ({exc.msg} at column {exc.colno})" if isinstance(exc, json.JSONDecodeError) \
                else "not UTF-8 JSON"
            result.rejects.append(Reject(line_no, None, None, reason))
            continue
        fhir_type, fhir_id, reason = check_resource(data)
        if reason is not None:
            result.rejects.append(Reject(line_no, fhir_type, fhir_id, reason))
            continue
        rows.append(stage_row(line_no, data, line))
        result.by_type[fhir_type] += 1
    result.accepted = len(rows)
    result.copy_rows = "".join(rows).encode("utf-8")
    return result


def oversized_line(line_no: int, limit: int) -> BlockResult:
    return BlockResult(lines=1, rejects=[Reject(line_no, None, None, f"line longer than {limit} bytes")])
