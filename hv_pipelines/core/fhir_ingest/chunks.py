"""Turning a block of NDJSON lines into COPY rows for `fhir_resources` staging — the per-resource work.

`process_block` runs in worker processes: it parses each line once, validates the parsed resource
against the FHIR R4 model of its type (fhir.resources R4B models), extracts the display columns and
renders the row in COPY text format, so the parent only writes bytes to PostgreSQL. The stored
`raw_data` is the original line, not a re-serialisation of the model. A line that is not JSON, not a
resource, or not valid becomes a `Reject` (line number, type, id, reason); reasons come from the
parser's or validator's location and message only, never the offending value, so they carry no PHI.

Validation is what a resource must cost; everything else here is kept to a few microseconds per
resource (see `bench/ehr_ingest.py`), because on a busy machine it is taken from validation.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from pydantic_core import from_json

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
NULL = "\\N"


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
        return NULL
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return copy_text(str(value))


def copy_text(text: str) -> str:
    """`text` escaped for COPY text format. `str.replace` and `in` scan at C speed; most values hold
    none of these characters and are returned unchanged. NUL cannot be stored in PostgreSQL text (a
    JSON `\\u0000` decodes to it), so it is dropped rather than failing the whole file's COPY."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if "\x00" in text:
        text = text.replace("\x00", "")
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
    verbatim and normalisation can select one patient's rows without casting every row to jsonb.

    Written by hand rather than with `json.dumps(..., sort_keys=True, separators=(",", ":"))`, which
    gives the same text at a third of the speed; the stored text must not change, as the merge
    compares it to decide that a resource is unchanged."""
    return ('{"fhirType":' + encode_basestring_ascii(fhir_type)
            + ',"patient":' + ("null" if patient is None else encode_basestring_ascii(str(patient)))
            + ',"version":' + encode_basestring_ascii(tag) + "}")


def stage_row(line_no: int, resource: dict[str, Any], line: bytes, text: str) -> str:
    """The COPY text row of a valid resource; `text` is `line` decoded, stored as `raw_data`."""
    fhir_type = resource["resourceType"]
    if fhir_type == "DocumentReference" or fhir_type == "CarePlan":
        content_type, content_url, content_size = attachment(resource)
        description = resource.get("description")
        document = (copy_field(description), copy_field(content_type), copy_field(content_url),
                    copy_field(content_size))
    else:
        document = (NULL, NULL, NULL, NULL)
    title, date = resource_title(resource), resource_date(resource)
    category, status = resource_category(resource), resource_status(resource)
    return "\t".join((
        str(line_no), fhir_type, bucket_of(fhir_type), copy_text(stored_fhir_id(fhir_type, resource["id"])),
        copy_text(text), NULL if title is None else copy_text(title), document[0],
        NULL if date is None else date.isoformat(sep=" "), NULL if category is None else copy_text(category),
        NULL if status is None else copy_text(status), document[1], document[2], document[3],
        copy_text(resource_metadata(fhir_type, patient_of(resource), version_tag(resource, line))),
    )) + "\n"


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


def parse_line(line: bytes) -> tuple[object, str, None] | tuple[None, None, str]:
    """(parsed JSON, the line as text, None) or (None, None, reason it is not JSON).

    Parsed once, with pydantic-core's JSON parser (the one `model_validate_json` uses; about twice as
    fast as `json.loads`, same values). Unlike `json.loads` it refuses lone UTF-16 surrogate escapes,
    which PostgreSQL could not store: such a line is quarantined instead of failing the file's COPY."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, None, "not UTF-8"
    try:
        return from_json(line), text, None
    except ValueError as exc:
        return None, None, f"not JSON ({str(exc)[:120]})"


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
        data, text, reason = parse_line(line)
        if reason is not None:
            result.rejects.append(Reject(line_no, None, None, reason))
            continue
        fhir_type, fhir_id, reason = check_resource(data)
        if reason is not None:
            result.rejects.append(Reject(line_no, fhir_type, fhir_id, reason))
            continue
        rows.append(stage_row(line_no, data, line, text))
        result.by_type[fhir_type] += 1
    result.accepted = len(rows)
    result.copy_rows = "".join(rows).encode("utf-8")
    return result


def oversized_line(line_no: int, limit: int) -> BlockResult:
    return BlockResult(lines=1, rejects=[Reject(line_no, None, None, f"line longer than {limit} bytes")])
