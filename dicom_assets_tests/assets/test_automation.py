"""The automation conditions never lose a sync: one that finishes while the downstream run is
still going requests one more run after it (it did not, and the views then missed that sync)."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    Definitions,
    evaluate_automation_conditions,
)
from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent, DagsterEventType

from dicom_assets.assets import dicom_instances
from dicom_assets.assets.custom_tables import build_custom_table_asset
from dicom_assets.assets.external_tables import dicom_external_tables
from dicom_assets.custom import parse_template
from dicom_assets.definitions import build_resources
from dicom_assets.partitions import partition_key_of


class Ticks:
    """Successive evaluations of the automation conditions, as the sensor's ticks."""

    def __init__(self, defs: Definitions, instance: DagsterInstance, now: datetime):
        self.defs, self.instance, self.now, self.cursor = defs, instance, now, None

    def requested(self, key: AssetKey) -> set[str | None]:
        result = evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor, evaluation_time=self.now
        )
        self.cursor = result.cursor
        partitions = result.get_requested_partitions(key)
        return partitions if partitions else ({None} if result.get_num_requested(key) else set())


def start_run(instance: DagsterInstance, defs: Definitions, key: AssetKey, partition=None):
    """A started run that plans to materialize ``key``: what ``in_progress()`` sees."""
    job = defs.resolve_implicit_job_def_def_for_assets([key])
    tags = {"dagster/partition": partition} if partition else None
    run = instance.create_run_for_job(job, asset_selection=frozenset([key]), tags=tags)
    planned = AssetMaterializationPlannedData(key, partition=partition)
    for event_type, data in (
        (DagsterEventType.ASSET_MATERIALIZATION_PLANNED, planned),
        (DagsterEventType.RUN_START, None),
    ):
        event = DagsterEvent(event_type.value, run.job_name, event_specific_data=data)
        instance.report_dagster_event(event, run_id=run.run_id)
    return run


def finish_run(instance: DagsterInstance, run, key: AssetKey, partition=None) -> None:
    instance.report_runless_asset_event(AssetMaterialization(key, partition=partition))
    event = DagsterEvent(DagsterEventType.RUN_SUCCESS.value, run.job_name)
    instance.report_dagster_event(event, run_id=run.run_id)


def sync(instance: DagsterInstance, window: str) -> None:
    instance.report_runless_asset_event(AssetMaterialization(dicom_instances.key, partition=window))


def test_views_refresh_after_a_sync_that_finished_during_their_run():
    defs = Definitions(assets=[dicom_instances, dicom_external_tables], resources=build_resources())
    key, now = dicom_external_tables.key, datetime.now(UTC)
    with DagsterInstance.ephemeral() as instance:
        ticks = Ticks(defs, instance, now)
        assert ticks.requested(key) == {None}  # missing: the first registration
        run = start_run(instance, defs, key)
        sync(instance, partition_key_of(now))
        assert ticks.requested(key) == set()  # the sync is seen while the views run
        finish_run(instance, run, key)
        assert ticks.requested(key) == {None}  # ... and not forgotten once it finished
        finish_run(instance, start_run(instance, defs, key), key)
        assert ticks.requested(key) == set()  # that refresh saw the sync: nothing more


def test_custom_window_rebuilt_after_a_sync_that_finished_during_its_run(tmp_path):
    custom = build_custom_table_asset(parse_template("columns:\n  kvp: KVP\n", "a.yaml", "a"))
    defs = Definitions(assets=[dicom_instances, custom], resources=build_resources())
    key, now = custom.key, datetime.now(UTC)
    window = partition_key_of(now)
    with DagsterInstance.ephemeral() as instance:
        ticks = Ticks(defs, instance, now)
        assert ticks.requested(key) == set()
        sync(instance, window)
        assert ticks.requested(key) == {window}
        run = start_run(instance, defs, key, window)
        sync(instance, window)  # a second sync of the window while its custom run is going
        assert ticks.requested(key) == set()
        finish_run(instance, run, key, window)
        assert ticks.requested(key) == {window}
