"""The Parquet IO manager of the lake: local folders and ADLS Gen2 / Blob storage, one code path.

A window's folder holds part files and a small state file::

    result/Dicom/2026/11/25/17/
        part-000000000001-0000.parquet    full sync, first batch
        delta-000000000812-0000.parquet   incremental sync of the changes after sequence 811
        _state.json                       {"last_sequence": 900, ...}  (readers skip "_" files)

An incremental run starts after ``last_sequence`` and first deletes leftovers of a failed
attempt at the same delta (same start), so a re-run writes each change exactly once. A full run
writes its files, then deletes every other file of the window: during that replacement a reader
may see both old and new rows, never a partial file; ``current_instances`` picks one row per
sequence, so it stays right throughout.
"""

from __future__ import annotations

import collections.abc
import json
import re
import time
import typing
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    ConfigurableIOManagerFactory,
    InputContext,
    MetadataValue,
    OutputContext,
    UPathIOManager,
)
from fsspec.implementations.local import LocalFileSystem
from upath import UPath

from dicom_assets.io.compaction import compact_deltas
from dicom_assets.io.sync_report import SyncReport
from dicom_assets.io.window_sync import SyncMode, WindowSync, grouped_by_rows
from dicom_assets.io.writer import (
    ROW_GROUP_ROWS,
    is_temporary,
    read_json,
    write_parquet_atomically,
    write_text_atomically,
)
from dicom_assets.partitions import window_folder
from dicom_assets.resources.lake import DICOM_FOLDER, QUARANTINE_FOLDER, LakeResource
from dicom_assets.resources.lake_errors import translated_fs_errors
from dicom_assets.schema.layout import one_table

STATE_FILE = "_state.json"
PART_FILE = re.compile(r"^(part|delta)-(\d{12})-(\d{4})\.parquet$")


def window_state(fs: Any, folder: str) -> dict[str, Any]:
    """The window's ``_state.json`` (``last_sequence`` 0 when the window was never synced)."""
    with translated_fs_errors(fs, folder):
        return read_json(fs, f"{folder}/{STATE_FILE}") or {"last_sequence": 0}


class ParquetLakeIOManager(UPathIOManager):
    """Writes :class:`WindowSync` outputs as Parquet part files; loads windows as Arrow/polars."""

    extension = ""

    def __init__(self, lake: LakeResource):
        self.lake = lake
        super().__init__(base_path=UPath(lake.root(), **lake.storage_options()))

    # Every storage access of Dagster's UPathIOManager (existence checks, mkdir) and ours runs
    # inside these two, so a storage failure surfaces as one LakeStorageError without secrets.
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        with self.lake.storage_errors():
            super().handle_output(context, obj)

    def load_input(self, context: InputContext) -> Any:
        with self.lake.storage_errors():
            return super().load_input(context)

    def get_asset_relative_path(self, context: InputContext | OutputContext) -> UPath:
        return UPath(DICOM_FOLDER)

    def get_path_for_partition(
        self, context: InputContext | OutputContext, path: UPath, partition: str
    ) -> UPath:
        return path / window_folder(partition)

    # --- writing ----------------------------------------------------------------------------
    def dump_to_path(self, context: OutputContext, obj: WindowSync, path: UPath) -> None:
        fs, folder = path.fs, path.path.rstrip("/")
        if isinstance(fs, LocalFileSystem):
            # Blob folders are virtual, and UPathIOManager.handle_output has already made sure
            # the container exists: asking again would cost a round trip per run.
            fs.makedirs(folder, exist_ok=True)
        existing = _part_files(fs, folder)
        prefix = "part" if obj.mode is SyncMode.FULL else "delta"
        start = obj.after_sequence + 1
        report = SyncReport(mode=obj.mode, after_sequence=obj.after_sequence)
        if obj.mode is SyncMode.INCREMENTAL:
            # Leftovers of a failed attempt at this very delta, re-done now.
            for name, (_, first, _) in existing.items():
                if first >= start:
                    fs.rm(f"{folder}/{name}")
            report.compacted_files = len(compact_deltas(fs, folder, existing, start))
        written: set[str] = set()
        for index, group in enumerate(grouped_by_rows(obj.batches, ROW_GROUP_ROWS)):
            started = time.perf_counter()
            tables = [batch.table for batch in group if batch.table.num_rows]
            if tables:
                name = f"{prefix}-{start:012d}-{index:04d}.parquet"
                size = write_parquet_atomically(fs, f"{folder}/{name}", one_table(tables))
                written.add(name)
                report.add_file(f"{folder}/{name}", size)
            quarantined = [item for batch in group for item in batch.quarantined]
            if quarantined:
                self._quarantine(fs, obj, start, index, quarantined)
            for batch in group:
                report.add_batch(batch)
            obj.timings.write += time.perf_counter() - started
        started = time.perf_counter()
        if obj.mode is SyncMode.FULL:
            for name in existing:
                if name not in written:
                    fs.rm(f"{folder}/{name}")
        _remove_stray_temporaries(fs, folder)
        # A full sync starts from 0; an incremental one from the state the asset read when the
        # run started (one run per window at a time), so the state need not be read again.
        state = {
            "last_sequence": max(obj.after_sequence, report.synced_through or 0),
            "synced_at": datetime.now(UTC).isoformat(),
            "mode": obj.mode.value,
        }
        write_text_atomically(fs, f"{folder}/{STATE_FILE}", json.dumps(state))
        obj.timings.write += time.perf_counter() - started
        report.http_calls = obj.http_calls()
        report.timings = obj.timings
        metadata = report.metadata(self.lake.url_of(folder))
        metadata["lake"] = MetadataValue.text(self.lake.describe())  # names only, no secret
        context.add_output_metadata(metadata)
        context.log.info(f"synced window {obj.partition_key}: {report.summary()}")

    def _quarantine(self, fs: Any, obj: WindowSync, start: int, index: int, quarantined) -> None:
        folder = f"{self.lake.path(QUARANTINE_FOLDER)}/{window_folder(obj.partition_key)}"
        lines = [
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
            for item in quarantined
        ]
        name = f"{obj.mode.value}-{start:012d}-{index:04d}.ndjson"
        write_text_atomically(fs, f"{folder}/{name}", "\n".join(lines) + "\n")

    # --- reading ----------------------------------------------------------------------------
    def load_from_path(self, context: InputContext, path: UPath) -> pa.Table | pl.DataFrame:
        fs, folder = path.fs, path.path.rstrip("/")
        names = sorted(_part_files(fs, folder))
        if not names:
            raise FileNotFoundError(f"no Parquet files in {folder}")
        tables = [pq.read_table(f"{folder}/{name}", filesystem=fs) for name in names]
        table = pa.concat_tables(tables, promote_options="permissive")
        wanted = _frame_type(getattr(context.dagster_type, "typing_type", None))
        if wanted in (pl.DataFrame, pl.LazyFrame):
            frame = pl.from_arrow(table)
            return frame.lazy() if wanted is pl.LazyFrame else frame
        return table


def _frame_type(annotation: Any) -> Any:
    """The frame type a downstream input asks for: ``pl.DataFrame`` for one partition, or the
    value type of ``dict[str, pl.DataFrame]`` for a range of partitions."""
    if typing.get_origin(annotation) in (dict, typing.Mapping, collections.abc.Mapping):
        arguments = typing.get_args(annotation)
        return arguments[1] if len(arguments) == 2 else None
    return annotation


def _part_files(fs: Any, folder: str) -> dict[str, tuple[str, int, int]]:
    try:
        names = [entry.rsplit("/", 1)[-1] for entry in fs.ls(folder, detail=False)]
    except FileNotFoundError:
        return {}
    parts = {}
    for name in names:
        match = PART_FILE.match(name)
        if match:
            parts[name] = (match.group(1), int(match.group(2)), int(match.group(3)))
    return parts


def _remove_stray_temporaries(fs: Any, folder: str) -> None:
    if not isinstance(fs, LocalFileSystem):
        return  # Blob storage: files are written under their final name, never as temporaries
    for entry in fs.ls(folder, detail=False):
        if is_temporary(entry.rsplit("/", 1)[-1]):
            fs.rm(entry)


class DicomLakeIOManager(ConfigurableIOManagerFactory):
    """IO manager writing ``dicom_instances`` under ``<lake>/result/Dicom/`` (DICOM_LAKE_URL)."""

    lake: LakeResource

    def create_io_manager(self, context) -> ParquetLakeIOManager:
        return ParquetLakeIOManager(self.lake)
