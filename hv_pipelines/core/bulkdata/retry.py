"""When to ask the server again: `Retry-After` first, otherwise exponential backoff with jitter and a cap."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt `n` (0-based): `initial * factor**n`, capped, then spread by +/- `jitter`.

    The jitter keeps many connections polling one EHR from hitting it in lock-step.
    """

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 120.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.initial * self.factor ** max(0, attempt))
        spread = 1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)
        return min(self.cap, max(0.0, base * spread))


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait per a `Retry-After` header: delta-seconds or an HTTP date; None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def next_delay(retry_after: str | None, backoff: Backoff, attempt: int) -> float:
    """The server's `Retry-After` when it sent one (never above the cap), else the backoff delay."""
    advised = retry_after_seconds(retry_after)
    if advised is not None:
        return min(advised, backoff.cap)
    return backoff.delay(attempt)
