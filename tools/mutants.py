"""`make mutants`: mutation testing of the safety-critical modules with mutmut (too slow for CI).

    make mutants                                   every group below, one after the other
    make mutants GROUP=terminology                 one group
    make mutants GROUP=terminology MUTANTS='hv_pipelines.core.terminology.checks.x_no_dup*'
    .venv/bin/python tools/mutants.py --group seed --tests tests/core/test_seed.py   (other tests)

mutmut copies the project into mutants/, rewrites every function of the modules it mutates into a
trampoline, runs the group's tests once to learn which tests reach which function, then runs, for
each mutant, only those tests. A mutant that no test fails "survived": a comparison or refusal it
sits in is not held by any test (docs/testing.md lists the survivors that are equivalent mutants).

What this script adds to a plain `mutmut run`:
- one PostgreSQL (the embedded server, TLS only) for the whole run, handed to every mutant's test session as
  HV_TEST_DATABASE_URL; otherwise each of the hundreds of sessions starts its own server, and the
  seconds that costs make mutmut report mutants as timeouts;
- the server stopped however the run ends: normally, by Ctrl-C, or by SIGTERM/SIGHUP to the process
  group (PostgreSQL runs in a session of its own, so no signal to the group reaches it; if this process
  is killed outright, the server still stops when its stdin closes; tests/tools/test_mutants_stop.py);
- a test selection per group, so the first pass runs the tests of that group's modules, not the
  whole suite ([tool.mutmut] in pyproject.toml holds what every group shares).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Group -> (modules mutated, tests that hold them). Globs are relative to the repository root.
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "envelope": (["hv_pipelines/core/envelope.py", "hv_pipelines/core/keyring.py"],
                 ["tests/core/test_envelope.py", "tests/core/test_envelope_header.py", "tests/core/test_keyring.py",
                  "tests/core/test_keyring_kms.py"]),
    "backup": (["hv_pipelines/core/backup/*", "hv_pipelines/core/zstd_frames.py"], ["tests/core/backup"]),
    "pitr": (["hv_pipelines/core/pitr/*"], ["tests/core/pitr"]),
    "archival": (["hv_pipelines/core/archival/verify.py", "hv_pipelines/core/archival/rehydrate.py"],
                 ["tests/core/archival"]),
    "terminology": (["hv_pipelines/core/terminology/checks.py", "hv_pipelines/core/terminology/loader.py"],
                    ["tests/core/terminology"]),
    "fhir_ingest": (["hv_pipelines/core/fhir_ingest/chunks.py", "hv_pipelines/core/fhir_ingest/watermarks.py"],
                    ["tests/core/fhir_ingest"]),
    "seed": (["hv_pipelines/core/seed_tables.py"],
             ["tests/core/test_seed.py", "tests/cli/test_seed_cli.py", "tests/dagster/test_seed_assets.py"]),
}


def run_group(name: str, patterns: list[str], max_children: int, tests: list[str] | None = None) -> None:
    """One `mutmut run` with the group's modules and tests (or `tests`) in place of pyproject's, in this
    process: mutmut forks its workers from it, so they inherit the configuration."""
    import mutmut.configuration as configuration

    modules, tests = GROUPS[name][0], tests or GROUPS[name][1]
    _start_afresh_for(modules)
    configuration._config = dataclasses.replace(
        configuration.config(), only_mutate=modules, pytest_add_cli_args_test_selection=tests)
    from mutmut.__main__ import cli

    print(f"== mutants: {name} ({', '.join(modules)}; tests: {', '.join(tests)})", flush=True)
    try:
        cli(["run", "--max-children", str(max_children), *patterns], standalone_mode=False)
    except SystemExit as stop:  # mutmut exits when it is done; the next group still runs
        if stop.code not in (0, None):
            raise


def _start_afresh_for(modules: list[str]) -> None:
    """mutmut reuses mutants/ as it finds it: a directory mutated for another group has none of these
    modules' mutants (it reports that no test reaches them), so it is removed first."""
    marker = ROOT / "mutants" / ".hv-modules"
    if marker.parent.exists() and (not marker.exists() or marker.read_text() != "\n".join(modules)):
        shutil.rmtree(marker.parent)
    marker.parent.mkdir(exist_ok=True)
    marker.write_text("\n".join(modules))


def run_groups(groups: list[str], args: argparse.Namespace) -> None:
    if len(groups) == 1:
        run_group(groups[0], args.mutants, args.max_children, args.tests)
        print("`.venv/bin/mutmut results` lists the survivors; `.venv/bin/mutmut show NAME` shows one's diff",
              file=sys.stderr)
        return
    for name in groups:  # mutmut keeps its state in module globals: a process per group
        subprocess.run([sys.executable, __file__, "--group", name, "--max-children", str(args.max_children),
                        *args.mutants], check=True)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop_on_signals() -> None:
    """A stop (Ctrl-C, or SIGTERM/SIGHUP to the whole process group, as the project stops things) unwinds
    this process through `main`'s `finally`, which waits for the server to stop: PostgreSQL runs in a
    session of its own (pg_ctl), so no signal to this group reaches it. mutmut's workers are forked from
    this process with these handlers: they die of the signal as they would have without them."""
    owner = os.getpid()

    def stop(signum: int, _frame: object) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        for each in STOP_SIGNALS:  # a second signal must not cut the server's stop short
            signal.signal(each, signal.SIG_IGN)
        raise SystemExit(f"error: stopped by {signal.Signals(signum).name}; the mutants run so far are in "
                         "mutants/ (`.venv/bin/mutmut results`)")

    for each in STOP_SIGNALS:
        signal.signal(each, stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=sorted(GROUPS), action="append",
                        help="a group of modules (default: every group)")
    parser.add_argument("--tests", action="append", metavar="PYTEST_ARG",
                        help="the tests to run instead of the group's (a file, a node id, a -k expression)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("mutants", nargs="*", help="mutant name globs, as `mutmut results` prints them")
    args = parser.parse_args()
    os.chdir(ROOT)

    groups = args.group or list(GROUPS)
    if os.environ.get("HV_TEST_DATABASE_URL"):  # a server of the developer's, or this script's parent's
        run_groups(groups, args)
        return
    # In a child process: mutmut forks its workers from this one, and they must import hv_pipelines from
    # mutants/, not find it imported from here already. The child stops the server when its stdin closes.
    data = Path(tempfile.mkdtemp(prefix="hv-mutants-pg-"))
    _stop_on_signals()
    server = subprocess.Popen([sys.executable, "-m", "hv_pipelines.core.embedded_server", str(data / "pg")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    # Only this process holds the pipe: mutmut's forked workers close their copy, so the server also stops
    # when this process dies without its `finally` (SIGKILL), not when the last worker happens to exit.
    os.register_at_fork(after_in_child=server.stdin.close)
    try:
        os.environ["HV_TEST_DATABASE_URL"] = server.stdout.readline().strip()
        if not os.environ["HV_TEST_DATABASE_URL"]:
            raise SystemExit("error: the embedded PostgreSQL did not start (see above)")
        run_groups(groups, args)
    finally:
        server.stdin.close()
        server.wait(timeout=120)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
