"""The hash chain's link is what catches an authentic archive put in another's place.

Two chains are sealed with the same master key (two databases archived into two stores, as a
staging and a production deployment sharing a key would). An archive of chain B — its manifest and
its parts, every MAC and SHA-256 intact — put in place of chain A's archive with the same sequence
number passes every other check of the store; only the link (each manifest names the SHA-256 of
the one before it) says it does not belong. The store is verified on its own, as after losing the
database: its records would add other evidence, and the link must not lean on it.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import DECRYPT, DIGEST, Month
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.storage import LocalStore
from tests.core.archival.audit_rows import insert_audit_rows, make_user

CHAIN_A = [Month(2023, 6), Month(2023, 7), Month(2023, 8)]
CHAIN_B = [Month(2024, 1), Month(2024, 2), Month(2024, 3)]


@pytest.fixture(scope="module")
def chains(pg_server_url: str, migrated_template: str, tmp_path_factory) -> tuple[Keyring, dict]:
    """Both chains, archived once per module: {name: (store root, [ArchiveResult, ...])}."""
    keyring = Keyring.from_hex(generate_hex_key())
    built = {}
    for name, months in (("A", CHAIN_A), ("B", CHAIN_B)):
        database = f"hv_chain_{uuid.uuid4().hex[:12]}"
        url = db.create_database(pg_server_url, database, template=migrated_template)
        try:
            user = make_user(url)
            root = tmp_path_factory.mktemp(f"chain-{name}")
            results = []
            for month in months:
                insert_audit_rows(url, month, 40, user)
                results.append(archival.archive_month(url, LocalStore(root), keyring, month))
        finally:
            db.drop_database(pg_server_url, database)
        built[name] = (root, results)
    return keyring, built


@pytest.fixture
def chain_a(chains, tmp_path: Path) -> LocalStore:
    """A copy of chain A's store for this test to tamper with."""
    _, built = chains
    shutil.copytree(built["A"][0], tmp_path / "a")
    return LocalStore(tmp_path / "a")


def _swap_in_b(chains, store: LocalStore, position: int) -> tuple[str, str]:
    """Replace chain A's archive at `position` with chain B's (manifest and parts); return both keys."""
    _, built = chains
    (_, ours), (b_root, theirs) = built["A"], built["B"]
    mine, foreign = ours[position], theirs[position]
    for key in [*mine.part_keys, mine.manifest_key]:
        store.delete(key)
    for key in [*foreign.part_keys, foreign.manifest_key]:
        store.put_bytes(key, LocalStore(b_root).read_bytes(key))
    return mine.manifest_key, foreign.manifest_key


def _problems(chains, store: LocalStore) -> list[str]:
    keyring, _ = chains
    report = archival.verify_archives(store, keyring, depth=DIGEST)
    assert report.objects_checked == 3, "every part was read and matched its manifest"
    return report.problems


def test_both_chains_verify_on_their_own(chains):
    keyring, built = chains
    for root, _ in built.values():
        report = archival.verify_archives(LocalStore(root), keyring, depth=DIGEST)
        assert report.ok and not report.notes and [a.sequence for a in report.archives] == [1, 2, 3]
        decrypted = archival.verify_archives(LocalStore(root), keyring, depth=DECRYPT)
        assert decrypted.ok and (decrypted.objects_checked, decrypted.rows_checked) == (3, 120)


def test_another_chains_archive_in_the_middle_breaks_the_links_on_both_sides(chains, chain_a):
    _, foreign = _swap_in_b(chains, chain_a, 1)
    after = chains[1]["A"][1][2].manifest_key

    problems = _problems(chains, chain_a)

    assert problems == [f"{foreign} does not link to the manifest before it: that one was replaced or altered "
                        "after this one was written",
                        f"{after} does not link to the manifest before it: that one was replaced or altered "
                        "after this one was written"]


def test_another_chains_newest_archive_is_caught_by_its_own_link(chains, chain_a):
    # Nothing follows the newest manifest: its own link is the only witness.
    _, foreign = _swap_in_b(chains, chain_a, 2)

    [problem] = _problems(chains, chain_a)

    assert problem.startswith(f"{foreign} does not link to the manifest before it")


def test_another_chains_first_archive_is_caught_by_the_next_link(chains, chain_a):
    # The first manifest links to nothing in either chain, so only the second one can tell.
    _swap_in_b(chains, chain_a, 0)
    second = chains[1]["A"][1][1].manifest_key

    [problem] = _problems(chains, chain_a)

    assert problem.startswith(f"{second} does not link to the manifest before it")


@pytest.mark.parametrize("depth", [DIGEST, DECRYPT])
def test_a_damaged_archive_counts_against_its_own_month_only(chains, chain_a, depth):
    # Rehydrating another month must stay possible: the problem is the damaged month's, not the chain's.
    damaged = chains[1]["A"][1][1]
    path = chain_a.root / damaged.part_keys[0]
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01
    path.write_bytes(bytes(data))

    report = archival.verify_archives(chain_a, chains[0], depth=depth)

    assert len(report.problems) == 1 and report.problems_for(CHAIN_A[1].label) == report.problems
    assert report.problems_for(CHAIN_A[0].label) == [] and report.problems_for(CHAIN_A[2].label) == []
