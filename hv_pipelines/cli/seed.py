"""`hv seed`: make roles, permissions, retention policies and security configuration match the seed file.

Applies the seed in one transaction (or, with `--dry-run`, only plans it) and prints what it did per
table: insert / update / unchanged / extra, with the names of the rows that changed. Same core calls
as the Dagster `seed` assets.
"""

from __future__ import annotations

from pathlib import Path

import click

from hv_pipelines.core import db
from hv_pipelines.core.seed import SeedReport, apply_seed, load_seed, plan_seed
from hv_pipelines.core.settings import load_settings, mask_url
from hv_pipelines.core.standardize import sync_curated

_STATES = ("insert", "update", "unchanged", "extra")
_LISTED = (("insert", "insert"), ("update", "update"), ("extra", "extra (not in the file)"))


@click.command(name="seed")
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option("--prune", is_flag=True, help="Delete rows of the seeded tables that the file does not name.")
@click.option("--file", "seed_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Seed file (default: HV_SEED_FILE, else the packaged holovitals.yaml).")
def command(dry_run: bool, prune: bool, seed_file: Path | None) -> None:
    """Seed roles, permissions, retention policies and security configuration (idempotent)."""
    url = load_settings().database_url_for("migrations")
    seed = load_seed(seed_file)
    click.echo(f"seed file {seed.path} (sha256 {seed.sha256[:12]}) -> {mask_url(url)}")
    with db.connect(url) as conn:
        report = plan_seed(conn, seed) if dry_run else apply_seed(conn, seed, prune=prune)
        ranges = None if dry_run else sync_curated(conn)
    click.echo(render_plan(report, prune=prune))
    if ranges is not None:
        click.echo(f"reference ranges: {ranges.inserted} inserted, {ranges.updated} updated, {ranges.removed} "
                   f"removed, {ranges.molar_masses_set} molar masses set"
                   + (f"; {len(ranges.waiting_for_loinc)} LOINC codes not loaded yet (their ranges are added "
                      "by the next standardization or `hv seed` after the LOINC load)"
                      if ranges.waiting_for_loinc else ""))
    if dry_run:
        click.echo("dry run: nothing written")
        return
    inserted = sum(len(p.insert) for p in report.plans.values())
    updated = sum(len(p.update) for p in report.plans.values())
    deleted = sum(report.deleted(t) for t in report.plans)
    click.echo(f"applied in {report.seconds:.2f} s: {inserted} inserted, {updated} updated, {deleted} deleted"
               + ("" if report.changes else " (the database already matched the file)"))


def render_plan(report: SeedReport, *, prune: bool) -> str:
    width = max(len(t) for t in report.plans)
    lines = [f"{'table':<{width}}  " + "  ".join(f"{s:>9}" for s in _STATES)]
    for table, plan in report.plans.items():
        counts = plan.counts()
        lines.append(f"{table:<{width}}  " + "  ".join(f"{counts[s]:>9}" for s in _STATES))
    for table, plan in report.plans.items():
        for state, label in _LISTED:
            keys = getattr(plan, state)
            if keys:
                suffix = ""
                if state == "extra":
                    suffix = " - deleted (--prune)" if prune else " - kept; --prune deletes them"
                lines.append(f"  {table} {label}: {', '.join(keys)}{suffix}")
    return "\n".join(lines)
