"""The current instances, kept as an index beside the change log: a pass reads only new files.

A reconciliation pass (every ``DICOM_RECONCILE_INTERVAL_SECONDS``) needs the lake's current
instances (``lake/current_instances.py``). Read from every file of the change log, that costs
more the longer the lake's history grows. The index keeps the result instead:
``<lake>/result/_dicom_index/current_instances.parquet`` (``layout.CURRENT_INSTANCES_INDEX``,
outside the table's folder, so no Delta or Parquet reader of the table sees it) holds the
latest row per SOP Instance UID (delete rows included, patient ids resolved:
``current_instances.LATEST_SCHEMA``), and, in its footer, the table's id and the paths of the
data files those rows were read from.

A pass lists the table's data files from the Delta log (no data file is read), reads only the
files the index does not cover (the same projected columns as a full read), merges their
latest rows with the index's by the same rule (``lake_order_key``: the latest row of a SOP
over all rows is the latest of the latest rows of any split of the files), and writes the new
index (a crash leaves the old one, complete: ``atomic_files``). A second pass with no new
commit reads no data file.

Data files are immutable, so a covered file still in the table still holds the rows the index
took from it. A covered file *removed* from the table (a window's overwrite by a full re-sync,
compaction, a table rewritten) may have taken rows away, so then, and whenever the index is
missing, unreadable or another table's (its id differs), the pass reads every file, exactly
as ``current_instances`` does, and rebuilds the index. Compaction runs hourly at most
(``lake/maintenance.py``): one full read per compaction, incremental passes in between.

The index is derived data: deleting it costs one full read, never a wrong result. Two passes at
once (a run launched by hand beside the sensor's) each write an index consistent in itself (the
rows of exactly the files it names): the later write wins, and any such index merges correctly.
It holds the identifiers the table holds (pseudonyms when the lake is de-identified), no more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from dicom_assets.lake.atomic_files import write_parquet_atomically
from dicom_assets.lake.change_log import ChangeLogFiles, change_log_files
from dicom_assets.lake.current_instances import (
    LATEST_SCHEMA,
    NONE,
    CurrentInstances,
    instances_of,
    latest_identities,
    merge_latest,
)
from dicom_assets.lake.layout import CURRENT_INSTANCES_INDEX

FOOTER_KEY = b"dicom.current_instances_index"
FORMAT = 1  # the footer's and the rows' form; another form is read as no index


@dataclass(frozen=True)
class IndexLocation:
    """Where the index is: a path on the lake's fsspec filesystem (local folder or Azure)."""

    fs: fsspec.AbstractFileSystem
    path: str

    @classmethod
    def of(cls, lake) -> IndexLocation:
        """The index of a ``LakeResource``'s change log."""
        return cls(lake.filesystem(), lake.path(CURRENT_INSTANCES_INDEX))


@dataclass(frozen=True)
class IndexSnapshot:
    """The latest rows of the change log's files ``files`` (paths relative to the table)."""

    table_id: str
    version: int  # the table version whose files were read last (for the record)
    files: frozenset[str]
    latest: pa.Table  # LATEST_SCHEMA


@dataclass(frozen=True)
class IndexedRead:
    """A pass's current instances and what reading them cost."""

    current: CurrentInstances
    incremental: bool  # False: every data file was read (``full_read_reason`` says why)
    files_read: int
    files_total: int  # the table's data files at the version read
    full_read_reason: str = ""
    index_written: bool = False


class _Unusable(Exception):
    """Why the index cannot be merged with (its message is recorded as the full read's reason)."""


def read_index(index: IndexLocation) -> IndexSnapshot:
    """The stored index; :class:`_Unusable` when it is missing or not readable as one."""
    try:
        with index.fs.open(index.path, "rb") as handle:
            stored = pq.read_table(handle)
        footer = json.loads((stored.schema.metadata or {})[FOOTER_KEY])
        latest = stored.replace_schema_metadata(None)
        if footer["format"] != FORMAT or not latest.schema.equals(LATEST_SCHEMA):
            raise _Unusable("index of another form")
        return IndexSnapshot(
            str(footer["table_id"]), int(footer["version"]), frozenset(footer["files"]), latest
        )
    except FileNotFoundError:
        raise _Unusable("no index") from None
    except (OSError, ValueError, KeyError, TypeError) as error:  # ArrowInvalid is a ValueError
        raise _Unusable(f"index unreadable ({type(error).__name__})") from None


def write_index(index: IndexLocation, snapshot: IndexSnapshot) -> None:
    """Store ``snapshot``; the file is replaced whole or not at all."""
    footer = {
        "format": FORMAT,
        "table_id": snapshot.table_id,
        "version": snapshot.version,
        "files": sorted(snapshot.files),
    }
    table = snapshot.latest.replace_schema_metadata({FOOTER_KEY: json.dumps(footer)})
    if isinstance(index.fs, LocalFileSystem):
        index.fs.makedirs(index.path.rpartition("/")[0], exist_ok=True)
    write_parquet_atomically(index.fs, index.path, table)


def _usable_index(index: IndexLocation, files: ChangeLogFiles, paths: set[str]) -> IndexSnapshot:
    """The stored index if merging the new files into it equals a full read, else _Unusable."""
    snapshot = read_index(index)
    if snapshot.table_id != files.table_id:
        raise _Unusable("index of another table")
    if not snapshot.files <= paths:
        raise _Unusable("files removed since the index (compaction, overwrite)")
    return snapshot


def indexed_current_instances(table, index: IndexLocation) -> IndexedRead:
    """``current_instances(table)``, reading only the change log's files the index does not
    cover (every file when it cannot be used, see the module docstring), and the index brought
    up to the table version read. ``table``: as ``current_instances`` takes it."""
    files = change_log_files(table)
    if files is None:
        return IndexedRead(NONE, incremental=False, files_read=0, files_total=0)
    paths = set(files.paths)
    try:
        snapshot = _usable_index(index, files, paths)
    except _Unusable as reason:
        latest = latest_identities(files.dataset)
        _store(index, files, paths, latest)
        return IndexedRead(
            instances_of(latest), False, len(paths), len(paths), str(reason), index_written=True
        )
    new = paths - snapshot.files
    latest = snapshot.latest
    if new:
        latest = merge_latest(latest, latest_identities(files.only(new)))
        _store(index, files, paths, latest)
    return IndexedRead(instances_of(latest), True, len(new), len(paths), index_written=bool(new))


def _store(index: IndexLocation, files: ChangeLogFiles, paths: set[str], latest) -> None:
    write_index(index, IndexSnapshot(files.table_id, files.version, frozenset(paths), latest))
