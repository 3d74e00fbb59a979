import uuid

from hv_pipelines.core import db
from hv_pipelines.core.row_ids import ID_LENGTH, new_id, new_ids


def test_ids_are_distinct_version_4_uuids_in_their_text_form():
    pool = new_ids(70_000)  # more than one block
    ids = [pool[i:i + ID_LENGTH].decode() for i in range(0, len(pool), ID_LENGTH)]
    assert len(pool) == 70_000 * ID_LENGTH and len(set(ids)) == 70_000
    for text in ids[:1000] + ids[-1000:]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert new_ids(0) == b""


def test_postgresql_cuts_out_the_nth_id(empty_db):
    pool = new_ids(3)
    with db.connect(empty_db) as conn:
        rows = conn.execute(f"SELECT n, {new_id('ids')} FROM generate_series(1, 3) n ORDER BY n",
                            {"ids": pool}).fetchall()
    assert [text for _, text in rows] == [pool[i:i + ID_LENGTH].decode() for i in (0, 36, 72)]
