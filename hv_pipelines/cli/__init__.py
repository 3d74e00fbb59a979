"""The `hv` command: everything the Dagster UI does, from a shell (cron, break-glass, CI).

One module per command group, named like the domain it drives; none of them needs Dagster except
`hv dev` (which starts it) and `hv run` (which talks to a running webserver).
"""

from __future__ import annotations

import sys

import click

from hv_pipelines.core.errors import HVError

GROUPS = {
    "db": "hv_pipelines.cli.db",
    "seed": "hv_pipelines.cli.seed",
    "terminology": "hv_pipelines.cli.terminology",
    "ehr": "hv_pipelines.cli.ehr",
    "standardize": "hv_pipelines.cli.standardize",
    "backup": "hv_pipelines.cli.backup",
    "audit": "hv_pipelines.cli.audit",
    "wal": "hv_pipelines.cli.wal",
    "pitr": "hv_pipelines.cli.pitr",
    "dev": "hv_pipelines.cli.dev",
    "run": "hv_pipelines.cli.run",
}


class LazyGroup(click.Group):
    """Imports a group's module only when that group runs, so `hv --help` stays fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(GROUPS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in GROUPS:
            return None
        import importlib

        return importlib.import_module(GROUPS[name]).command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """HoloVitals data operations: migrations, seed, terminology, EHR sync, backups, audit archival."""


def main() -> None:
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HVError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        from hv_pipelines.cli.failures import database_failure

        if (message := database_failure(exc)) is None:
            raise
        click.echo(f"error: {message}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
