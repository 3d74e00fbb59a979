"""Every shipped Dagster instance config, the Helm values and the pod sizes are validated by Dagster's
(and dagster-k8s') own schemas, so none of them can rot unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import kubernetes
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import class_from_code_pointer
from dagster_k8s.job import get_user_defined_k8s_config
from dagster_k8s.models import k8s_model_from_dict

from hv_pipelines.assets import compute
from hv_pipelines.cli.dev import DEV_INSTANCE

ROOT = Path(__file__).resolve().parents[2]
HELM_VALUES = ROOT / "deploy" / "helm" / "values.yaml"
# Instance sections that name a class whose own config schema Dagster checks only when it builds it.
CLASS_SECTIONS = ("run_launcher", "run_coordinator", "compute_logs", "scheduler", "local_artifact_storage",
                  "run_storage", "event_log_storage", "schedule_storage")


def validated_instance_config(path: Path) -> dict:
    """Load `path` as Dagster does, then validate each configured class against its own schema."""
    config, _ = dagster_instance_config(str(path.parent), path.name)
    for section in CLASS_SECTIONS:
        if section not in config:
            continue
        entry = config[section]
        klass = class_from_code_pointer(entry["module"], entry["class"])
        result = validate_config(klass.config_type(), entry.get("config") or {})
        assert result.success, f"{path.name}: {section} ({entry['class']}): " + "; ".join(
            e.message for e in result.errors)
    return config


def _dev_instance(tmp_path: Path) -> Path:
    path = tmp_path / "dev" / "dagster.yaml"
    path.parent.mkdir()
    path.write_text(DEV_INSTANCE)
    return path


def shipped_instances(tmp_path: Path) -> dict[str, Path]:
    return {"production": ROOT / "dagster.yaml", "kubernetes": ROOT / "deploy" / "dagster.yaml",
            "hv dev": _dev_instance(tmp_path)}


@pytest.mark.parametrize("variant", ["production", "kubernetes", "hv dev"])
def test_shipped_instance_config_is_valid(variant: str, tmp_path: Path) -> None:
    config = validated_instance_config(shipped_instances(tmp_path)[variant])
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {"key": "hv/exclusive", "value": "database", "limit": 1} in limits


def test_a_typo_in_the_launcher_config_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "dagster.yaml"
    text = (ROOT / "deploy" / "dagster.yaml").read_text().replace("job_namespace:", "job_namespce:")
    broken.write_text(text)
    with pytest.raises(AssertionError, match="run_launcher .*K8sRunLauncher.*job_namespce"):
        validated_instance_config(broken)


def test_dev_instance_builds_a_working_instance(tmp_path: Path) -> None:
    path = _dev_instance(tmp_path)
    with dg.DagsterInstance.from_config(str(path.parent)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


def _k8s_launcher_config_from_helm(values: dict) -> dict:
    """What the chart renders into the instance's run_launcher config from `runLauncher` values."""
    helm = values["runLauncher"]["config"]["k8sRunLauncher"]
    container = helm["runK8sConfig"]["containerConfig"]
    return {
        "instance_config_map": "dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "dagster_home": values["global"]["dagsterHome"],
        "image_pull_policy": helm["imagePullPolicy"],
        "load_incluster_config": helm["loadInclusterConfig"],
        "env_secrets": [s["name"] for s in helm["envSecrets"]],
        "env_vars": helm["envVars"],
        "fail_pod_on_run_failure": helm["failPodOnRunFailure"],
        "labels": helm["labels"],
        "run_k8s_config": {"container_config": container},
    }


def test_helm_values_agree_with_the_kubernetes_instance_and_the_workspace() -> None:
    values = yaml.safe_load(HELM_VALUES.read_text())
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    launcher = instance["run_launcher"]

    assert values["runLauncher"]["type"] == launcher["class"] == "K8sRunLauncher"
    rendered = _k8s_launcher_config_from_helm(values)
    from dagster_k8s import K8sRunLauncher

    assert validate_config(K8sRunLauncher.config_type(), rendered).success
    for key, value in rendered.items():
        if key != "instance_config_map":
            assert launcher["config"][key] == value, key

    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    coordinator = instance["run_coordinator"]["config"]
    production = yaml.safe_load((ROOT / "dagster.yaml").read_text())["run_coordinator"]["config"]
    assert queued["tagConcurrencyLimits"] == coordinator["tag_concurrency_limits"] == production[
        "tag_concurrency_limits"]
    assert queued["maxConcurrentRuns"] == coordinator["max_concurrent_runs"]
    retries = values["dagsterDaemon"]["runRetries"]
    assert (retries["maxRetries"], retries["retryOnAssetOrOpFailure"]) == (
        instance["run_retries"]["max_retries"], instance["run_retries"]["retry_on_asset_or_op_failure"])

    (deployment,) = values["dagster-user-deployments"]["deployments"]
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module]
    assert {e["name"]: e["value"] for e in deployment["env"]}["HV_EXECUTOR"] == "k8s"
    assert [s["name"] for s in deployment["envSecrets"]] == rendered["env_secrets"]


@pytest.mark.parametrize("profile", ["TERMINOLOGY_LOAD", "EHR_INGEST", "BACKUP"])
def test_heavy_asset_pod_sizes_are_valid_kubernetes_config(profile: str) -> None:
    tags = getattr(compute, profile)
    user_config = get_user_defined_k8s_config({k: json.dumps(v) for k, v in tags.items()})
    resources = k8s_model_from_dict(kubernetes.client.V1ResourceRequirements,
                                    user_config.container_config["resources"])
    assert resources.requests["memory"] and resources.limits["memory"]
    assert "cpu" not in resources.limits, "no CPU limit: throttling a COPY holds its locks longer"


# The assets that need more than the run worker's default pod, and the size each requests.
HEAVY_ASSETS = {
    **{key: "TERMINOLOGY_LOAD" for key in ("loinc_codes", "snomed_codes", "rxnorm_codes", "icd10_codes", "cpt_codes")},
    "fhir_resources": "EHR_INGEST",
    "database_backup": "BACKUP",
    "backup_restore_drill": "BACKUP",
}


def test_heavy_assets_in_the_code_location_request_their_pod_size() -> None:
    from hv_pipelines.definitions import defs

    present, wrong = [], []
    for assets_def in defs.resolve_asset_graph().assets_defs:
        for key in assets_def.keys:
            profile = HEAVY_ASSETS.get(key.to_user_string())
            if profile is None:
                continue
            present.append(key)
            tagged = json.loads(assets_def.op.tags.get(compute.K8S_CONFIG_TAG, "null"))  # Dagster stores JSON
            if tagged != getattr(compute, profile)[compute.K8S_CONFIG_TAG]:
                wrong.append(f"{key.to_user_string()} (add op_tags=compute.{profile})")
    assert present, "none of the heavy assets is in the code location"
    assert not wrong, "heavy assets without their pod size: " + ", ".join(wrong)


def test_helm_values_name_no_secret_values() -> None:
    text = HELM_VALUES.read_text()
    values = yaml.safe_load(text)
    assert values["postgresql"]["postgresqlPassword"] == ""
    for forbidden in ("ENCRYPTION_KEY=", "DATABASE_URL=", "postgresql://"):
        assert forbidden not in text
