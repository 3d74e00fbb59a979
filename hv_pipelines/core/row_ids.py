"""Primary keys for the rows one set-based INSERT creates: random UUIDs made in Python, sliced by PostgreSQL.

The schema's ids are Prisma's `uuid()`: a version-4 UUID in its text form. `gen_random_uuid()`
is the obvious way to make them inside an INSERT ... SELECT, but on a server built without OpenSSL
(pgserver's, the embedded default until it served TLS) every call opens and reads /dev/urandom:
~4 µs a row, two seconds of a SNOMED CT load. The same ids, made here from `os.urandom` in one go, travel as one
bytea parameter (36 bytes a row) and the statement cuts out the n-th for its n-th row: ~0.25 µs a row on any build.
"""

from __future__ import annotations

import os

import numpy as np

ID_LENGTH = 36
_BLOCK = 65_536
# Where the hex digits of a UUID's 16 bytes go in its 36-character text form (8-4-4-4-12).
_HEX_SLOTS = np.r_[0:8, 9:13, 14:18, 19:23, 24:36]


def new_ids(count: int) -> bytes:
    """`count` random version-4 UUIDs in lower-case text form, back to back (`ID_LENGTH` bytes each)."""
    return b"".join(_block(min(_BLOCK, count - start)) for start in range(0, count, _BLOCK))


def new_id(pool: str) -> str:
    """SQL for the id of each row a SELECT returns, in a select list: its row number's id among the
    `new_ids` bound as `%(pool)s` (bind at least as many ids as the SELECT can return)."""
    return f"convert_from(substring(%({pool})s::bytea FROM {ID_LENGTH} * (row_number() OVER ())::integer " \
           f"- {ID_LENGTH - 1} FOR {ID_LENGTH}), 'UTF8')"


def _block(count: int) -> bytes:
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    digits = np.frombuffer(raw.tobytes().hex().encode(), dtype=np.uint8).reshape(count, 32)
    text = np.full((count, ID_LENGTH), ord("-"), dtype=np.uint8)
    text[:, _HEX_SLOTS] = digits
    return text.tobytes()
