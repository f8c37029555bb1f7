"""The automation condition: a custom table materializes after every sync of the same window,
and only that window; a new template does not request the whole history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetMaterialization,
    DagsterInstance,
    Definitions,
    evaluate_automation_conditions,
)

from dicom_assets.assets import dicom_instances
from dicom_assets.assets.custom_tables import asset_name, build_custom_table_asset
from dicom_assets.custom import parse_template
from dicom_assets.definitions import build_resources
from dicom_assets.partitions import partition_key_of

TEMPLATE = "columns:\n  kvp: KVP\n"


def test_each_sync_requests_the_same_window_only():
    template = parse_template(TEMPLATE, "auto.yaml", "auto")
    custom = build_custom_table_asset(template)
    assets = Definitions(assets=[dicom_instances, custom], resources=build_resources())
    key = custom.key
    now = datetime.now(UTC)
    current, earlier = partition_key_of(now), partition_key_of(now - timedelta(days=3))
    with DagsterInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(defs=assets, instance=instance, evaluation_time=now)
        assert first.get_requested_partitions(key) == set()  # no backfill of the history
        for window in (current, earlier):  # a sync of the open hour, and a late change
            instance.report_runless_asset_event(
                AssetMaterialization(dicom_instances.key, partition=window)
            )
        second = evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=first.cursor, evaluation_time=now
        )
        assert second.get_requested_partitions(key) == {current, earlier}
        third = evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=second.cursor, evaluation_time=now
        )
        assert third.get_requested_partitions(key) == set()  # nothing new synced
    assert key.to_user_string() == asset_name(template)
