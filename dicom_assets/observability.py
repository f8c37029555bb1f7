"""How far the lake is behind the change feed, measured on a schedule and shown in the UI.

**Lag** is two numbers: *changes behind*, the feed's changes after the last sequence the lake
was synced through; and *seconds behind*, the age of the oldest of them (0 when there is none).
The second is the one that matters to users ("is what was stored 5 minutes ago queryable?") and
it stays exact even when the count is capped.

**Where it is recorded.** ``dicom_lake_lag_sensor`` measures it every
``DICOM_LAG_INTERVAL_SECONDS`` (30 s) and records, on ``dicom_instances``:

* an ``AssetObservation`` whose numeric metadata (``lag_seconds``, ``lag_changes``, ...) the UI
  plots over time (asset page → *Plots*), and
* an evaluation of the ``freshness`` asset check: ERROR when ``lag_seconds`` exceeds
  ``DICOM_MAX_LAG_SECONDS`` (300 s), which turns the asset red.

A separate sensor (rather than the change-feed sensor) keeps measuring when the sync itself is
stuck or stopped, which is exactly when the number matters. The same check also runs with
every materialization and can be run from the UI.

**Why not a Dagster ``FreshnessPolicy``.** Dagster's time-window policy measures the time since
the last *materialization*. A quiet feed (a night without studies) never materializes, so the
policy would turn red while the lake is perfectly current; and a busy sync that materializes
every minute but falls further and further behind would look green. Lag against the feed is
the truth, so the check measures that.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetObservation,
    DefaultSensorStatus,
    MetadataValue,
    SensorEvaluationContext,
    SensorResult,
    asset_check,
    sensor,
)

from dicom_assets.checks.window_checks import describe_error
from dicom_assets.config import value_of
from dicom_assets.lake.change_log import last_synced_in_history
from dicom_assets.resources import DicomServerResource, LakeResource
from dicom_assets.sources.entries import FeedChange

INSTANCES = AssetKey("dicom_instances")
FRESHNESS = "freshness"
# Changes counted per measurement at most (a poll without metadata: Orthanc pages of 1,000,
# Azure ranges of 100); beyond it ``lag_changes`` is a lower bound and ``lag_seconds`` is exact.
MAX_COUNTED_CHANGES = 2_000
# The newest commits that tell where the lake is: sequences grow with time, so the last synced
# sequence is in one of them (maintenance commits in between carry none).
NEWEST_COMMITS = 50


DEFAULT_MEANING = "the change feed's sequence numbers, one per instance change"


@dataclass(frozen=True)
class LakeLag:
    measured_at: datetime
    lake_sequence: int  # the lake is synced through this sequence
    feed_sequence: int  # the feed's last sequence seen
    changes_behind: int
    capped: bool  # changes_behind is a lower bound
    oldest_unsynced: FeedChange | None
    sequence_meaning: str = DEFAULT_MEANING

    @property
    def seconds_behind(self) -> float:
        if self.oldest_unsynced is None:
            return 0.0
        return max(0.0, (self.measured_at - self.oldest_unsynced.timestamp).total_seconds())


def lake_last_sequence(lake: LakeResource) -> int:
    """The last change-feed sequence the lake holds: the highest ``dicom.synced_through`` of
    the newest sync commits (committed with each run's rows; it counts quarantined changes as
    handled: they are not behind). Only the last ``NEWEST_COMMITS`` log entries are read."""
    with lake.storage_errors():
        return last_synced_in_history(lake.table(), NEWEST_COMMITS)


def measure_lag(feed: Any, lake: LakeResource, now: datetime | None = None) -> LakeLag:
    """Poll the feed (no metadata) after the lake's last sequence."""
    synced = lake_last_sequence(lake)
    poll = feed.poll(synced, max_changes=MAX_COUNTED_CHANGES)
    changes = sorted(poll.changes, key=lambda change: change.sequence)
    return LakeLag(
        measured_at=now or datetime.now(UTC),
        lake_sequence=synced,
        feed_sequence=max(poll.next_cursor, synced),
        changes_behind=len(changes),
        capped=len(changes) >= MAX_COUNTED_CHANGES,
        oldest_unsynced=min(changes, key=lambda change: change.timestamp) if changes else None,
        sequence_meaning=getattr(feed, "sequence_meaning", DEFAULT_MEANING),
    )


def lag_metadata(lag: LakeLag, bound: float) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "lag_seconds": MetadataValue.float(round(lag.seconds_behind, 3)),
        "lag_changes": MetadataValue.int(lag.changes_behind),
        "lag_changes_capped": MetadataValue.bool(lag.capped),
        "lake_last_sequence": MetadataValue.int(lag.lake_sequence),
        "feed_last_sequence": MetadataValue.int(lag.feed_sequence),
        "max_lag_seconds": MetadataValue.float(bound),
        "measured_at": MetadataValue.timestamp(lag.measured_at),
        "lag": MetadataValue.text(lag_summary(lag)),
        "what_the_numbers_count": MetadataValue.text(
            "lag_seconds: age of the oldest instance change not yet in the lake (0: none); "
            "lag_changes: instance changes not yet in the lake; lake_last_sequence and "
            f"feed_last_sequence are {lag.sequence_meaning}"
        ),
    }
    if lag.oldest_unsynced is not None:
        metadata["oldest_unsynced_sequence"] = MetadataValue.int(lag.oldest_unsynced.sequence)
        metadata["oldest_unsynced_timestamp"] = MetadataValue.timestamp(
            lag.oldest_unsynced.timestamp
        )
    return metadata


def lag_summary(lag: LakeLag) -> str:
    """The lag at a glance: seconds and changes behind, and where lake and feed stand."""
    behind = f"{lag.changes_behind}{'+' if lag.capped else ''} changes behind"
    head = (
        f"in sync: 0 s behind, {behind}"
        if lag.oldest_unsynced is None
        else f"{lag.seconds_behind:.0f} s behind, {behind} (oldest: sequence "
        f"{lag.oldest_unsynced.sequence})"
    )
    gap = lag.feed_sequence - lag.lake_sequence
    tail = f"lake through sequence {lag.lake_sequence}, feed at {lag.feed_sequence}"
    if gap > lag.changes_behind:
        tail += (
            f"; {gap - lag.changes_behind} of the numbers in between are no instance change to sync"
        )
    return f"{head}; {tail}"


def freshness_result(lag: LakeLag, bound: float) -> AssetCheckResult:
    """ERROR when the oldest change not yet in the lake is older than ``bound`` seconds."""
    description = (
        f"{lag_summary(lag)}. Bound {bound:.0f} s (DICOM_MAX_LAG_SECONDS). Changes behind "
        f"count instance changes; the sequences are {lag.sequence_meaning}."
    )
    return AssetCheckResult(
        asset_key=INSTANCES,
        check_name=FRESHNESS,
        passed=lag.seconds_behind <= bound,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata=lag_metadata(lag, bound),
    )


def measured_freshness(
    dicom_server: DicomServerResource, lake: LakeResource
) -> tuple[LakeLag | None, AssetCheckResult]:
    """Measure the lag now and judge it; a feed or lake that cannot be read is a failure
    ("lag unknown"), never an exception: the measurement matters most when things break."""
    bound = value_of("DICOM_MAX_LAG_SECONDS")
    try:
        with lake.storage_errors():
            lag = measure_lag(dicom_server.change_feed(), lake)
    except Exception as error:  # noqa: BLE001 - reported as the check's result
        return None, AssetCheckResult(
            asset_key=INSTANCES,
            check_name=FRESHNESS,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=(
                f"lag unknown: the feed or the lake could not be read ({describe_error(error)})"
            ),
        )
    return lag, freshness_result(lag, bound)


@asset_check(
    asset=INSTANCES,
    name=FRESHNESS,
    description=(
        "The lake is at most DICOM_MAX_LAG_SECONDS (default 300) behind the change feed: the "
        "oldest change not yet in the lake is younger than that. Evaluated by "
        "dicom_lake_lag_sensor every tick and with every materialization."
    ),
)
def dicom_lake_freshness(dicom_server: DicomServerResource, lake: LakeResource) -> AssetCheckResult:
    """Measure the lag now and judge it against the bound."""
    return measured_freshness(dicom_server, lake)[1]


@sensor(
    name="dicom_lake_lag_sensor",
    minimum_interval_seconds=value_of("DICOM_LAG_INTERVAL_SECONDS"),
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Measures how far the lake is behind the change feed (seconds and changes) and records "
        "it on dicom_instances as an observation (plotted) and a freshness check evaluation."
    ),
)
def dicom_lake_lag_sensor(
    context: SensorEvaluationContext, dicom_server: DicomServerResource, lake: LakeResource
) -> SensorResult:
    lag, result = measured_freshness(dicom_server, lake)
    if lag is None:
        context.log.warning(result.description or "lag unknown")
    else:
        context.log.info(result.description or "")
    evaluation = AssetCheckEvaluation(
        asset_key=INSTANCES,
        check_name=FRESHNESS,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata=result.metadata,
    )
    events: list = [evaluation]
    if lag is not None:
        events.insert(
            0,
            AssetObservation(
                asset_key=INSTANCES, metadata=lag_metadata(lag, value_of("DICOM_MAX_LAG_SECONDS"))
            ),
        )
    return SensorResult(asset_events=events)
