"""``dicom_sql_automation_sensor``: the sensor that drives the SQL layer, beside its assets.

``dicom_external_tables`` and the custom tables (group ``dicom_custom``) carry automation
conditions (automation.py); this sensor evaluates them, so the SQL views and the custom
tables follow every sync within seconds instead of Dagster's default 30 s automation tick.
"""

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

from dicom_assets.assets.custom_tables import GROUP as CUSTOM_GROUP

dicom_sql_automation_sensor = AutomationConditionSensorDefinition(
    name="dicom_sql_automation_sensor",
    target=AssetSelection.keys("dicom_external_tables") | AssetSelection.groups(CUSTOM_GROUP),
    minimum_interval_seconds=5,
    default_status=DefaultSensorStatus.RUNNING,
)
