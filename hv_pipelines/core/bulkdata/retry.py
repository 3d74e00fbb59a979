"""When to ask the server again: `Retry-After` first, otherwise exponential backoff with jitter; every
wait capped, and a status URL paced.

Real Bulk Data servers send `Retry-After` values that are neither of HTTP's two forms (an absolute epoch
timestamp in milliseconds is common) and block clients that poll a status URL too often. So: a value that
is not delay-seconds or an HTTP-date — or is all digits but as large as an epoch timestamp — is unknown
and the backoff decides; no single wait exceeds the cap (`DEFAULT_WAIT_CAP`, configurable); a status URL
is never asked more often than once a second, nor sooner than the last `Retry-After` of a 202 asked, and
a long export's polls are spaced out up to a minute.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_WAIT_CAP = 300.0  # no single wait is longer (a Retry-After above it waits this long)
MIN_POLL_INTERVAL = 1.0
# delay-seconds this large are epoch timestamps (seconds since 2001, or milliseconds), not delays.
EPOCH_LIKE = 10**9


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
        base = min(self.cap, self.initial * self.factor ** min(max(0, attempt), 64))
        spread = 1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)
        return min(self.cap, max(0.0, base * spread))


POLL_BACKOFF = Backoff(initial=1.0, factor=2.0, cap=60.0, jitter=0.1)  # 1, 2, 4, ... 60 s between polls


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait per a `Retry-After` header: delay-seconds or an HTTP-date; None when absent or
    anything else (an epoch timestamp, a fraction, a negative number, text)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = int(value)
        return float(seconds) if seconds < EPOCH_LIKE else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def next_delay(retry_after: str | None, backoff: Backoff, attempt: int, *,
               cap: float = DEFAULT_WAIT_CAP) -> float:
    """The server's `Retry-After` when it sent a valid one, else the backoff delay; never above `cap`."""
    advised = retry_after_seconds(retry_after)
    return min(advised if advised is not None else backoff.delay(attempt), cap)


@dataclass
class StatusPacing:
    """The waits between requests to one export's status URL.

    `floor` is the shortest interval allowed: a second, raised to the last `Retry-After` a 202 carried
    (capped). After each 202 the wait is the larger of the floor and `backoff` (which grows with the
    number of polls, to a minute by default); a 429/5xx retry waits its own delay but never less than
    the floor. Nothing waits longer than `cap`.
    """

    cap: float = DEFAULT_WAIT_CAP
    backoff: Backoff = POLL_BACKOFF
    floor: float = MIN_POLL_INTERVAL
    polls: int = 0

    def after_accepted(self, retry_after: str | None) -> float:
        advised = retry_after_seconds(retry_after)
        if advised is not None:
            self.floor = self._bounded(advised)
        delay = max(self.floor, self.backoff.delay(self.polls))
        self.polls += 1
        return self._bounded(delay)

    def after_refused(self, retry_after: str | None, backoff: Backoff, attempt: int) -> float:
        return self._bounded(max(self.floor, next_delay(retry_after, backoff, attempt, cap=self.cap)))

    def _bounded(self, seconds: float) -> float:
        return max(MIN_POLL_INTERVAL, min(seconds, max(self.cap, MIN_POLL_INTERVAL)))
