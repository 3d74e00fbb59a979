"""`hv terminology`: load LOINC, SNOMED CT, RxNorm, ICD-10-CM and CPT releases, and show what is loaded.

The database is `DATABASE_URL`; the rejects report goes to `HV_OBJECT_STORE_URL` (or the embedded
store under `HV_HOME/objects` in development).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hv_pipelines.core.settings import Settings, load_settings, mask_url
from hv_pipelines.core.storage import LocalStore, ObjectStore, open_store
from hv_pipelines.core.terminology import SYSTEMS, ReleaseCheckError, code_system, identify, load_release
from hv_pipelines.core.terminology.loader import (
    DEFAULT_COUNT_BAND,
    DEFAULT_MAX_REJECT_SHARE,
    release_bytes,
    status,
)


@click.group(name="terminology")
def command() -> None:
    """Load LOINC, SNOMED CT, RxNorm, ICD-10-CM and CPT releases."""


def _rejects_store(settings: Settings) -> ObjectStore:
    if settings.object_store_url:
        return open_store(settings.object_store_url, endpoint_url=settings.s3_endpoint_url, sse=settings.s3_sse,
                          kms_key_id=settings.kms_key_id)
    return LocalStore(settings.home / "objects")


@command.command()
@click.argument("system", type=click.Choice(SYSTEMS))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--version", "release_version", help="Release version, when the file name does not carry it.")
@click.option("--force", is_flag=True, help="Load even when the release is older than the loaded one.")
@click.option("--count-band", type=float, default=DEFAULT_COUNT_BAND, show_default=True,
              help="Allowed row-count change against the previous release (fraction).")
@click.option("--max-reject-share", type=float, default=DEFAULT_MAX_REJECT_SHARE, show_default=True,
              help="Largest share of the release's lines that may be rejected (10 lines always may); more fails "
                   "the load as a whole.")
def load(system: str, paths: tuple[Path, ...], release_version: str | None, force: bool, count_band: float,
         max_reject_share: float) -> None:
    """Load one release of SYSTEM from PATHS (the release zip, folder or file; for cpt, optionally also a
    licensee's LONGULT.txt)."""
    settings = load_settings()
    url = settings.database_url_for("terminology")
    store = _rejects_store(settings)
    title = code_system(system).title
    total = release_bytes(system, paths, release_version)
    try:
        with click.progressbar(length=total, label=f"{title}: reading", file=sys.stderr,
                               show_pos=False, show_percent=True) as bar:
            result = load_release(url, system, paths, version=release_version, store=store, force=force,
                                  count_band=count_band, max_reject_share=max_reject_share, progress=bar.update)
    except ReleaseCheckError as failure:
        for check in failure.checks:
            click.echo(f"  check {check.name}: {'passed' if check.passed else 'FAILED'} {check.metadata}", err=True)
        raise
    counts = result.counts.as_dict()
    click.echo(f"{title} {result.version} -> {mask_url(url)} ({result.seconds:.1f}s, "
               f"{result.rows_per_second:,.0f} rows/s)")
    click.echo(f'  "{code_system(system).target.table}": ' + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for table, related in result.related.items():
        click.echo(f'  "{table}": ' + ", ".join(f"{k} {v}" for k, v in related.as_dict().items()))
    click.echo(f"  rejected {result.rejects['count']}"
               + (f": report {store.location(result.rejects_key)}" if result.rejects_key else ""))
    for note in result.notes:
        click.echo(f"  note: {note}", err=True)


@command.command(name="status")
def show_status() -> None:
    """Which release of each code system is loaded, and the code tables' rows by status."""
    for row in status(load_settings().database_url_for("terminology")):
        loaded = (f"{row['version']} (loaded {row['loaded_at']:%Y-%m-%d %H:%M})" if row["version"]
                  else "no release loaded")
        counts = ", ".join(f"{k} {v}" for k, v in row["rows_by_status"].items()) or "empty"
        click.echo(f"{row['system']:<8} {loaded:<40} \"{row['table']}\": {counts}")


@command.command(name="identify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def identify_release(paths: tuple[Path, ...]) -> None:
    """Which code system and version each PATH is, from its publisher's name (as the landing sensor sees it)."""
    for path in paths:
        found = identify([path.name])
        click.echo(f"{path}: " + (f"{found.system} {found.version or '(version not in the name)'}" if found
                                  else "not recognised"))
