"""``dicom_orthanc_reconcile``: finding the deletions a change feed forgets, as a Dagster run.

A server whose feed forgets deleted instances (``ChangeFeed.forgets_deleted_changes``: Orthanc)
reports no delete; its deletions are found by comparing the lake with the server
(``sources/orthanc/reconcile.py``). That pass is a run of its own, so the delete rows it writes
show in the UI with the run's metadata (instances checked, deletes found, seconds, HTTP calls,
data files read) and its cost never counts against the change-feed sensor's tick. This module
is the shell: it reads the lake (``lake/current_index.py``: only the change log's files its
index of current instances does not cover yet), hands the current instances to the feed's
``reconcile()`` (a pure comparison with the server) and appends the delete rows it returns.

``dicom_orthanc_reconcile_sensor`` asks for a run every ``DICOM_RECONCILE_INTERVAL_SECONDS``
(cursor: when it last asked), never while one is still queued or running, and asks for nothing
when the server's feed reports its deletes itself (Azure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from dagster import (
    DagsterInvariantViolationError,
    DagsterRunStatus,
    DefaultSensorStatus,
    MetadataValue,
    Output,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    job,
    op,
    sensor,
)

from dicom_assets.config import value_of
from dicom_assets.lake.current_index import IndexLocation, indexed_current_instances
from dicom_assets.lake.current_instances import append_deletes, current_instances
from dicom_assets.resources import DicomServerResource, LakeResource

JOB_NAME = "dicom_orthanc_reconcile"
IN_PROGRESS = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def reconcile_interval() -> float:
    return value_of("DICOM_RECONCILE_INTERVAL_SECONDS")


@dataclass
class ReconcilePass:
    """One pass's counts: what the lake held, what the server held, what was written."""

    lake_instances: int
    server_instances: int
    deleted: list
    version: int | None  # the Delta table version of the delete rows (None: none written)
    http_calls: int
    lake_seconds: float  # reading the lake's current instances
    seconds: float  # the whole pass
    # How the lake was read (lake/current_index.py): only the files the index did not cover
    # (incremental), or every file (no index given, or the index could not be used: why).
    files_read: int = 0
    files_total: int = 0
    incremental: bool = False
    full_read_reason: str = ""


def _read_lake(table, index: IndexLocation | None):
    if index is None:
        current = current_instances(table)
        return current, {"full_read_reason": "no index"}
    read = indexed_current_instances(table, index)
    counts = {
        "files_read": read.files_read,
        "files_total": read.files_total,
        "incremental": read.incremental,
        "full_read_reason": read.full_read_reason,
    }
    return read.current, counts


def reconcile_pass(
    table, feed, deidentifier=None, index: IndexLocation | None = None
) -> ReconcilePass:
    """Read the lake's current instances, have the feed find those the server no longer
    holds, append their delete rows. The lake is read first (see sources/orthanc/reconcile.py);
    with ``index``, only the change log's files it does not cover yet (lake/current_index.py).
    Raises the feed's refusal (``ReconcileRefused``) before anything is written."""
    started = time.perf_counter()
    current, read = _read_lake(table, index)
    lake_seconds = time.perf_counter() - started
    found = feed.reconcile(current, deidentifier=deidentifier)
    version = append_deletes(table, found.entries, found.detected_at)
    return ReconcilePass(
        lake_instances=len(current),
        server_instances=found.orthanc_instances,
        deleted=found.deleted,
        version=version,
        http_calls=found.http_calls,
        lake_seconds=lake_seconds,
        seconds=time.perf_counter() - started,
        **read,
    )


def _pass_metadata(result: ReconcilePass) -> dict:
    return {
        "reconciled": MetadataValue.bool(True),
        "lake_instances": MetadataValue.int(result.lake_instances),
        "server_instances": MetadataValue.int(result.server_instances),
        "deletes_found": MetadataValue.int(len(result.deleted)),
        "table_version": MetadataValue.int(-1 if result.version is None else result.version),
        "http_calls": MetadataValue.int(result.http_calls),
        "lake_read_seconds": MetadataValue.float(round(result.lake_seconds, 3)),
        "lake_files_read": MetadataValue.int(result.files_read),
        "lake_files": MetadataValue.int(result.files_total),
        "incremental": MetadataValue.bool(result.incremental),
        "full_read_reason": MetadataValue.text(result.full_read_reason or "-"),
        "seconds": MetadataValue.float(round(result.seconds, 3)),
    }


@op(
    description=(
        "Compares the instances the lake holds as current with those the DICOM server holds and "
        "writes one delete row per instance the server no longer has."
    )
)
def reconcile_dicom_deletions(
    context, lake: LakeResource, dicom_server: DicomServerResource
) -> Output[None]:
    from dicom_assets.deid.guard import check_lake
    from dicom_assets.sources.orthanc.reconcile import ReconcileRefused

    feed = dicom_server.change_feed()
    if not feed.forgets_deleted_changes:
        context.log.info(f"{type(feed).__name__} reports deletes itself: nothing to reconcile")
        return Output(None, metadata={"reconciled": MetadataValue.bool(False)})
    # Storage failures come out as LakeStorageError: a clean message, never a secret.
    with lake.storage_errors():
        deidentifier = lake.deidentifier()
        check_lake(lake.filesystem(), lake.dicom_root(), deidentifier)
        try:
            result = reconcile_pass(
                lake.table(), feed, deidentifier=deidentifier, index=IndexLocation.of(lake)
            )
        except ReconcileRefused as refused:
            context.log.warning(str(refused))
            return Output(
                None,
                metadata={"reconciled": MetadataValue.bool(False), "refused": str(refused)},
            )
    context.log.info(
        f"{len(result.deleted)} instances deleted in the server "
        f"({result.lake_instances} in the lake, {result.server_instances} in the server, "
        f"{result.http_calls} calls, {result.seconds:.2f} s)"
    )
    return Output(None, metadata=_pass_metadata(result))


@job(
    name=JOB_NAME,
    description="Delete rows for the instances the DICOM server no longer holds (Orthanc).",
)
def dicom_orthanc_reconcile():
    reconcile_dicom_deletions()


def _in_progress(context: SensorEvaluationContext) -> bool:
    try:
        instance = context.instance
    except DagsterInvariantViolationError:
        return False  # evaluated without an instance (unit tests): nothing to look up
    runs = instance.get_runs(filters=RunsFilter(job_name=JOB_NAME, statuses=IN_PROGRESS), limit=1)
    return bool(runs)


@sensor(
    name="dicom_orthanc_reconcile_sensor",
    job=dicom_orthanc_reconcile,
    minimum_interval_seconds=max(5, int(reconcile_interval())),
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Asks for a dicom_orthanc_reconcile run every DICOM_RECONCILE_INTERVAL_SECONDS when the "
        "server's change feed forgets deleted instances (Orthanc)."
    ),
)
def dicom_orthanc_reconcile_sensor(
    context: SensorEvaluationContext, dicom_server: DicomServerResource
) -> SensorResult | SkipReason:
    if not dicom_server.change_feed().forgets_deleted_changes:
        return SkipReason("the server's change feed reports deletes itself")
    asked_at = float(context.cursor or 0.0)
    now = time.time()
    if now - asked_at < reconcile_interval():
        return SkipReason("DICOM_RECONCILE_INTERVAL_SECONDS not elapsed")
    if _in_progress(context):
        return SkipReason(f"a {JOB_NAME} run is queued or running")
    return SensorResult(run_requests=[RunRequest(run_key=f"reconcile@{now:.3f}")], cursor=repr(now))
