"""De-identification settings in every deployment template: off by default, and the key only
ever from a secret store (Container Apps secret, Kubernetes Secret, a git-ignored env file).

The ARM template is evaluated for sample parameters (arm_expressions.py); the compose file and
the Helm values are read as the tools read them. What a template passes is then parsed by the
product's own settings code, so a template that could not load is caught here.
"""

from __future__ import annotations

import json

import pytest
from dotenv import dotenv_values

from dicom_assets.deid import DeidSettings, DeidSettingsError
from dicom_assets_tests.deploy.arm_expressions import ArmEvaluator
from dicom_assets_tests.deploy.deployed_files import (
    COMPOSE_FILE,
    DEPLOY_DIR,
    DEPLOY_DOC,
    HELM_VALUES,
    REPO_ROOT,
    load_arm_template,
    load_yaml,
)
from dicom_assets_tests.deploy.test_templates import SAMPLE_PARAMETERS

DEID_VARS = ("DICOM_DEIDENTIFY", "DICOM_DEID_OPTIONS", "DICOM_DEID_KEY")
SAMPLE_KEY = "sample-deid-key-" + "k" * 40


def _apps(parameters: dict) -> dict[str, dict]:
    template = load_arm_template()
    resources = ArmEvaluator(template, parameters).evaluate(template["resources"])
    apps = [r for r in resources if r["type"] == "Microsoft.App/containerApps"]
    return {app["name"].rsplit("-", 1)[1]: app for app in apps}


def _env(app: dict) -> dict[str, dict]:
    (container,) = app["properties"]["template"]["containers"]
    return {entry["name"]: entry for entry in container["env"]}


def _secrets(app: dict) -> dict[str, str]:
    return {s["name"]: s["value"] for s in app["properties"]["configuration"]["secrets"]}


def test_arm_parameters_default_to_off_and_the_key_is_secure():
    params = load_arm_template()["parameters"]
    assert params["deidentify"]["defaultValue"] == "off"
    assert set(params["deidentify"]["allowedValues"]) == {"off", "basic"}
    assert params["deidOptions"]["defaultValue"] == ""
    assert params["deidKey"]["type"] == "securestring"
    assert params["deidKey"]["defaultValue"] == ""  # no key in the template


def test_arm_defaults_deploy_without_de_identification():
    apps = _apps(SAMPLE_PARAMETERS)
    env = _env(apps["code"])
    assert env["DICOM_DEIDENTIFY"]["value"] == "off"
    assert env["DICOM_DEID_OPTIONS"]["value"] == ""
    assert "DICOM_DEID_KEY" not in env  # a Container Apps secret may not be empty
    assert set(_secrets(apps["code"])) == {"postgres-password"}
    settings = DeidSettings.parse(env["DICOM_DEIDENTIFY"]["value"], "", None)
    assert not settings.enabled


def test_arm_basic_passes_the_key_only_as_a_secret_reference():
    options = "retain-longitudinal-modified-dates,retain-safe-private"
    parameters = dict(
        SAMPLE_PARAMETERS, deidentify="basic", deidOptions=options, deidKey=SAMPLE_KEY
    )
    apps = _apps(parameters)
    env = _env(apps["code"])
    assert env["DICOM_DEIDENTIFY"]["value"] == "basic"
    assert env["DICOM_DEID_OPTIONS"]["value"] == options
    assert env["DICOM_DEID_KEY"] == {"name": "DICOM_DEID_KEY", "secretRef": "deid-key"}
    assert _secrets(apps["code"]) == {
        "postgres-password": SAMPLE_PARAMETERS["postgresAdministratorPassword"],
        "deid-key": SAMPLE_KEY,
    }
    assert all(entry.get("value") != SAMPLE_KEY for entry in env.values())
    # Only the code location loads the definitions and runs the syncs.
    for name in ("ui", "daemon"):
        assert not set(DEID_VARS) & set(_env(apps[name]))
        assert "deid-key" not in _secrets(apps[name])
    settings = DeidSettings.parse("basic", options, _secrets(apps["code"])["deid-key"])
    assert settings.enabled and "retain-safe-private" in settings.options
    outputs = json.dumps(load_arm_template()["outputs"])
    assert "deidKey" not in outputs and "deid-key" not in outputs


# ---- docker compose --------------------------------------------------------------------------


def test_compose_reads_de_identification_from_an_optional_env_file_only():
    services = load_yaml(COMPOSE_FILE)["services"]
    code = services["code-location"]
    assert not set(DEID_VARS) & set(code["environment"])  # no literal (nor default) here
    assert code["env_file"] == [{"path": "deid.env", "required": False}]
    assert all("env_file" not in s for name, s in services.items() if name != "code-location")
    assert "/deploy/deid.env" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_compose_example_env_file_names_the_variables_and_holds_no_key():
    example = dotenv_values(DEPLOY_DIR / "deid.env.example")
    assert set(example) == set(DEID_VARS)
    assert example["DICOM_DEID_KEY"] == ""
    with pytest.raises(DeidSettingsError, match="DICOM_DEID_KEY is not set"):
        DeidSettings.parse(example["DICOM_DEIDENTIFY"], example["DICOM_DEID_OPTIONS"], "")


# ---- Helm --------------------------------------------------------------------------------------


def test_helm_defaults_to_off_and_takes_the_key_from_an_optional_secret():
    values = load_yaml(HELM_VALUES)
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    env = {entry["name"]: entry for entry in deployment["env"]}
    assert env["DICOM_DEIDENTIFY"]["value"] == "off"  # a string, not YAML's boolean off
    assert env["DICOM_DEID_OPTIONS"]["value"] == ""
    assert env["DICOM_DEID_KEY"] == {
        "name": "DICOM_DEID_KEY",
        "valueFrom": {
            "secretKeyRef": {"name": "dicom-deid-key", "key": "DICOM_DEID_KEY", "optional": True}
        },
    }
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}  # run pods too
    assert not DeidSettings.parse(env["DICOM_DEIDENTIFY"]["value"], "", None).enabled


def test_docs_tell_operators_how_to_set_each_template():
    deploy_doc = DEPLOY_DOC.read_text()
    deid_doc = (REPO_ROOT / "docs" / "deidentification.md").read_text()
    for text in (deploy_doc, deid_doc):
        for needle in ("deidKey", "deid.env", "dicom-deid-key", *DEID_VARS):
            assert needle in text, needle
