"""The code location: assets, sensor, and resources configured from the environment.

Every setting is checked first (``config.validate_settings``): a bad value stops the code
location from loading with a message naming the variable, before anything reads it.
"""

from __future__ import annotations

from dicom_assets.config import validate_settings

validate_settings()

from dagster import Definitions, in_process_executor

from dicom_assets.assets import dicom_external_tables, dicom_instances
from dicom_assets.assets.custom_sql import build_custom_sql_asset
from dicom_assets.assets.custom_tables import build_custom_table_asset, load_custom_templates
from dicom_assets.assets.sql_automation import dicom_sql_automation_sensor
from dicom_assets.checks import (
    dicom_instances_window_checks,
    dicom_lake_freshness,
    dicom_lake_lag_sensor,
)
from dicom_assets.config import setting_value
from dicom_assets.lake.maintenance_job import (
    dicom_lake_maintenance,
    dicom_lake_maintenance_schedule,
)
from dicom_assets.reconcile_job import dicom_orthanc_reconcile, dicom_orthanc_reconcile_sensor
from dicom_assets.sensors import dicom_change_feed_sensor
from dicom_assets.wiring import build_resources

# Custom tables (DICOM_CUSTOM_SCHEMAS): a bad template fails the load, naming file and line.
custom_templates = load_custom_templates(setting_value("DICOM_CUSTOM_SCHEMAS"))
custom_table_assets = [build_custom_table_asset(template) for template in custom_templates]
if custom_table_assets:
    custom_table_assets.append(build_custom_sql_asset(custom_templates, custom_table_assets))

defs = Definitions(
    assets=[dicom_instances, dicom_external_tables, *custom_table_assets],
    asset_checks=[dicom_instances_window_checks, dicom_lake_freshness],
    sensors=[
        dicom_change_feed_sensor,
        dicom_sql_automation_sensor,
        dicom_lake_lag_sensor,
        dicom_orthanc_reconcile_sensor,
    ],
    jobs=[dicom_lake_maintenance, dicom_orthanc_reconcile],
    schedules=[dicom_lake_maintenance_schedule],
    resources=build_resources(),
    # Each run syncs one window in one step: a second process per step would only add start-up.
    executor=in_process_executor,
)
