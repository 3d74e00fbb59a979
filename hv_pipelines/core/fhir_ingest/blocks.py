"""Feeding a streamed NDJSON file through the validation pool with bounded memory.

`line_blocks` cuts the decoded byte stream at line ends into ~1 MiB blocks; `validated_blocks`
keeps at most `max_in_flight` of them in the process pool and yields results in file order, so memory
is a few blocks per file however large the file is. With no pool the blocks are processed inline
(the serial baseline of the benchmark, and small test runs).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from hv_pipelines.core.child_env import ScrubbedSpawnContext
from hv_pipelines.core.fhir_ingest.chunks import BlockResult, oversized_line, process_block
from hv_pipelines.core.fhir_ingest.resource_types import OWN_BUCKET, SHARED_BUCKET

BLOCK_BYTES = 256 * 1024
MAX_LINE_BYTES = 64 * 1024 * 1024  # a resource larger than this (e.g. inlined scans) is quarantined


def _warm_up() -> None:
    """Import the model of every type HoloVitals stores in its own bucket, once per worker, when the pool
    starts: each costs 3-10 ms to import, and importing it at its first resource would spend that inside
    the export (twice over on 2 workers), on the time validation could have had."""
    from fhir.resources.R4B import get_fhir_model_class

    for name in (*OWN_BUCKET, *SHARED_BUCKET, "Bundle"):
        get_fhir_model_class(name)


def start_validation_pool(workers: int | None = None) -> ProcessPoolExecutor | None:
    """A process pool of `workers` (default: one per core); 0 means validate in the calling process.

    Workers are spawned, not forked: the parent runs download threads and database connections, which
    a fork would copy in an undefined state. They start from `child_env()`, not our environment: they
    parse and validate what an EHR sent and never need `ENCRYPTION_KEY`, the database password or a
    cloud credential.
    """
    count = os.cpu_count() or 1 if workers is None else workers
    if count <= 0:
        return None
    return ProcessPoolExecutor(max_workers=count, mp_context=ScrubbedSpawnContext(), initializer=_warm_up)


def line_blocks(chunks: Iterable[bytes], *, block_bytes: int = BLOCK_BYTES,
                max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """Yield (first line number, block) with blocks ending at a newline; `None` stands for one line
    longer than `max_line` (>= `block_bytes`), dropped and counted rather than held in memory."""
    pending = bytearray()
    last_newline = -1  # index of the last b"\n" in `pending`, -1 when it holds part of one line only
    line_no = 1
    skipping = False
    for chunk in chunks:
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            skipping, chunk = False, chunk[cut + 1:]
            line_no += 1
        found = chunk.rfind(b"\n")
        if found >= 0:
            last_newline = len(pending) + found
        pending += chunk
        if len(pending) < block_bytes:
            continue
        if last_newline >= 0:
            block = bytes(pending[: last_newline + 1])
            del pending[: last_newline + 1]
            last_newline = -1
            yield line_no, block
            line_no += block.count(b"\n")
        elif len(pending) > max_line:
            yield line_no, None
            pending.clear()
            skipping = True
    if pending and not skipping:
        yield line_no, bytes(pending)


def validated_blocks(blocks: Iterable[tuple[int, bytes | None]], pool: Executor | None, *,
                     max_in_flight: int | None = None) -> Iterator[BlockResult]:
    """Results of `process_block` for each block, in order, with at most `max_in_flight` pending."""
    limit = max_in_flight or 2 * getattr(pool, "_max_workers", 1)
    pending: deque[Future[BlockResult] | BlockResult] = deque()
    for first_line, block in blocks:
        if block is None:
            pending.append(oversized_line(first_line, MAX_LINE_BYTES))
        elif pool is None:
            pending.append(process_block(block, first_line))
        else:
            pending.append(pool.submit(process_block, block, first_line))
        while len(pending) > limit or (pending and isinstance(pending[0], BlockResult)):
            yield _result(pending.popleft())
    while pending:
        yield _result(pending.popleft())


def _result(item: Future[BlockResult] | BlockResult) -> BlockResult:
    return item if isinstance(item, BlockResult) else item.result()
