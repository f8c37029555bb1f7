"""Lag of the lake behind a real Orthanc, measured by the real lag sensor, recorded in Dagster."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    AssetObservation,
    DagsterInstance,
    SensorResult,
    build_sensor_context,
)

from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.observability import dicom_lake_lag_sensor
from dicom_assets.wiring import build_resources
from dicom_assets_tests.checks.lake_sync import sync

INSTANCES = AssetKey("dicom_instances")


@pytest.fixture
def orthanc_env(orthanc_env, monkeypatch):
    monkeypatch.setenv("DICOM_MAX_LAG_SECONDS", "1.5")
    return orthanc_env


def measure(
    resources: dict, instance: DagsterInstance
) -> tuple[AssetObservation, AssetCheckEvaluation]:
    """One tick of the lag sensor; its events are stored the way the daemon stores them."""
    with build_sensor_context(resources=resources, instance=instance) as context:
        result = dicom_lake_lag_sensor(context)
    assert isinstance(result, SensorResult) and not result.run_requests
    observation, evaluation = result.asset_events
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return observation, evaluation


def store(orthanc, index: int, instances: int) -> None:
    study = synthetic_study(index, series=1, instances_per_series=instances)
    assert all(upload(orthanc.url, [encode(ds) for ds in synthetic_instances(study)]))


def test_lag_grows_while_the_sync_is_stopped_and_falls_after_it_runs(orthanc, orthanc_env):
    resources = build_resources()
    instance = DagsterInstance.ephemeral()
    store(orthanc, 1, 3)
    cursor, _ = sync(resources, instance, None)

    synced, fresh = measure(resources, instance)
    assert synced.metadata["lag_changes"].value == 0
    assert synced.metadata["lag_seconds"].value == 0
    assert fresh.passed
    lake_at = synced.metadata["lake_last_sequence"].value
    assert fresh.description.startswith(
        f"in sync: 0 s behind, 0 changes behind; lake through sequence {lake_at}, feed at"
    ), fresh.description
    assert "the sequences are Orthanc's change numbers (/changes Seq)" in fresh.description
    assert synced.metadata["lag"].value == fresh.description.split(". Bound")[0]

    # The change-feed sensor is stopped; new changes arrive and wait.
    store(orthanc, 2, 4)
    time.sleep(1.1)
    behind, _ = measure(resources, instance)
    time.sleep(1.1)
    further, stale = measure(resources, instance)
    assert behind.metadata["lag_changes"].value == further.metadata["lag_changes"].value == 4
    assert 1.0 <= behind.metadata["lag_seconds"].value < further.metadata["lag_seconds"].value < 60
    assert (
        further.metadata["lake_last_sequence"].value == synced.metadata["lake_last_sequence"].value
    )
    assert (
        further.metadata["oldest_unsynced_sequence"].value
        > synced.metadata["lake_last_sequence"].value
    )
    assert not stale.passed and stale.severity == AssetCheckSeverity.ERROR
    assert "4 changes behind" in stale.description

    # The sensor runs again: the lake catches up.
    sync(resources, instance, cursor)
    caught_up, fresh_again = measure(resources, instance)
    assert caught_up.metadata["lag_changes"].value == 0
    assert caught_up.metadata["lag_seconds"].value == 0
    assert fresh_again.passed
    assert (
        caught_up.metadata["lake_last_sequence"].value
        >= further.metadata["oldest_unsynced_sequence"].value
    )

    # What the UI plots: the observations stored in the instance, in order.
    stored = instance.fetch_observations(INSTANCES, limit=10, ascending=True).records
    plotted = [record.asset_observation.metadata["lag_changes"].value for record in stored]
    assert plotted == [0, 4, 4, 0]


def test_unreadable_feed_fails_freshness_without_a_failed_tick(orthanc, orthanc_env, monkeypatch):
    # A wrong REST root: Orthanc answers 404 at once (a refused port would be retried first).
    monkeypatch.setenv("ORTHANC_URL", f"{orthanc.url}/no-such-root")
    with build_sensor_context(resources=build_resources()) as context:
        result = dicom_lake_lag_sensor(context)
    [evaluation] = result.asset_events
    assert isinstance(evaluation, AssetCheckEvaluation)
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    assert "lag unknown" in evaluation.description


def test_the_lag_sensor_and_checks_are_registered(definitions):
    defs = definitions.defs
    assert defs.resolve_sensor_def("dicom_lake_lag_sensor").default_status.value == "RUNNING"
    checks = {
        key.name
        for key in defs.resolve_asset_graph().asset_check_keys
        if key.asset_key == INSTANCES
    }
    assert checks == {"completeness", "unique_sequence", "identity", "quarantine", "freshness"}


def test_a_quarantined_last_change_is_not_counted_as_behind(tmp_path: Path):
    from datetime import UTC, datetime

    from dagster import asset, materialize

    from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
    from dicom_assets.lake.io_manager import DicomLakeIOManager
    from dicom_assets.lake.window_sync import SyncMode, WindowSync
    from dicom_assets.observability import lake_last_sequence
    from dicom_assets.partitions import dicom_feed_partitions
    from dicom_assets.resources import LakeResource
    from dicom_assets.schema import convert_entries

    lake = LakeResource(url=str(tmp_path))
    assert lake_last_sequence(lake) == 0

    def entry(sequence: int, metadata) -> ChangeFeedEntry:
        uid = f"1.2.3.{sequence}"
        return ChangeFeedEntry(
            sequence,
            datetime(2026, 11, 25, 17, 5, tzinfo=UTC),
            ChangeAction.CREATE,
            "1.2.3",
            "1.2.3.1",
            uid,
            metadata,
        )

    @asset(
        name="dicom_instances",
        partitions_def=dicom_feed_partitions,
        io_manager_key="dicom_lake_io_manager",
    )
    def window():
        # Sequence 10 is written; the window's last change, 12, cannot be understood at all.
        batch = convert_entries(
            [entry(10, {"00080060": {"vr": "CS", "Value": ["CT"]}}), entry(12, "not DICOM JSON")]
        )
        assert len(batch.quarantined) == 1
        return WindowSync("2026-11-25-17:00", SyncMode.INCREMENTAL, 7, iter([batch]), lambda: 0)

    result = materialize(
        [window],
        partition_key="2026-11-25-17:00",
        resources={"dicom_lake_io_manager": DicomLakeIOManager(lake=lake)},
    )
    assert result.success
    assert lake_last_sequence(lake) == 12


def test_the_lag_summary_explains_a_feed_ahead_with_nothing_to_sync():
    """Orthanc numbers every event (new series, stable study...): the feed is ahead of the lake
    with nothing to sync, and the summary says so instead of leaving a puzzle."""
    from datetime import UTC, datetime, timedelta

    from dicom_assets.observability import LakeLag, lag_summary
    from dicom_assets.sources.entries import FeedChange

    now = datetime(2026, 12, 2, 8, tzinfo=UTC)
    in_sync = LakeLag(now, lake_sequence=238, feed_sequence=320, changes_behind=0, capped=False,
                      oldest_unsynced=None)  # fmt: skip
    assert lag_summary(in_sync) == (
        "in sync: 0 s behind, 0 changes behind; lake through sequence 238, feed at 320; "
        "82 of the numbers in between are no instance change to sync"
    )
    oldest = FeedChange(241, now - timedelta(seconds=12))
    behind = LakeLag(now, 238, 330, 4, False, oldest)
    assert lag_summary(behind) == (
        "12 s behind, 4 changes behind (oldest: sequence 241); lake through sequence 238, feed "
        "at 330; 88 of the numbers in between are no instance change to sync"
    )
