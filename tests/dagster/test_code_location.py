"""The code location loads: a broken definitions module fails CI here, not in production."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_workspace_definitions_validate(tmp_path):
    env = {"DAGSTER_HOME": str(tmp_path), "PATH": str(Path(sys.executable).parent), "HV_DOTENV": "/dev/null"}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hv_pipelines" in result.stdout + result.stderr


def test_production_instance_config_is_valid_dagster_config():
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(str(ROOT), "dagster.yaml")
    assert config["run_coordinator"]["config"]["tag_concurrency_limits"][0] == {
        "key": "hv/exclusive", "value": "database", "limit": 1}
