"""``dicom-assets migrate-lake``: a previous version's lake (plain Parquet) into the Delta table.

Rows are re-converted from their own ``_metadata`` (``schema.retype``), so a migrated row is
the row today's sync would write (TM as text, DT in UTC, dates Spark 3 cannot read invalid);
rows whose metadata no longer converts go to the quarantine. The previous version wrote
``result/Dicom/YYYY/MM/DD/HH/`` folders of Parquet part files (``part-*``, ``delta-*``,
``reconcile-*``) and a ``_state.json`` per window. Each such window becomes **one Delta commit** of
all its rows, with the window's last synced sequence (from ``_state.json``, else its highest
sequence) as the window's application transaction, exactly as a sync would have committed it: sensor
runs then continue after it. The DICOM server is never called.

Safe to interrupt and re-run: a window whose transaction is in the table already is skipped,
and each window's rows and transaction land in one commit. Rows are kept once per
``_sequence`` (the old compaction could leave a merged file and its sources side by side after
a crash). The old files stay where they are until ``--remove-old`` (after a successful
migration) deletes them; Delta readers never see them (they are not in the log).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dicom_assets.lake.atomic_files import write_text_atomically
from dicom_assets.lake.layout import DICOM_FOLDER, QUARANTINE_FOLDER, sync_app_id
from dicom_assets.lake.window_commit import quarantine_lines
from dicom_assets.lake.writer import write_window
from dicom_assets.partitions import PARTITION_KEY_FORMAT, window_folder
from dicom_assets.schema.retype import retype

WINDOW_FOLDER = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})$")
APP = "dicom_instances"


@dataclass
class MigrationReport:
    windows: int = 0
    skipped: int = 0
    rows: int = 0
    duplicates_dropped: int = 0
    quarantined: int = 0
    files_removed: int = 0
    migrated: list[str] = field(default_factory=list)


def old_windows(fs, dicom_root: str) -> dict[str, list[str]]:
    """Partition key -> Parquet files of each old ``YYYY/MM/DD/HH`` window folder."""
    root = dicom_root.rstrip("/")
    windows: dict[str, list[str]] = {}
    if not fs.exists(root):
        return windows
    for path in fs.find(root, withdirs=False):
        folder, _, name = path.rpartition("/")
        if not name.endswith(".parquet") or name.startswith((".", "_")):
            continue
        match = WINDOW_FOLDER.search(folder)
        if not match or not folder.startswith(root + "/"):
            continue
        moment = datetime(*(int(part) for part in match.groups()))
        windows.setdefault(moment.strftime(PARTITION_KEY_FORMAT), []).append(path)
    return {key: sorted(paths) for key, paths in sorted(windows.items())}


def _state_sequence(fs, folder: str) -> int | None:
    try:
        with fs.open(f"{folder}/_state.json", "rb") as handle:
            return int(json.loads(handle.read()).get("last_sequence") or 0)
    except FileNotFoundError:
        return None


def _once_per_sequence(table: pa.Table) -> tuple[pa.Table, int]:
    sequences = table["_sequence"].to_numpy(zero_copy_only=False)
    _, first = np.unique(sequences, return_index=True)
    if len(first) == table.num_rows:
        return table, 0
    return table.take(np.sort(first)), table.num_rows - len(first)


def _quarantine(lake, fs, key: str, quarantined) -> None:
    folder = f"{lake.path(QUARANTINE_FOLDER)}/{window_folder(key)}"
    write_text_atomically(fs, f"{folder}/migrate-lake.ndjson", quarantine_lines(quarantined))


def migrate_lake(
    lake, remove_old: bool = False, progress: Callable[[str], None] | None = None
) -> MigrationReport:
    """Convert every old window of ``lake`` (a ``LakeResource``); see the module docstring."""
    fs = lake.filesystem()
    table = lake.table(DICOM_FOLDER)
    existing = table.open_if_exists()
    report = MigrationReport()
    windows = old_windows(fs, lake.dicom_root())
    for key, paths in windows.items():
        app_id = sync_app_id(APP, key)
        if existing is not None and existing.transaction_version(app_id) is not None:
            report.skipped += 1
            continue
        parts = [pq.read_table(path, filesystem=fs) for path in paths]
        old, dropped = _once_per_sequence(pa.concat_tables(parts, promote_options="permissive"))
        # Re-converted from each row's own _metadata: exactly the row today's sync would write.
        converted = retype(old)
        rows = converted.table
        folder = paths[0].rpartition("/")[0]
        if converted.quarantined:
            _quarantine(lake, fs, key, converted.quarantined)
            report.quarantined += len(converted.quarantined)
        state = _state_sequence(fs, folder)
        feed = [value for value in rows["_sequence"].to_pylist() if value and value > 0]
        synced = state if state is not None else max(feed, default=0)
        write_window(
            table,
            key,
            rows,
            "append",
            app_id=app_id,
            version=synced,
            metadata={"dicom.operation": "migrate-lake", "dicom.synced_through": str(synced)},
        )
        existing = existing or table.open_if_exists()
        report.windows += 1
        report.rows += rows.num_rows
        report.duplicates_dropped += dropped
        report.migrated.append(key)
        if progress:
            progress(f"{key}: {rows.num_rows} rows, synced through {synced}")
    if remove_old:
        for paths in windows.values():
            folder = paths[0].rpartition("/")[0]
            for path in [*paths, f"{folder}/_state.json"]:
                if fs.exists(path):
                    fs.rm(path)
                    report.files_removed += 1
    return report
