"""Which requested resource types an export's `error[]` OperationOutcomes say were not delivered.

The Bulk Data IG 2.0 lets a server complete an export in which some resources failed: the manifest's
`error[]` lists NDJSON files of OperationOutcomes ("error, warning, and information messages related to
the export"). The IG defines no field naming the failed type, so an issue is attributed by what it names
in `expression`, `location`, `details.text` or `diagnostics`:

- a requested type named as a word (`Patient`, `Observations`) or a reference (`Condition/c-1`): that
  type failed;
- only references to types that were not requested (`Binary/b-9`, a supporting resource): the requested
  types were delivered; the issue is reported;
- nothing recognisable ("An internal timeout has occurred", the IG's own example): every requested type
  is treated as failed, because nothing says which data is missing.

Severities follow FHIR's definitions: `fatal` and `error` mean the action failed; `warning` ("not
important enough to cause the action to fail") and `information` are reported and fail nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FAILING_SEVERITIES = frozenset({"fatal", "error"})
_REFERENCE = re.compile(r"\b([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}")


def _texts(issue: dict[str, Any]) -> Iterable[str]:
    for key in ("expression", "location"):
        values = issue.get(key)
        if isinstance(values, list):
            yield from (v for v in values if isinstance(v, str))
    details = issue.get("details")
    if isinstance(details, dict) and isinstance(details.get("text"), str):
        yield details["text"]
    if isinstance(issue.get("diagnostics"), str):
        yield issue["diagnostics"]


@dataclass
class ErrorTally:
    """The failing issues of one error file, by what they name (no message text is kept)."""

    requested: tuple[str, ...]
    failed_types: Counter[str] = field(default_factory=Counter)
    unattributed: int = 0  # failing issues naming nothing: every requested type counts as failed
    other_types: int = 0  # failing issues naming only types that were not requested

    def add(self, issue: dict[str, Any]) -> None:
        if str(issue.get("severity", "")).lower() not in FAILING_SEVERITIES:
            return
        text = " ".join(_texts(issue))
        named = {t for t in self.requested if re.search(rf"\b{re.escape(t)}s?\b", text)}
        if named:
            self.failed_types.update(named)
        elif _REFERENCE.search(text):
            self.other_types += 1
        else:
            self.unattributed += 1

    def as_summary(self) -> dict[str, Any]:
        return {"failedTypes": dict(self.failed_types), "unattributed": self.unattributed,
                "otherTypes": self.other_types}
