"""What the CLI tests share: `hv` run in-process through `main()`, exactly as the entry point runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hv_pipelines.cli import main


@pytest.fixture
def run_hv(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """`run_hv("ehr", "status", env={...})`: exit code, stdout and stderr as a CompletedProcess."""
    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "argv", ["hv", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, exit_.value.code, out.out, out.err)
    return run
