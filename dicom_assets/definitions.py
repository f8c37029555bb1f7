"""The code location: assets, sensor, and resources configured from the environment."""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    in_process_executor,
)

from dicom_assets.assets import dicom_external_tables, dicom_instances
from dicom_assets.assets.custom_sql import build_custom_sql_asset
from dicom_assets.assets.custom_tables import (
    GROUP as CUSTOM_GROUP,
)
from dicom_assets.assets.custom_tables import (
    build_custom_table_asset,
    load_custom_templates,
)
from dicom_assets.checks import dicom_instances_window_checks
from dicom_assets.config import setting, setting_value
from dicom_assets.deid.settings import settings_from_environment
from dicom_assets.lake.io_manager import DicomLakeIOManager
from dicom_assets.lake.maintenance_job import (
    compact_after_files,
    dicom_lake_maintenance,
    dicom_lake_maintenance_schedule,
    vacuum_retention_hours,
)
from dicom_assets.observability import dicom_lake_freshness, dicom_lake_lag_sensor
from dicom_assets.resources import (
    DicomServerResource,
    DuckDBWarehouse,
    LakeResource,
    SqlTargetResource,
)
from dicom_assets.sensors import dicom_change_feed_sensor

# Custom tables (DICOM_CUSTOM_SCHEMAS): a bad template fails the load, naming file and line.
custom_templates = load_custom_templates(setting_value("DICOM_CUSTOM_SCHEMAS"))
custom_table_assets = [build_custom_table_asset(template) for template in custom_templates]
if custom_table_assets:
    custom_table_assets.append(build_custom_sql_asset(custom_templates, custom_table_assets))

# The SQL views and the custom tables follow every sync within seconds (the default automation
# sensor ticks every 30 s).
dicom_sql_automation_sensor = AutomationConditionSensorDefinition(
    name="dicom_sql_automation_sensor",
    target=AssetSelection.keys("dicom_external_tables") | AssetSelection.groups(CUSTOM_GROUP),
    minimum_interval_seconds=5,
    default_status=DefaultSensorStatus.RUNNING,
)


def build_resources() -> dict[str, Any]:
    """The resources, configured from the environment as it is now (see ``config.py``)."""
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


def _validate_lake_settings() -> None:
    for name, read in (("DICOM_VACUUM_RETENTION_HOURS", vacuum_retention_hours),
                       ("DICOM_COMPACT_AFTER_FILES", compact_after_files)):
        try:
            value = read()
        except ValueError:
            raise ValueError(f"{name} must be a whole number") from None
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


_validate_lake_settings()

defs = Definitions(
    assets=[dicom_instances, dicom_external_tables, *custom_table_assets],
    asset_checks=[dicom_instances_window_checks, dicom_lake_freshness],
    sensors=[dicom_change_feed_sensor, dicom_sql_automation_sensor, dicom_lake_lag_sensor],
    jobs=[dicom_lake_maintenance],
    schedules=[dicom_lake_maintenance_schedule],
    resources=build_resources(),
    # Each run syncs one window in one step: a second process per step would only add start-up.
    executor=in_process_executor,
)
