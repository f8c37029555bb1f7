"""The asset checks of ``dicom_instances``, one evaluation per partition (window).

They run in every run that materializes a window (Dagster adds an asset's checks to runs that
select it: sensor runs, backfills, UI materializations) and can be run alone from the asset's
*Checks* tab for any window. One op reads the window once and evaluates all four, so a run pays
one read of the identity columns and, for completeness, one cheap listing of the feed's window.

Partitioned checks (``AssetCheckSpec(partitions_def=...)``) are a Dagster *preview* feature in
1.13: we use them anyway because a result per window is what makes "which hour is incomplete?"
answerable in the UI, and the Dagster version is pinned in ``uv.lock``; the preview warning is
silenced here only.
"""

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    MetadataValue,
    PreviewWarning,
    multi_asset_check,
)

from dicom_assets.checks import rules
from dicom_assets.checks.window_data import WindowContents, read_window
from dicom_assets.config import value_of
from dicom_assets.lake.azure_storage import redact
from dicom_assets.partitions import dicom_feed_partitions, window_of
from dicom_assets.resources import DicomServerResource, LakeResource
from dicom_assets.sources.feed import ChangeFeed

INSTANCES = AssetKey("dicom_instances")

COMPLETENESS = "completeness"
UNIQUE_SEQUENCE = "unique_sequence"
IDENTITY = "identity"
QUARANTINE = "quarantine"

DESCRIPTIONS = {
    COMPLETENESS: (
        "Rows of the window (plus its quarantined changes) = the change feed's entries in the "
        "window, compared by sequence. Fails (ERROR) naming the missing sequences."
    ),
    UNIQUE_SEQUENCE: (
        "No two rows of the window share a _sequence. Fails naming the duplicates and their files."
    ),
    IDENTITY: (
        "StudyInstanceUID, SeriesInstanceUID and SOPInstanceUID are present and well-formed "
        "(UID syntax) on every row. ERROR for missing/garbage UIDs, WARN for shape-only violations."
    ),
    QUARANTINE: (
        "Changes set aside because their payload could not be read: WARN above 0, ERROR above "
        "DICOM_MAX_QUARANTINE_SHARE (default 1%) of the window's changes."
    ),
}


def _specs() -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            name, asset=INSTANCES, description=text, partitions_def=dicom_feed_partitions
        )
        for name, text in DESCRIPTIONS.items()
    ]


def feed_window(feed: ChangeFeed, start: datetime, end: datetime) -> rules.FeedWindow:
    """The window's changes as the feed lists them, without metadata (``changes_between``)."""
    changes = list(feed.changes_between(start, end))
    return rules.FeedWindow(count=len(changes), changes=changes)


def sync_started_at(context: AssetCheckExecutionContext, partition_key: str) -> datetime:
    """When the run that last materialized the window started (now, if none did)."""
    instance = context.instance
    found = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=INSTANCES, asset_partitions=[partition_key]), limit=1
    )
    if found.records:
        run = instance.get_run_record_by_id(found.records[0].run_id)
        if run is not None and run.start_time:
            return datetime.fromtimestamp(run.start_time, tz=UTC)
    return datetime.now(UTC)


def completeness_result(
    context: AssetCheckExecutionContext, contents: WindowContents, dicom_server: DicomServerResource
) -> AssetCheckResult:
    feed = dicom_server.change_feed()
    start, end = window_of(contents.partition_key)
    listing = feed_window(feed, start, end)
    result = rules.completeness(
        contents,
        listing,
        synced_before=sync_started_at(context, contents.partition_key),
        feed_forgets_deleted=feed.forgets_deleted_changes,
    )
    return AssetCheckResult(
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata={**result.metadata, "feed_http_calls": MetadataValue.int(feed.http_calls)},
    )


with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)

    @multi_asset_check(
        name="dicom_instances_window_checks",
        specs=_specs(),
        can_subset=True,
        description="Completeness, uniqueness, identity and quarantine of one window of the lake.",
    )
    def dicom_instances_window_checks(
        context: AssetCheckExecutionContext,
        dicom_server: DicomServerResource,
        lake: LakeResource,
    ) -> Iterator[AssetCheckResult]:
        """Read the window once, then evaluate the selected checks on it.

        A check that cannot be evaluated (the lake or the feed unreadable) is reported as a
        failed evaluation naming the error, instead of failing the run: the window was written,
        and a failed run would only make the sensor retry a sync that succeeded.
        """
        selected = {key.name for key in context.selected_asset_check_keys}
        try:
            with lake.storage_errors():
                contents = read_window(lake, context.partition_key)
        except Exception as error:  # noqa: BLE001 - reported on every selected check
            for name in DESCRIPTIONS:
                if name in selected:
                    yield _not_evaluated(name, "the window could not be read", error)
            return
        evaluations = {
            COMPLETENESS: lambda: completeness_result(context, contents, dicom_server),
            UNIQUE_SEQUENCE: lambda: rules.unique_sequences(contents),
            IDENTITY: lambda: rules.identity(contents),
            QUARANTINE: lambda: rules.quarantine_share(
                contents, value_of("DICOM_MAX_QUARANTINE_SHARE")
            ),
        }
        for name, evaluate in evaluations.items():
            if name not in selected:
                continue
            try:
                result = evaluate()
            except Exception as error:  # noqa: BLE001 - the other checks still report
                context.log.warning(f"check {name} could not be evaluated: {describe_error(error)}")
                yield _not_evaluated(name, "could not be evaluated", error)
                continue
            yield AssetCheckResult(
                asset_key=INSTANCES,
                check_name=name,
                passed=result.passed,
                severity=result.severity,
                description=result.description,
                metadata={
                    "table": MetadataValue.path(contents.folder),
                    **(result.metadata or {}),
                },
            )


def describe_error(error: Exception) -> str:
    """The error's class and message, without lake secrets, short enough for the UI."""
    return f"{type(error).__name__}: {redact(str(error))[:300]}"


def _not_evaluated(name: str, what: str, error: Exception) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=INSTANCES,
        check_name=name,
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description=f"{what}: {describe_error(error)}",
    )


def window_check_key(name: str) -> AssetCheckKey:
    return AssetCheckKey(INSTANCES, name)
