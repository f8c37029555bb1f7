"""Writing Parquet part files and small text files so that a reader never sees half a file.

Local disk: the file is written under a hidden temporary name (``.<name>.tmp-<random>``, which
readers skip) and renamed, atomic on POSIX.

Blob storage / ADLS Gen2 (adlfs): the final name is written directly. adlfs uploads the file as
*uncommitted blocks* while it is written (one block per ``blocksize`` bytes, so row groups reach
the storage as they are produced and memory holds at most one block), and the blob appears,
complete, only when the block list is committed on close. If writing fails, the file is
*abandoned*, never closed: closing an fsspec file commits what was buffered, which would publish
a truncated (or, after ParquetWriter wrote its footer, a valid but short) Parquet file.
Uncommitted blocks are invisible to every reader and the service drops them after 7 days.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from dicom_assets.lake.parquet_options import parquet_write_options

# A part file holds up to this many rows, as one row group: larger row groups compress
# `_metadata` better and share each column's fixed costs (docs/performance.md, "Parquet size").
ROW_GROUP_ROWS = 10_000


def write_parquet_atomically(fs: fsspec.AbstractFileSystem, path: str, table: pa.Table) -> int:
    """Write ``table`` to ``path``; the file appears complete or not at all. Returns its bytes."""
    return stream_parquet_atomically(fs, path, table.schema, [table])


def stream_parquet_atomically(
    fs: fsspec.AbstractFileSystem,
    path: str,
    schema: pa.Schema,
    tables: Iterable[pa.Table | pa.RecordBatch],
) -> int:
    """Write each table of ``tables`` as it comes (row groups of ``ROW_GROUP_ROWS``) into one
    Parquet file at ``path``, which appears complete or not at all. Returns its bytes."""
    target = _write_target(fs, path)
    handle = fs.open(target, "wb")
    writer = None
    try:
        writer = pq.ParquetWriter(handle, schema, **parquet_write_options(schema))
        for table in tables:
            if isinstance(table, pa.RecordBatch):
                table = pa.Table.from_batches([table])
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        writer.close()
        size = handle.tell()  # bytes written: saves asking the storage afterwards
    except BaseException:
        _abandon(fs, handle, target, writer)
        raise
    handle.close()  # commits the block list (Blob) / completes the temporary file (local)
    _publish(fs, target, path)
    return int(size)


def write_text_atomically(fs: fsspec.AbstractFileSystem, path: str, text: str) -> None:
    """Write a small text file (state, quarantine records); it appears complete or not at all."""
    folder = path.rpartition("/")[0]
    if _is_local(fs):
        fs.makedirs(folder, exist_ok=True)
    target = _write_target(fs, path)
    handle = fs.open(target, "wb")
    try:
        handle.write(text.encode("utf-8"))
    except BaseException:
        _abandon(fs, handle, target, None)
        raise
    handle.close()
    _publish(fs, target, path)


def read_json(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any] | None:
    try:
        with fs.open(path, "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        return None


def is_temporary(name: str) -> bool:
    """A local temporary file of this writer (left behind only if the process was killed)."""
    return name.startswith(".") and ".tmp-" in name


def _write_target(fs: fsspec.AbstractFileSystem, path: str) -> str:
    if not _is_local(fs):
        return path
    folder, _, name = path.rpartition("/")
    return f"{folder}/.{name}.tmp-{uuid.uuid4().hex[:8]}"


def _publish(fs: fsspec.AbstractFileSystem, target: str, path: str) -> None:
    if target != path:
        fs.mv(target, path)


def _abandon(fs: fsspec.AbstractFileSystem, handle: Any, target: str, writer: Any) -> None:
    """Drop a failed write without publishing anything."""
    if _is_local(fs):
        if writer is not None:
            _quietly(writer.close)
        _quietly(handle.close)
        _quietly(lambda: fs.rm(target))
        return
    # Detach the writer first (its close would write the footer into the handle), then mark the
    # buffered file closed without flushing: nothing is committed, nothing becomes visible.
    if writer is not None:
        _quietly(writer.close)
    handle.buffer = None
    handle.closed = True


def _quietly(action) -> None:
    # Cleanup after a failure that is being raised already: that failure is the one to report.
    with contextlib.suppress(Exception):
        action()


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return isinstance(fs, LocalFileSystem)
