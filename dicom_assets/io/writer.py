"""Writing Parquet part files and quarantine records so that a reader never sees half a file."""

from __future__ import annotations

import json
import uuid
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

ROW_GROUP_ROWS = 1_000


def write_parquet_atomically(fs: fsspec.AbstractFileSystem, path: str, table: pa.Table) -> int:
    """Write ``table`` to ``path``; the file appears complete or not at all. Returns its bytes.

    On a local disk the file is written under a hidden temporary name and renamed (atomic on
    POSIX). On Blob/ADLS storage a block blob becomes visible only when its block list is
    committed, on close, so the final name is written directly.
    """
    folder, _, name = path.rpartition("/")
    target = f"{folder}/.{name}.tmp-{uuid.uuid4().hex[:8]}" if _is_local(fs) else path
    with fs.open(target, "wb") as handle:
        with pq.ParquetWriter(handle, table.schema, compression="zstd") as writer:
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    if target != path:
        fs.mv(target, path)
    return int(fs.size(path))


def write_text_atomically(fs: fsspec.AbstractFileSystem, path: str, text: str) -> None:
    folder, _, name = path.rpartition("/")
    target = f"{folder}/.{name}.tmp-{uuid.uuid4().hex[:8]}" if _is_local(fs) else path
    fs.makedirs(folder, exist_ok=True)
    with fs.open(target, "wb") as handle:
        handle.write(text.encode("utf-8"))
    if target != path:
        fs.mv(target, path)


def read_json(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any] | None:
    try:
        with fs.open(path, "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        return None


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return isinstance(fs, LocalFileSystem)
