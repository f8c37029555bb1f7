"""Offline structure tests of the Azure Container Apps template (deploy/azure/azuredeploy.json).

Nothing here talks to Azure: the template's own expressions are evaluated for sample
parameters (arm_expressions.py) and the results checked against Azure's naming rules, the
environment the production Dagster instance reads, and the old agent's parameter contract.
"""

from __future__ import annotations

import json
import re

import pytest

from dicom_assets_tests.deploy.arm_expressions import ArmEvaluator, Opaque
from dicom_assets_tests.deploy.deployed_files import (
    DEPLOY_DOC,
    INSTANCE_YAML,
    WORKSPACE_YAML,
    env_vars_read_by,
    load_arm_template,
)

# The old agent's ARM parameters, by our names, with the ARM type each must have.
AGENT_PARAMETERS = {
    "pipelineName": "string",
    "location": "string",
    "dicomServerUrl": "string",
    "apiVersion": "string",
    "serverAuthentication": "string",
    "containerName": "string",
    "jobConcurrency": "int",
    "image": "string",
    "maxInstanceCount": "int",
    "storageAccountType": "string",
}
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
SAMPLE_PARAMETERS = {
    # The longest allowed pipeline name, so length limits of derived names are exercised.
    "pipelineName": "dicom-sync-prod-weu1",
    "dicomServerUrl": "https://ws-dicom.dicom.azurehealthcareapis.com",
    "image": "example.azurecr.io/dicom-assets:1.0.0",
    "uiAllowedIpRange": "203.0.113.0/24",
    "postgresAdministratorPassword": "x" * 24,
    "jobConcurrency": 7,
    "maxInstanceCount": 3,
}


@pytest.fixture(scope="module")
def template() -> dict:
    return load_arm_template()


@pytest.fixture(scope="module")
def deployed(template) -> dict[str, list[dict]]:
    """Evaluated resources of the sample deployment, by resource type."""
    resources = ArmEvaluator(template, SAMPLE_PARAMETERS).evaluate(template["resources"])
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["type"], []).append(resource)
    return by_type


def _app(deployed, suffix: str) -> dict:
    (app,) = [a for a in deployed["Microsoft.App/containerApps"] if a["name"].endswith(suffix)]
    return app


def _env(app: dict) -> dict[str, dict]:
    (container,) = app["properties"]["template"]["containers"]
    return {entry["name"]: entry for entry in container["env"]}


def test_template_declares_the_agent_parameters(template):
    assert template["$schema"].endswith("deploymentTemplate.json#")
    params = template["parameters"]
    for name, arm_type in AGENT_PARAMETERS.items():
        assert params[name]["type"] == arm_type, name
    assert params["containerName"]["defaultValue"] == "dicom"
    assert set(params["apiVersion"]["allowedValues"]) == {"v1", "v2"}
    assert params["postgresAdministratorPassword"]["type"] == "securestring"


def test_every_parameter_and_variable_is_used_and_declared(template):
    body = json.dumps({k: template[k] for k in ("variables", "resources", "outputs")})
    used_params = set(re.findall(r"parameters\('(\w+)'\)", body))
    used_vars = set(re.findall(r"variables\('(\w+)'\)", body))
    assert used_params == set(template["parameters"])
    assert used_vars == set(template["variables"])


def test_dependencies_point_at_resources_of_the_template(deployed):
    declared = {
        f"/subscriptions/sub/resourceGroups/rg/providers/{r['type']}/{r['name']}"
        for resources in deployed.values()
        for r in resources
    }
    for resources in deployed.values():
        for resource in resources:
            for dependency in resource.get("dependsOn", []):
                assert dependency in declared, (resource["name"], dependency)


def test_resource_names_follow_azure_naming_rules(deployed):
    (account,) = deployed["Microsoft.Storage/storageAccounts"]
    assert re.fullmatch(r"[a-z0-9]{3,24}", account["name"])
    for app in deployed["Microsoft.App/containerApps"]:
        assert re.fullmatch(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", app["name"]), app["name"]
    (server,) = deployed["Microsoft.DBforPostgreSQL/flexibleServers"]
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", server["name"])


def test_lake_is_an_hns_account_with_the_dicom_container(deployed):
    (account,) = deployed["Microsoft.Storage/storageAccounts"]
    assert account["properties"]["isHnsEnabled"] is True
    assert account["properties"]["allowBlobPublicAccess"] is False
    assert account["sku"]["name"] == "Standard_LRS"  # the parameter's default
    (container,) = deployed["Microsoft.Storage/storageAccounts/blobServices/containers"]
    assert container["name"] == f"{account['name']}/default/dicom"
    lake_url = _env(_app(deployed, "-code"))["DICOM_LAKE_URL"]["value"]
    assert lake_url == f"abfss://dicom@{account['name']}.dfs.core.windows.net/"


def test_code_location_identity_gets_blob_data_contributor_on_the_lake(deployed):
    code = _app(deployed, "-code")
    assert code["identity"]["type"] == "SystemAssigned"
    (account,) = deployed["Microsoft.Storage/storageAccounts"]
    (assignment,) = deployed["Microsoft.Authorization/roleAssignments"]
    assert assignment["scope"].endswith(f"Microsoft.Storage/storageAccounts/{account['name']}")
    assert assignment["properties"]["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_CONTRIBUTOR)
    principal = assignment["properties"]["principalId"]
    assert isinstance(principal, Opaque)
    assert f"containerApps/{code['name']}).identity.principalId" in str(principal)


def test_every_app_gets_what_the_production_instance_reads(deployed):
    instance_env = env_vars_read_by(INSTANCE_YAML)
    workspace_env = env_vars_read_by(WORKSPACE_YAML)
    for app in deployed["Microsoft.App/containerApps"]:
        env = _env(app)
        assert instance_env <= set(env), app["name"]
        assert env["DAGSTER_MAX_CONCURRENT_RUNS"]["value"] == "7"  # jobConcurrency
        # The password only travels as a Container Apps secret.
        assert env["DAGSTER_PG_PASSWORD"] == {
            "name": "DAGSTER_PG_PASSWORD",
            "secretRef": "postgres-password",
        }
        secrets = {s["name"]: s["value"] for s in app["properties"]["configuration"]["secrets"]}
        assert secrets["postgres-password"] == SAMPLE_PARAMETERS["postgresAdministratorPassword"]
        assert all(e.get("value") != secrets["postgres-password"] for e in env.values())
    code_host = _app(deployed, "-code")["name"]
    for suffix in ("-ui", "-daemon"):
        env = _env(_app(deployed, suffix))
        assert workspace_env <= set(env)
        assert env["DAGSTER_GRPC_HOST"]["value"] == code_host


def test_code_location_settings_come_from_the_parameters(template):
    values = dict(SAMPLE_PARAMETERS, apiVersion="v1", serverAuthentication="None")
    resources = ArmEvaluator(template, values).evaluate(template["resources"])
    (code,) = [r for r in resources if r["name"].endswith("-code")]
    env = {
        e["name"]: e.get("value") for e in code["properties"]["template"]["containers"][0]["env"]
    }
    assert env["DICOM_SERVER_KIND"] == "azure"
    assert env["DICOM_SERVER_URL"] == SAMPLE_PARAMETERS["dicomServerUrl"]
    assert env["DICOM_API_VERSION"] == "v1"
    assert env["DICOM_AUTH"] == "none"
    assert env["DICOM_SQL_TARGET"] == "duckdb"  # no Synapse endpoint given
    assert code["properties"]["template"]["containers"][0]["image"] == SAMPLE_PARAMETERS["image"]
    # Run workers: a fixed count of code-location replicas.
    assert code["properties"]["template"]["scale"] == {"minReplicas": 3, "maxReplicas": 3}
    # The gRPC ingress stays inside the environment and reaches the port the server uses.
    ingress = code["properties"]["configuration"]["ingress"]
    assert ingress["external"] is False
    assert ingress["transport"] == "http2"
    assert str(ingress["targetPort"]) == env["DAGSTER_GRPC_PORT"]


def test_managed_identity_and_synapse_switches(template):
    values = dict(SAMPLE_PARAMETERS, synapseSqlEndpoint="ws-ondemand.sql.azuresynapse.net")
    evaluator = ArmEvaluator(template, values)
    env = {
        e["name"]: e.get("value")
        for e in evaluator.evaluate(template["variables"]["codeLocationEnv"])
    }
    assert env["DICOM_AUTH"] == "azure"  # serverAuthentication defaults to ManagedIdentity
    assert env["DICOM_SQL_TARGET"] == "synapse"
    assert env["SYNAPSE_SQL_ENDPOINT"] == "ws-ondemand.sql.azuresynapse.net"


def test_one_daemon_and_one_webserver_behind_an_ip_allow_list(deployed):
    # The daemon is the only scheduler (what the old agent's Azure Tables lease ensured).
    for suffix in ("-daemon", "-ui"):
        scale = _app(deployed, suffix)["properties"]["template"]["scale"]
        assert scale == {"minReplicas": 1, "maxReplicas": 1}
    ingress = _app(deployed, "-ui")["properties"]["configuration"]["ingress"]
    assert ingress["external"] is True
    assert ingress["ipSecurityRestrictions"] == [
        {"name": "allowed-ui-clients", "action": "Allow", "ipAddressRange": "203.0.113.0/24"}
    ]
    assert "ingress" not in _app(deployed, "-daemon")["properties"]["configuration"]


def test_postgres_server_and_database_for_the_instance(deployed):
    (server,) = deployed["Microsoft.DBforPostgreSQL/flexibleServers"]
    (database,) = deployed["Microsoft.DBforPostgreSQL/flexibleServers/databases"]
    env = _env(_app(deployed, "-daemon"))
    assert env["DAGSTER_PG_HOST"]["value"] == f"{server['name']}.postgres.database.azure.com"
    assert database["name"] == f"{server['name']}/{env['DAGSTER_PG_DB']['value']}"
    assert env["PGSSLMODE"]["value"] == "require"


def test_outputs_expose_what_the_manual_steps_need_and_no_secret(template):
    outputs = template["outputs"]
    for name in ("dagsterUiUrl", "codeLocationPrincipalId", "storageAccountName", "lakeUrl"):
        assert name in outputs
    assert "postgresAdministratorPassword" not in json.dumps(outputs)
    assert "DICOM Data Reader" in outputs["dicomDataReaderCommand"]["value"]


def test_deploy_doc_explains_every_template_parameter(template):
    doc = DEPLOY_DOC.read_text()
    missing = [name for name in template["parameters"] if f"`{name}`" not in doc]
    assert missing == []
    assert "DICOM Data Reader" in doc
