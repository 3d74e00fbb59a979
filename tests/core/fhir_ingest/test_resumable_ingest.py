"""An NDJSON file whose connection drops mid-file, in a whole sync against real PostgreSQL: resumed with
`Range` where the server allows it, downloaded again otherwise — every row present, none twice."""

from __future__ import annotations

import pytest

from tests.core.fhir_ingest.test_ehr_sync import sync
from tests.fakes.ehr_fixtures import rows, scalar

DROPPED = "Observation-1.ndjson"


def stored_resources(db_url: str) -> list[tuple]:
    return rows(db_url, "SELECT resource_type::text, fhir_id, count(*) FROM fhir_resources GROUP BY 1, 2 "
                        "ORDER BY 1, 2")


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "no-range"])
def test_a_mid_file_drop_loses_no_row_and_duplicates_none(migrated_db, keyring, ehr_server, connection_id,
                                                         ranges):
    ehr_server.ranges, ehr_server.drops = ranges, {DROPPED: 1}

    outcome = sync(migrated_db, connection_id, keyring)

    expected = {(r["resourceType"], r["id"]) for r in ehr_server.resources}
    stored = stored_resources(migrated_db)
    assert len(stored) == len(expected) == outcome.ingest.counts.created == 36
    assert all(count == 1 for *_key, count in stored)
    assert scalar(migrated_db, "SELECT sum(resources_queried) FROM sync_history") == 36  # the drop counted nothing
    assert ehr_server.downloads[DROPPED] == 2
    if ranges:  # the second request asked for the rest only
        assert len(ehr_server.range_requests) == 1 and ehr_server.range_requests[0] != "bytes=0-"
    else:       # the second request fetched the whole file, into a fresh transaction
        assert ehr_server.range_requests == []
