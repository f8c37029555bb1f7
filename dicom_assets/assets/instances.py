"""``dicom_instances``: one Delta table row per change-feed entry, one partition per feed window."""

from functools import partial

from dagster import AssetExecutionContext, BackfillPolicy, asset

from dicom_assets.deid.errors import redacted_errors
from dicom_assets.deid.guard import check_lake
from dicom_assets.lake.change_log import last_synced_sequence
from dicom_assets.lake.window_sync import (
    SYNC_MODE_TAG,
    SyncMode,
    SyncTimings,
    WindowSync,
    timed_batches,
)
from dicom_assets.partitions import dicom_feed_partitions, window_of
from dicom_assets.resources import DicomServerResource, LakeResource
from dicom_assets.schema import ConversionOptions, convert_entries


@asset(
    partitions_def=dicom_feed_partitions,
    io_manager_key="dicom_lake_io_manager",
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    group_name="dicom",
    kinds={"dicom", "delta"},
    owners=["team:dicom-assets"],
)
def dicom_instances(
    context: AssetExecutionContext, dicom_server: DicomServerResource, lake: LakeResource
) -> WindowSync:
    """Every change of the DICOM server's change feed in one hour (UTC) of its timestamps.

    One row per change-feed entry (create, update and delete): the change columns ``_sequence``,
    ``_timestamp``, ``_action``; the three UIDs; one typed column per standard attribute present
    (named by keyword, typed by VR, lists when the dictionary's VM is not 1, sequences nested);
    ``_private`` and ``_invalid``; and ``_metadata``, the instance's full DICOM JSON, so nothing is
    lost. Stored in the Delta Lake table ``<lake>/result/Dicom/`` (partitioned by ``_date``). With
    DICOM_DEIDENTIFY=basic every entry is de-identified before it is converted (PS3.15 Basic
    Profile, keyed pseudonyms: docs/deidentification.md).

    Runs requested by ``dicom_change_feed_sensor`` add only the window's new changes; a
    materialization from the UI or a backfill re-syncs the whole window and replaces its rows in
    one atomic overwrite.

    How far the lake is behind the server (seconds and changes): *Checks* → ``freshness``.
    """
    partition_key = context.partition_key
    start, end = window_of(partition_key)
    mode = SyncMode(context.run.tags.get(SYNC_MODE_TAG, SyncMode.FULL.value))
    after_sequence = 0
    if mode is SyncMode.INCREMENTAL:
        # Committed with the window's rows (a Delta application transaction): exactly once.
        with lake.storage_errors():
            after_sequence = last_synced_sequence(lake, partition_key)
    deidentifier = lake.deidentifier()
    with lake.storage_errors():
        check_lake(lake.filesystem(), lake.dicom_root(), deidentifier)
    feed = dicom_server.change_feed()
    fetched, convert = iter(feed.entries_between(start, end, after_sequence)), convert_entries
    if deidentifier is not None:
        fetched = redacted_errors(fetched, deidentifier)
        convert = partial(convert_entries, options=ConversionOptions(deidentifier=deidentifier))
    context.log.info(
        f"{mode.value} sync of {start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC "
        f"after sequence {after_sequence}"
    )
    timings = SyncTimings()
    return WindowSync(
        partition_key=partition_key,
        mode=mode,
        after_sequence=after_sequence,
        batches=timed_batches(fetched, convert, timings),
        http_calls=lambda: feed.http_calls,
        timings=timings,
    )
