"""A window's converted rows, held until its one Delta commit with memory bounded.

A run commits all its rows in one transaction, so nothing can be committed before the last
batch is converted; and the batches' column sets differ (an attribute first seen late adds a
column), so the commit's schema is known only at the end. Rows are therefore staged: up to
``IN_MEMORY_ROWS`` in memory (a sensor run's few changes never touch the disk), beyond that as
uncompressed Arrow IPC files in a temporary folder, read back memory-mapped one group at a
time while delta-rs writes them. Memory holds one group, whatever the window's size.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import pyarrow as pa

from dicom_assets.schema.layout import column_order

# Rows per staged group (and per Parquet row group written by the sync).
GROUP_ROWS = 10_000
IN_MEMORY_ROWS = GROUP_ROWS


class StagedRows:
    """Tables added one by one; :meth:`reader` streams them back under one unified schema."""

    def __init__(self, in_memory_rows: int = IN_MEMORY_ROWS) -> None:
        self.in_memory_rows = in_memory_rows
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._held: list[pa.Table | Path] = []
        self._schemas: list[pa.Schema] = []
        self._folder: Path | None = None

    def add(self, table: pa.Table | pa.RecordBatch) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if not table.num_rows:
            self._schemas.append(table.schema)
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        if self._pending_rows >= GROUP_ROWS:
            self._close_group()

    def _close_group(self) -> None:
        if not self._pending:
            return
        group = _concat(self._pending)
        self._pending, self._pending_rows = [], 0
        self._schemas.append(group.schema)
        if self.rows <= self.in_memory_rows:
            self._held.append(group)
            return
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="dicom-lake-stage-"))
        path = self._folder / f"{len(self._held):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, group.schema) as writer:
            writer.write_table(group)
        self._held.append(path)

    def schema(self, fallback: pa.Schema | None = None) -> pa.Schema | None:
        """The unified schema of everything added (``fallback`` when nothing was), in types
        Delta takes (:func:`delta_type`)."""
        self._close_group()
        if not self._schemas:
            return fallback
        unified = _concat([schema.empty_table() for schema in self._schemas]).schema
        fields = sorted(unified, key=lambda field: column_order(field.name))
        return pa.schema([field.with_type(delta_type(field.type)) for field in fields])

    def groups(self, schema: pa.Schema) -> Iterator[pa.Table]:
        """Each staged group, conformed to ``schema`` (missing columns and fields null)."""
        self._close_group()
        for held in self._held:
            table = held if isinstance(held, pa.Table) else _read(held)
            yield conform(table, schema)

    def close(self) -> None:
        self._held, self._pending = [], []
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _concat(tables: list[pa.Table]) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _read(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def delta_type(data_type: pa.DataType) -> pa.DataType:
    """``data_type`` in a type every reader of a reader-version-1 Delta table takes: a
    time-of-day as ``HH:MM:SS.ffffff`` text (Delta has no time type and refuses the write), a
    timestamp without zone as UTC. The converter writes both that way already; this guards
    tables handed to ``write_window`` by other code, e.g. a previous version's files."""
    if pa.types.is_time(data_type):
        return pa.string()
    if pa.types.is_timestamp(data_type) and data_type.tz is None:
        # timestamp_ntz would raise the table protocol to reader 3 (Synapse reads only 1).
        return pa.timestamp(data_type.unit, tz="UTC")
    if pa.types.is_struct(data_type):
        return pa.struct([f.with_type(delta_type(f.type)) for f in data_type])
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return pa.list_(data_type.value_field.with_type(delta_type(data_type.value_type)))
    return data_type


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns and types (what it lacks is null)."""
    if table.schema.equals(schema):
        return table
    own = pa.schema([field.with_type(delta_type(field.type)) for field in table.schema])
    if not own.equals(table.schema):
        table = table.cast(own)
    widened = pa.concat_tables([schema.empty_table(), table], promote_options="permissive")
    return widened.select(schema.names).cast(schema)
