"""A window's sync written to the lake: quarantine records, then one Delta commit.

The converted batches are staged (staging.py) while they are converted; quarantined changes
go to NDJSON files under ``result/Dicom_Quarantine/<window>/`` named after the run's first
sequence, written before the commit (a rerun rewrites the same names: nothing doubles); then
the rows and the window's last synced sequence are committed in one Delta transaction.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pyarrow as pa

from dicom_assets.lake.atomic_files import write_text_atomically
from dicom_assets.lake.layout import DICOM_FOLDER, QUARANTINE_FOLDER, sync_app_id
from dicom_assets.lake.staging import GROUP_ROWS, StagedRows
from dicom_assets.lake.sync_report import SyncReport
from dicom_assets.lake.window_sync import SyncMode, WindowSync
from dicom_assets.lake.writer import write_window
from dicom_assets.partitions import window_folder
from dicom_assets.schema.layout import HEAD_FIELDS

APP = "dicom_instances"


def quarantine_lines(quarantined) -> str:
    return "".join(
        orjson.dumps(
            {
                "sequence": item.entry.sequence,
                "timestamp": item.entry.timestamp.isoformat(),
                "action": item.entry.action.value,
                "StudyInstanceUID": item.entry.study_instance_uid,
                "SeriesInstanceUID": item.entry.series_instance_uid,
                "SOPInstanceUID": item.entry.sop_instance_uid,
                "reason": item.reason,
                "raw_payload": item.raw_payload,
            }
        ).decode()
        + "\n"
        for item in quarantined
    )


def commit_window_sync(lake: Any, sync: WindowSync) -> SyncReport:
    """Write ``sync`` to ``lake`` (a ``LakeResource``); returns the report for the metadata."""
    report = SyncReport(mode=sync.mode, after_sequence=sync.after_sequence)
    start = sync.after_sequence + 1
    fs = None
    quarantined: list = []
    with StagedRows() as staged:
        for batch in sync.batches:
            started = time.perf_counter()
            if batch.table.num_rows:
                staged.add(batch.table)
            quarantined += batch.quarantined
            report.add_batch(batch)
            if len(quarantined) >= GROUP_ROWS:
                fs = fs or lake.filesystem()
                _write_quarantine(lake, fs, sync, start, report.quarantine_files, quarantined)
                report.quarantine_files += 1
                quarantined = []
            sync.timings.write += time.perf_counter() - started
        started = time.perf_counter()
        if quarantined:
            fs = fs or lake.filesystem()
            _write_quarantine(lake, fs, sync, start, report.quarantine_files, quarantined)
            report.quarantine_files += 1
        synced_through = max(sync.after_sequence, report.synced_through or 0)
        commit = write_window(
            lake.table(DICOM_FOLDER),
            sync.partition_key,
            staged,
            "overwrite" if sync.mode is SyncMode.FULL else "append",
            app_id=sync_app_id(APP, sync.partition_key),
            version=synced_through,
            empty_schema=pa.schema(HEAD_FIELDS),
            metadata={"dicom.mode": sync.mode.value, "dicom.synced_through": str(synced_through)},
        )
        sync.timings.write += time.perf_counter() - started
    report.commit = commit
    report.http_calls = sync.http_calls()
    report.timings = sync.timings
    return report


def _write_quarantine(lake, fs, sync: WindowSync, start: int, index: int, quarantined) -> None:
    folder = f"{lake.path(QUARANTINE_FOLDER)}/{window_folder(sync.partition_key)}"
    name = f"{sync.mode.value}-{start:012d}-{index:04d}.ndjson"
    write_text_atomically(fs, f"{folder}/{name}", quarantine_lines(quarantined))
