"""Paths and loaders for the files under deploy/, shared by the deployment tests."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy"
INSTANCE_YAML = DEPLOY_DIR / "dagster.yaml"
WORKSPACE_YAML = DEPLOY_DIR / "workspace.yaml"
DOCKERFILE = DEPLOY_DIR / "Dockerfile"
COMPOSE_FILE = DEPLOY_DIR / "docker-compose.yml"
ARM_TEMPLATE = DEPLOY_DIR / "azure" / "azuredeploy.json"
HELM_VALUES = DEPLOY_DIR / "helm" / "values.yaml"
DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_arm_template() -> dict[str, Any]:
    return json.loads(ARM_TEMPLATE.read_text())


def dagster_project_settings() -> dict[str, str]:
    """The [tool.dagster] table: the module and code location name users deploy."""
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]


def _env_sources(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if set(node) == {"env"} and isinstance(node["env"], str):
            yield node["env"]
        else:
            for value in node.values():
                yield from _env_sources(value)
    elif isinstance(node, list):
        for value in node:
            yield from _env_sources(value)


def env_vars_read_by(path: Path) -> set[str]:
    """Names of the environment variables a Dagster YAML file reads through `env:` sources."""
    return set(_env_sources(load_yaml(path)))
