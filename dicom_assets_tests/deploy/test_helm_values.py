"""Offline checks of deploy/helm/values.yaml for Dagster's official chart (dagster/dagster).

There is no helm binary or cluster here: the values are checked against the keys and types
the chart's values schema declares, and against the production deploy/dagster.yaml so the
Kubernetes instance behaves like the other deployments.
"""

from __future__ import annotations

import pytest

from dicom_assets_tests.deploy.deployed_files import (
    HELM_VALUES,
    INSTANCE_YAML,
    dagster_project_settings,
    load_yaml,
)

# Top-level keys Dagster's chart reads (from its values schema).
CHART_TOP_LEVEL_KEYS = {
    "global",
    "dagsterWebserver",
    "dagster-user-deployments",
    "postgresql",
    "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret",
    "rabbitmq",
    "redis",
    "flower",
    "ingress",
    "imagePullSecrets",
    "computeLogManager",
    "scheduler",
    "runLauncher",
    "pythonLogs",
    "dagsterDaemon",
    "busybox",
    "migrate",
    "telemetry",
    "serviceAccount",
    "retention",
    "additionalInstanceConfig",
}
K8S_RUN_LAUNCHER_REQUIRED = {
    "imagePullPolicy",
    "loadInclusterConfig",
    "envConfigMaps",
    "envSecrets",
    "envVars",
    "volumeMounts",
    "volumes",
}
POSTGRESQL_KEYS = {
    "image",
    "enabled",
    "postgresqlHost",
    "postgresqlUsername",
    "postgresqlPassword",
    "postgresqlDatabase",
    "postgresqlParams",
    "postgresqlScheme",
    "service",
}


@pytest.fixture(scope="module")
def helm_values() -> dict:
    return load_yaml(HELM_VALUES)


def test_helm_values_use_only_keys_the_chart_reads(helm_values):
    assert set(helm_values) <= CHART_TOP_LEVEL_KEYS
    assert set(helm_values["postgresql"]) <= POSTGRESQL_KEYS
    assert helm_values["telemetry"] == {"enabled": False}


def test_helm_user_deployment_serves_our_module(helm_values):
    user_deployments = helm_values["dagster-user-deployments"]
    assert user_deployments["enabled"] is True
    (deployment,) = user_deployments["deployments"]
    assert {"name", "image", "port"} <= set(deployment)
    assert set(deployment["image"]) == {"repository", "tag", "pullPolicy"}
    assert deployment["image"]["pullPolicy"] in {"Always", "IfNotPresent", "Never"}
    assert isinstance(deployment["port"], int)
    args = deployment["dagsterApiGrpcArgs"]
    assert all(isinstance(a, str) for a in args)
    assert args[args.index("-m") + 1] == dagster_project_settings()["module_name"]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    env = {e["name"]: e.get("value") for e in deployment["env"]}
    assert env["DICOM_SERVER_KIND"] == "azure"
    assert {"DICOM_SERVER_URL", "DICOM_LAKE_URL", "DICOM_API_VERSION", "DICOM_AUTH"} <= set(env)


def test_helm_runs_each_run_in_its_own_pod(helm_values):
    launcher = helm_values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    config = launcher["config"]["k8sRunLauncher"]
    assert K8S_RUN_LAUNCHER_REQUIRED <= set(config)
    assert isinstance(config["loadInclusterConfig"], bool)


def test_helm_instance_matches_the_production_dagster_yaml(helm_values):
    instance = load_yaml(INSTANCE_YAML)
    daemon = helm_values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] is True and coordinator["type"] == "QueuedRunCoordinator"
    queued = coordinator["config"]["queuedRunCoordinator"]
    assert isinstance(queued["maxConcurrentRuns"], int)
    assert (
        queued["tagConcurrencyLimits"]
        == instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    )
    assert daemon["runRetries"] == {
        "enabled": instance["run_retries"]["enabled"],
        "maxRetries": instance["run_retries"]["max_retries"],
    }
    postgres = helm_values["postgresql"]
    assert postgres["enabled"] is False  # external server; the password comes from a secret
    assert postgres["postgresqlPassword"] == ""
    assert helm_values["generatePostgresqlPasswordSecret"] is False
    assert postgres["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]
