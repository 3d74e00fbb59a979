"""Seed domain: the seed assets and their drift check. The schema domain's `migrate_and_seed` job
selects group `seed` after `schema`, so a fresh database is migrated and seeded in one run."""

import dagster as dg

from hv_pipelines.assets.seed import seed_matches_database, seed_tables

defs = dg.Definitions(
    assets=[seed_tables],
    asset_checks=[seed_matches_database],
)
