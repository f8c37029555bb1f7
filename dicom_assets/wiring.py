"""The resources, configured from the environment as it is now (settings: ``config.py``)."""

from __future__ import annotations

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


def build_resources() -> dict[str, Any]:
    settings_from_environment()  # a wrong DICOM_DEID* setting fails the load, naming it
    lake = LakeResource(
        url=setting("DICOM_LAKE_URL"),
        deidentify=setting("DICOM_DEIDENTIFY"),
        deid_options=setting("DICOM_DEID_OPTIONS"),
        deid_key=setting("DICOM_DEID_KEY"),
    )
    return {
        "dicom_server": DicomServerResource(
            url=setting("DICOM_SERVER_URL"),
            kind=setting("DICOM_SERVER_KIND"),
            orthanc_url=setting("ORTHANC_URL"),
            api_version=setting("DICOM_API_VERSION"),
            auth=setting("DICOM_AUTH"),
            audience=setting("DICOM_AUDIENCE"),
        ),
        "lake": lake,
        "warehouse": DuckDBWarehouse(path=setting("DICOM_DUCKDB_PATH")),
        "sql_target": SqlTargetResource(
            target=setting("DICOM_SQL_TARGET"),
            synapse_endpoint=setting("SYNAPSE_SQL_ENDPOINT"),
            synapse_database=setting("SYNAPSE_DATABASE"),
        ),
        "dicom_lake_io_manager": DicomLakeIOManager(lake=lake),
    }
