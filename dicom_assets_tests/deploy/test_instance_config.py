"""The production dagster.yaml and the gRPC workspace.yaml, loaded by Dagster's own code.

Dagster validates both files against its config schemas and resolves their `env:` sources;
these tests run that validation offline with sample environments (no database is
contacted: the deployed-topology test does that).
"""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy
from dagster import DefaultRunLauncher, QueuedRunCoordinator
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.workspace.config_schema import ensure_workspace_config
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import pg_url_from_config

from dicom_assets_tests.deploy.deployed_files import (
    INSTANCE_YAML,
    WORKSPACE_YAML,
    dagster_project_settings,
    load_yaml,
)

SAMPLE_ENV = {
    "DAGSTER_PG_HOST": "pg.example.internal",
    "DAGSTER_PG_PORT": "6432",
    "DAGSTER_PG_USER": "dagster",
    # Characters that must be escaped inside a connection URL.
    "DAGSTER_PG_PASSWORD": "p@ss:w/rd%",
    "DAGSTER_PG_DB": "dagster_prod",
    "DAGSTER_MAX_CONCURRENT_RUNS": "7",
}


@pytest.fixture
def instance_ref(tmp_path, monkeypatch) -> InstanceRef:
    for name, value in SAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    shutil.copy(INSTANCE_YAML, tmp_path / "dagster.yaml")
    return InstanceRef.from_dir(str(tmp_path))


def test_instance_yaml_passes_dagsters_schema(tmp_path):
    shutil.copy(INSTANCE_YAML, tmp_path / "dagster.yaml")
    config, custom_instance_class = dagster_instance_config(str(tmp_path))
    assert custom_instance_class is None
    assert set(config["storage"]) == {"postgres"}


def test_storage_is_postgres_from_the_environment(instance_ref):
    storage = instance_ref.storage_data
    assert (storage.module_name, storage.class_name) == (
        "dagster_postgres",
        "DagsterPostgresStorage",
    )
    resolved = process_config(DagsterPostgresStorage.config_type(), storage.config_dict)
    assert resolved.success, resolved.errors
    url = sqlalchemy.make_url(pg_url_from_config(resolved.value))
    assert (url.host, url.port, url.username, url.database) == (
        "pg.example.internal",
        6432,
        "dagster",
        "dagster_prod",
    )
    assert url.password == SAMPLE_ENV["DAGSTER_PG_PASSWORD"]
    # Building an engine loads the dialect's driver without connecting: it must be the
    # locked psycopg2 (SQLAlchemy 2.1 would pick the absent psycopg 3 for postgresql://).
    engine = sqlalchemy.create_engine(url)
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()


def test_run_queue_limit_comes_from_the_environment(instance_ref):
    coordinator = instance_ref.run_coordinator
    assert isinstance(coordinator, QueuedRunCoordinator)
    queue = coordinator.get_run_queue_config()
    assert queue.max_concurrent_runs == 7
    # One run per partition at a time.
    assert queue.tag_concurrency_limits == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    ]
    assert queue.max_user_code_failure_retries == 3


def test_missing_queue_limit_is_an_error_not_a_default(instance_ref, monkeypatch):
    monkeypatch.delenv("DAGSTER_MAX_CONCURRENT_RUNS")
    with pytest.raises(DagsterInvalidConfigError, match="DAGSTER_MAX_CONCURRENT_RUNS"):
        instance_ref.run_coordinator  # noqa: B018 - the property instantiates the coordinator


def test_retries_monitoring_and_telemetry_settings(instance_ref):
    assert isinstance(instance_ref.run_launcher, DefaultRunLauncher)
    settings = instance_ref.settings
    assert settings["run_retries"] == {"enabled": True, "max_retries": 3}
    assert settings["run_monitoring"]["enabled"] is True
    assert settings["telemetry"] == {"enabled": False}


def test_workspace_points_at_the_grpc_code_location(monkeypatch):
    monkeypatch.setenv("DAGSTER_GRPC_HOST", "code-location")
    monkeypatch.setenv("DAGSTER_GRPC_PORT", "4000")
    config = ensure_workspace_config(load_yaml(WORKSPACE_YAML), str(WORKSPACE_YAML))
    (entry,) = config["load_from"]
    server = entry["grpc_server"]
    assert (server["host"], server["port"]) == ("code-location", 4000)
    assert server["location_name"] == dagster_project_settings()["code_location_name"]
