"""`hv standardize`: standardize EHR connections' lab results again, and load a lab's reference ranges.

`hv standardize CONNECTION` / `--all` runs the same stage as the Dagster asset
`lab_result_standardizations` (and as the last stage of `hv ehr sync`); `hv standardize ranges load
FILE.csv` adds a lab's own ranges, which win over the curated ones.
"""

from __future__ import annotations

from pathlib import Path

import click

from hv_pipelines.core import db
from hv_pipelines.core.fhir_ingest.connections import list_connections
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.standardize import StandardizeOutcome, load_lab_ranges, standardize_stage


class _ConnectionOrCommand(click.Group):
    """`hv standardize ID` reads as `hv standardize run ID`, beside the `ranges` subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(name="standardize", cls=_ConnectionOrCommand)
def command() -> None:
    """Standardize lab results to LOINC and UCUM: `hv standardize CONNECTION | --all`."""


@command.command(name="run")
@click.argument("connection_id", required=False)
@click.option("--all", "every", is_flag=True, help="Every EHR connection.")
def run(connection_id: str | None, every: bool) -> None:
    """Standardize one connection's lab results (or every connection's) and report code coverage."""
    if bool(connection_id) == every:
        raise click.UsageError("name one EHR connection, or pass --all")
    url = load_settings().database_url_for("ehr")
    if every:
        with db.connect(url) as conn:
            ids = [c.id for c in list_connections(conn)]
    else:
        ids = [connection_id]
    outcome = standardize_stage(url, ids)
    click.echo(f"{len(outcome.scope.connections)} connection(s): " + summary(outcome))
    if outcome.scope.busy:
        click.echo(f"skipped, a sync is running: {', '.join(outcome.scope.busy)} — run again when it ends", err=True)


def summary(outcome: StandardizeOutcome) -> str:
    """Counts and coverage, codes only (never values): what `hv ehr sync` prints as its last line too."""
    counts = outcome.counts
    if not outcome.scope.connections and outcome.scope.no_patient:
        return "lab results: not standardized — the connection names no patient (set ehr_connections.customer_id)"
    lines = [f"lab results: {counts.results} read, {counts.standardized} standardized "
             f"({counts.inserted} inserted, {counts.updated} updated, {counts.removed} removed), "
             f"{counts.converted} of {counts.quantitative} quantitative converted to UCUM"]
    if counts.unmapped:
        listed = ", ".join(f"{system or '-'}|{code}" for (code, system), _ in counts.unmapped.most_common(10))
        lines.append(f"  no LOINC term for {sum(counts.unmapped.values())} result(s) (not in the loaded LOINC "
                     f"release nor in CodeMapping): {listed}")
    if counts.not_converted:
        lines.append("  not converted: " + ", ".join(f"{flag.removeprefix('unit:')} {n}"
                                                    for flag, n in counts.not_converted.most_common()))
    shares = outcome.coverage.share_by_system()
    if shares:
        lines.append("  codes resolved: " + ", ".join(
            f"{system} {'no terminology loaded' if share is None else f'{share:.0%}'}"
            for system, share in shares.items()))
    return "\n".join(lines)


@command.group()
def ranges() -> None:
    """Reference ranges: the curated set ships with the pipeline; a lab's own are loaded here."""


@ranges.command(name="load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load(path: Path) -> None:
    """Load a lab's reference ranges (CSV: loinc,type,low,high,unit,sex,age_min,age_max,source)."""
    url = load_settings().database_url_for("ehr")
    with db.connect(url) as conn:
        loaded = load_lab_ranges(conn, path)
    click.echo(f"{path.name}: {loaded.inserted} inserted, {loaded.updated} updated, {loaded.unchanged} unchanged")
    if loaded.waiting_for_loinc:
        click.echo(f"skipped {len(loaded.waiting_for_loinc)} LOINC code(s) not loaded yet "
                   f"({', '.join(loaded.waiting_for_loinc[:10])}): load LOINC, then load this file again",
                   err=True)
