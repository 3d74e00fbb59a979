"""pg_dump and pg_restore wrapped in scripts that record each run's environment, then exec the real tool.

Point `HV_PG_BIN` at the directory and every backup and restore runs through them: a test can then read
what each child was given (no secret may be there) and whether pg_restore ran at all.
"""

from __future__ import annotations

from pathlib import Path

from hv_pipelines.core.backup import tools

WRAPPER = """#!/bin/sh
if [ "$1" != "--version" ]; then env > "{log_dir}/{name}.$$.env"; fi
exec "{real}" "$@"
"""


def install(bin_dir: Path, log_dir: Path, major: int) -> None:
    """Write recording wrappers of the `major` pg_dump and pg_restore into `bin_dir`; runs are logged in `log_dir`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    for name in ("pg_dump", "pg_restore"):
        real = tools.find_tool(name, major).path
        wrapper = bin_dir / name
        wrapper.write_text(WRAPPER.format(log_dir=log_dir, name=name, real=real))
        wrapper.chmod(0o755)


def runs(log_dir: Path, name: str) -> list[dict[str, str]]:
    """The environment of every run of `name` so far (the tool's `--version` probes excluded)."""
    found = []
    for path in sorted(log_dir.glob(f"{name}.*.env")):
        found.append(dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line))
    return found
