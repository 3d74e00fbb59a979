"""The declarative base shared by every HoloVitals model, and the client-side defaults Prisma uses.

Prisma computes `@default(uuid())`, `@default(cuid())` and `@updatedAt` in its client, not in the
database, so the DDL has no default for those columns. The models do the same, so a row the
pipeline writes is indistinguishable from one the application writes.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    type_annotation_map = {
        str: sa.Text(),
        int: sa.Integer(),
        float: sa.Double(),
        bool: sa.Boolean(),
        datetime: TIMESTAMP(precision=3),
    }


def new_uuid() -> str:
    """`@default(uuid())`: a random (version 4) UUID as text."""
    return str(uuid.uuid4())


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_counter_lock = threading.Lock()
_counter = secrets.randbelow(36**4)


def _base36(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, rem = divmod(value, 36)
        digits.append(_BASE36[rem])
    return "".join(reversed(digits))


def _fingerprint() -> str:
    pid = _base36(os.getpid(), 2)
    host = sum(os.uname().nodename.encode()) + 36
    return pid + _base36(host, 2)


def new_cuid() -> str:
    """`@default(cuid())`: a collision-resistant id in Prisma's cuid (v1) format.

    'c' + 8 chars of millisecond timestamp + 4 of a per-process counter + 4 of host/process
    fingerprint + 8 random, all base36: 25 characters that sort roughly by creation time.
    """
    global _counter
    with _counter_lock:
        _counter = (_counter + 1) % 36**4
        count = _counter
    return (
        "c"
        + _base36(int(time.time() * 1000), 8)
        + _base36(count, 4)
        + _fingerprint()
        + _base36(secrets.randbelow(36**8), 8)
    )


def utcnow() -> datetime:
    """`@updatedAt` and timestamps: naive UTC, as Prisma stores `DateTime` in `TIMESTAMP(3)`."""
    return datetime.now(UTC).replace(tzinfo=None)
