"""``dicom_change_feed_sensor``: polls the change feed and requests a run per window that changed.

Cursor (JSON): ``{"sequence": N, "pending": {"<window>": S, ...}}``.

- ``sequence``: the last feed sequence handed to runs. Every change after it maps to the window
  of its own timestamp, so a late change in a past window asks for a run of that past window.
- ``pending``: per window, the highest sequence a run was requested for, kept until a run of
  that request succeeded. While that run has not started (queued), new changes of the window
  ask for no other run: the queued run pages the feed when it starts and syncs them too, so a
  busy window has at most one run queued behind the running one. The run key is stable
  (``<window>@<S>``): a tick evaluated again from the same cursor, e.g. after a daemon crash,
  asks for the same runs and Dagster runs each once.
  A requested run that failed or was killed is asked for again as ``<window>@<S>#retry-<n>``
  (at most ``MAX_RETRIES`` times for the same ``S``; a new change to the window starts over),
  unless Dagster's ``run_retries`` re-runs it: then the sensor waits (docs/sync.md, "Failed
  runs").
  An incremental run starts after the window's last *written* sequence, so a re-run re-does
  exactly what the failed run did not finish.
- **Polling inside a tick.** Dagster's sensor daemon starts ticks at most every 5 s (its loop
  time, whatever the sensor's interval), so a change would wait 2.5 s on average and up to 5 s
  before any run is asked for. A tick that finds nothing keeps polling the feed every
  ``DICOM_SENSOR_POLL_SECONDS`` (0.5 s; one cheap call) for up to
  ``DICOM_SENSOR_WAIT_SECONDS`` (4 s) and returns as soon as a change arrives: a change is seen
  within about half a second while the daemon's loop stays as it is (docs/performance.md).
- Deletions a feed forgets (Orthanc) are not found here: ``reconcile_job.py`` runs them as a
  job of their own, asked for by ``dicom_orthanc_reconcile_sensor``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from dagster import (
    AssetSelection,
    DagsterInvariantViolationError,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from dicom_assets.config import setting_value, value_of
from dicom_assets.lake.window_sync import SYNC_MODE_TAG, SyncMode
from dicom_assets.partitions import dicom_feed_partitions, partition_key_of
from dicom_assets.resources import DicomServerResource
from dicom_assets.sources.entries import FeedChange

MAX_CHANGES_PER_TICK = 20_000
MAX_RETRIES = 3
RUN_KEY_TAG = "dagster/run_key"
PARTITION_TAG = "dagster/partition"
# Set by Dagster on a failed run that ``run_retries`` (deploy/dagster.yaml) will run again, and
# once that re-run exists: until then the sensor waits instead of asking a retry of its own.
WILL_RETRY_TAG = "dagster/will_retry"
AUTO_RETRY_RUN_ID_TAG = "dagster/auto_retry_run_id"


@dataclass
class SensorCursor:
    sequence: int = 0
    pending: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, cursor: str | None) -> SensorCursor:
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(
            sequence=int(data.get("sequence", 0)),
            pending={key: int(value) for key, value in (data.get("pending") or {}).items()},
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "sequence": self.sequence,
                "pending": dict(sorted(self.pending.items())),
            }
        )


def parse_cursor(cursor: str | None) -> int:
    """The last feed sequence the sensor has handed to runs."""
    return SensorCursor.load(cursor).sequence


def format_cursor(sequence: int) -> str:
    return SensorCursor(sequence=sequence).dump()


def run_key(partition_key: str, sequence: int, retry: int = 0) -> str:
    base = f"{partition_key}@{sequence}"
    return base if retry == 0 else f"{base}#retry-{retry}"


@dataclass
class WindowPlan:
    """What one poll asks for: the last sequence per window, and how far the cursor may move."""

    last_by_window: dict[str, int]
    cursor: int
    too_early: int


def plan_windows(
    changes: Iterable[FeedChange], next_cursor: int, valid_keys: set[str]
) -> WindowPlan:
    """Group a poll's changes by the window of their own timestamp (late ones included)."""
    changes = list(changes)
    first_valid = min(valid_keys, default="")
    keyed = [(partition_key_of(change.timestamp), change.sequence) for change in changes]
    cursor = next_cursor
    for key, sequence in keyed:
        if key not in valid_keys and key >= first_valid:
            # A window that is not open yet (clock skew): hold the cursor before it.
            cursor = min(cursor, sequence - 1)
    last_by_window: dict[str, int] = {}
    too_early = 0
    for key, sequence in keyed:
        if sequence > cursor:
            continue  # asked for by a later tick, with the changes held back
        if key in valid_keys:
            last_by_window[key] = max(last_by_window.get(key, 0), sequence)
        elif key < first_valid:
            too_early += 1  # before DICOM_PARTITIONS_START: reported, never silently skipped
    return WindowPlan(last_by_window=last_by_window, cursor=cursor, too_early=too_early)


def _incremental_request(partition_key: str, sequence: int, retry: int = 0) -> RunRequest:
    return RunRequest(
        partition_key=partition_key,
        run_key=run_key(partition_key, sequence, retry),
        tags={SYNC_MODE_TAG: SyncMode.INCREMENTAL.value},
    )


# A run in these states has not read the feed yet: it will sync every change seen so far.
NOT_STARTED = {DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING}


def awaits_dagster_retry(run) -> bool:
    """A failed run the daemon's ``run_retries`` will re-run (that re-run keeps the run key, so
    it joins the request's runs); how the two retry mechanisms combine: docs/sync.md."""
    return run.tags.get(WILL_RETRY_TAG) == "true" and AUTO_RETRY_RUN_ID_TAG not in run.tags


@dataclass
class FollowUp:
    pending: dict[str, int]
    requests: list[RunRequest]
    not_started: set[str]  # windows with a requested run that has not started yet


def follow_up_pending(context: SensorEvaluationContext, pending: dict[str, int]) -> FollowUp:
    """Drop windows whose requested run succeeded; ask again for those whose runs all failed."""
    try:
        instance = context.instance
    except DagsterInvariantViolationError:
        # Evaluated without an instance (unit tests): nothing to look up.
        return FollowUp(dict(pending), [], set())
    result = FollowUp({}, [], set())
    for key, sequence in pending.items():
        base = run_key(key, sequence)
        runs = instance.get_runs(filters=RunsFilter(tags={PARTITION_TAG: key}), limit=100)
        family = [run for run in runs if run.tags.get(RUN_KEY_TAG, "").split("#")[0] == base]
        if any(run.status == DagsterRunStatus.SUCCESS for run in family):
            continue
        result.pending[key] = sequence
        if any(run.status in NOT_STARTED for run in family):
            result.not_started.add(key)
        if any(not run.is_finished or awaits_dagster_retry(run) for run in family):
            continue  # queued or running, or Dagster's run_retries will run it again
        if not family:
            result.requests.append(_incremental_request(key, sequence))  # same key: no double
        elif len(family) <= MAX_RETRIES:
            context.log.warning(f"run {base} did not succeed; asking again (retry {len(family)})")
            result.requests.append(_incremental_request(key, sequence, retry=len(family)))
        else:
            context.log.error(
                f"window {key}: {len(family)} runs for sequence {sequence} failed; waiting for "
                "a new change or a manual materialization"
            )
    return result


def poll_until_changes(feed, after_sequence: int):
    """Poll; while nothing is new, poll again every ``DICOM_SENSOR_POLL_SECONDS`` for up to
    ``DICOM_SENSOR_WAIT_SECONDS``."""
    deadline = time.monotonic() + value_of("DICOM_SENSOR_WAIT_SECONDS")
    step = value_of("DICOM_SENSOR_POLL_SECONDS")
    poll = feed.poll(after_sequence, max_changes=MAX_CHANGES_PER_TICK)
    while not poll.changes and time.monotonic() + step < deadline:
        time.sleep(step)
        poll = feed.poll(after_sequence, max_changes=MAX_CHANGES_PER_TICK)
    return poll


@sensor(
    name="dicom_change_feed_sensor",
    asset_selection=AssetSelection.keys("dicom_instances"),
    minimum_interval_seconds=value_of("DICOM_SENSOR_INTERVAL_SECONDS"),
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Polls the DICOM server's change feed and requests an incremental run of "
        "dicom_instances for every hourly window that received changes, late ones included; "
        "asks again for runs that failed."
    ),
)
def dicom_change_feed_sensor(
    context: SensorEvaluationContext, dicom_server: DicomServerResource
) -> SensorResult:
    state = SensorCursor.load(context.cursor)
    feed = dicom_server.change_feed()
    poll = poll_until_changes(feed, state.sequence)
    # After the poll: a run that has not started by now will sync every change the poll saw.
    follow_up = follow_up_pending(context, state.pending)
    state.pending, requests = follow_up.pending, follow_up.requests
    valid = set(dicom_feed_partitions.get_partition_keys()) if poll.changes else set()
    plan = plan_windows(poll.changes, max(state.sequence, poll.next_cursor), valid)
    if plan.too_early:
        context.log.warning(
            f"{plan.too_early} changes are older than DICOM_PARTITIONS_START "
            f"({setting_value('DICOM_PARTITIONS_START')}); set it earlier to sync them"
        )
    asked = {request.partition_key for request in requests}
    for key, last in sorted(plan.last_by_window.items()):
        if key in follow_up.not_started:
            continue  # its queued run syncs these changes too: no second run in the queue
        state.pending[key] = max(state.pending.get(key, 0), last)
        if key in asked:  # a retry of this window is superseded by the newer request
            requests = [request for request in requests if request.partition_key != key]
        requests.append(_incremental_request(key, state.pending[key]))
    state.sequence = max(state.sequence, plan.cursor)
    if poll.changes:
        context.log.info(
            f"{len(poll.changes)} changes: runs for {len(plan.last_by_window)} windows"
        )
    return SensorResult(run_requests=requests, cursor=state.dump())
