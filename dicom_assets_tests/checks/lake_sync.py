"""Test helpers: sync Orthanc into a test lake the way the daemon does, and edit a window.

The sync goes through the real sensor and real Dagster runs (``materialize`` with the checks),
against the real Orthanc of the ``orthanc`` fixture.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
from dagster import (
    AssetCheckEvaluation,
    AssetSelection,
    DagsterInstance,
    ExecuteInProcessResult,
    SensorResult,
    build_sensor_context,
    materialize,
)

from dicom_assets.assets import dicom_instances
from dicom_assets.checks import dicom_instances_window_checks
from dicom_assets.checks.freshness import dicom_lake_freshness
from dicom_assets.lake.change_log import read_window, write_window
from dicom_assets.lake.writer import DeltaLocation
from dicom_assets.sensors import dicom_change_feed_sensor

ASSETS_AND_CHECKS = [dicom_instances, dicom_instances_window_checks, dicom_lake_freshness]


def sync(
    resources: dict, instance: DagsterInstance, cursor: str | None
) -> tuple[str | None, list[ExecuteInProcessResult]]:
    """One change-feed sensor tick and the runs it requested (asset + all its checks)."""
    with build_sensor_context(cursor=cursor, resources=resources, instance=instance) as context:
        result = dicom_change_feed_sensor(context)
    assert isinstance(result, SensorResult)
    outcomes = []
    for request in result.run_requests:
        outcome = materialize(
            ASSETS_AND_CHECKS,
            partition_key=request.partition_key,
            resources=resources,
            # The run key tag lets the sensor's next tick see that its request succeeded.
            tags={**request.tags, "dagster/run_key": request.run_key},
            instance=instance,
            raise_on_error=False,
        )
        assert outcome.success, "a sync run failed"
        outcomes.append(outcome)
    return result.cursor, outcomes


def run_window_checks(
    resources: dict, instance: DagsterInstance, partition_key: str
) -> dict[str, AssetCheckEvaluation]:
    """Run only the per-window checks of one window (as from the asset's Checks tab)."""
    outcome = materialize(
        ASSETS_AND_CHECKS,
        selection=AssetSelection.checks(*dicom_instances_window_checks.check_keys),
        tags={"dagster/partition": partition_key},
        resources=resources,
        instance=instance,
    )
    assert outcome.success
    assert outcome.get_asset_materialization_events() == []  # the window was not re-synced
    return evaluations(outcome)


def evaluations(outcome: ExecuteInProcessResult) -> dict[str, AssetCheckEvaluation]:
    return {
        evaluation.check_name: evaluation for evaluation in outcome.get_asset_check_evaluations()
    }


def window_dir(lake_dir: str, partition_key: str) -> Path:
    """The window's day partition folder of the Delta table."""
    return Path(lake_dir, "result", "Dicom", f"_date={partition_key[:10]}")


def part_files(lake_dir: str, partition_key: str) -> list[Path]:
    """The active data files of the window's day partition (from the Delta log)."""
    table = DeltaLocation(str(Path(lake_dir, "result", "Dicom"))).open()
    day = f"_date={partition_key[:10]}/"
    return sorted(
        Path(unquote(uri.removeprefix("file://")))
        for uri in table.file_uris()
        if day in unquote(uri)
    )


def read_window_table(lake_dir: str, partition_key: str) -> pa.Table:
    """The window's rows as its data files hold them (no ``_date``: Delta keeps it in the log)."""
    return read_window(str(Path(lake_dir, "result", "Dicom")), partition_key).drop_columns(
        ["_date"]
    )


def append_rows(lake_dir: str, partition_key: str, table: pa.Table) -> None:
    """Commit rows to the window as a broken writer might (e.g. a duplicate)."""
    write_window(str(Path(lake_dir, "result", "Dicom")), partition_key, table, "append")


def rewrite(lake_dir: str, partition_key: str, table: pa.Table) -> None:
    """Replace the window's rows (the checks must see what a broken writer would have left)."""
    write_window(str(Path(lake_dir, "result", "Dicom")), partition_key, table, "overwrite")
