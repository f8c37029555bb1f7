"""The resources, configured from the environment as it is now (settings: ``config.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dicom_assets.config import setting
from dicom_assets.deid.settings import settings_from_environment
from dicom_assets.lake.io_manager import DicomLakeIOManager
from dicom_assets.resources import (
    DicomServerResource,
    DuckDBWarehouse,
    LakeResource,
    SqlTargetResource,
)

# The DICOM server resource's fields and the settings that configure them.
_DICOM_SERVER_SETTINGS = {
    "url": "DICOM_SERVER_URL",
    "kind": "DICOM_SERVER_KIND",
    "orthanc_url": "ORTHANC_URL",
    "api_version": "DICOM_API_VERSION",
    "auth": "DICOM_AUTH",
    "audience": "DICOM_AUDIENCE",
}


def dicom_server_resource(value: Callable[[str], Any] = setting) -> DicomServerResource:
    """The DICOM server from the settings, each read by ``value``: ``setting`` (an ``EnvVar``
    Dagster resolves at run time) or ``config.setting_value`` (the text now, for the CLI)."""
    return DicomServerResource(
        **{field: value(name) for field, name in _DICOM_SERVER_SETTINGS.items()}
    )


def build_resources() -> dict[str, Any]:
    settings_from_environment()  # a wrong DICOM_DEID* setting fails the load, naming it
    lake = LakeResource(
        url=setting("DICOM_LAKE_URL"),
        deidentify=setting("DICOM_DEIDENTIFY"),
        deid_options=setting("DICOM_DEID_OPTIONS"),
        deid_key=setting("DICOM_DEID_KEY"),
    )
    return {
        "dicom_server": dicom_server_resource(),
        "lake": lake,
        "warehouse": DuckDBWarehouse(path=setting("DICOM_DUCKDB_PATH")),
        "sql_target": SqlTargetResource(
            target=setting("DICOM_SQL_TARGET"),
            synapse_endpoint=setting("SYNAPSE_SQL_ENDPOINT"),
            synapse_database=setting("SYNAPSE_DATABASE"),
        ),
        "dicom_lake_io_manager": DicomLakeIOManager(lake=lake),
    }
