"""Merging a window's many small delta files into few large ones.

Each sensor run adds a delta file holding the few changes of the last seconds. A Parquet file
carries ~40 kB of footer and per-column costs whatever its rows, so a window fed in near real
time would hold hundreds of files of ~6 kB per instance and read slowly. Once a window has
``COMPACT_AFTER_DELTAS`` delta files, the next incremental run first merges them, in order,
into files of about ``ROW_GROUP_ROWS`` rows.

Only committed deltas are merged (those starting before the run's own start: their changes are
in ``_state.json``), so a failed run and its re-run never touch a merged file. A merged file
replaces the first file of its group under the same name, then the rest of the group is
deleted: a reader in between sees some rows twice (``current_instances`` still picks one row per
sequence), and a crash in between leaves duplicates that the next merge drops, since merging
keeps one row per ``_sequence``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dicom_assets.io.writer import ROW_GROUP_ROWS, write_parquet_atomically
from dicom_assets.schema.layout import one_table

COMPACT_AFTER_DELTAS = 16


def committed_deltas(parts: dict[str, tuple[str, int, int]], start: int) -> list[str]:
    """Names of the delta files holding changes before ``start``, in sequence order."""
    deltas = [(first, index, name) for name, (kind, first, index) in parts.items()
              if kind == "delta" and first < start]
    return [name for _, _, name in sorted(deltas)]


def _groups(fs: Any, folder: str, names: list[str]) -> Iterator[tuple[list[str], pa.Table]]:
    """Consecutive files read until their rows reach ``ROW_GROUP_ROWS``."""
    group: list[str] = []
    tables: list[pa.Table] = []
    rows = 0
    for name in names:
        table = pq.read_table(f"{folder}/{name}", filesystem=fs)
        group.append(name)
        tables.append(table)
        rows += table.num_rows
        if rows >= ROW_GROUP_ROWS:
            yield group, one_table(tables)
            group, tables, rows = [], [], 0
    if len(group) > 1:
        yield group, one_table(tables)


def _one_row_per_sequence(table: pa.Table) -> pa.Table:
    sequences = table.column("_sequence")
    if pc.count_distinct(sequences).as_py() == table.num_rows:
        return table
    first_rows = (pa.table({"_sequence": sequences, "row": pa.array(range(table.num_rows))})
                  .group_by("_sequence", use_threads=False).aggregate([("row", "min")]))
    return table.take(np.sort(first_rows.column("row_min").to_numpy()))


def compact_deltas(fs: Any, folder: str, parts: dict[str, tuple[str, int, int]],
                   start: int) -> list[str]:
    """Merge the window's committed deltas when there are enough of them; returns the names
    of the files merged away (empty if nothing was merged)."""
    names = committed_deltas(parts, start)
    if len(names) < COMPACT_AFTER_DELTAS:
        return []
    removed: list[str] = []
    for group, table in _groups(fs, folder, names):
        if len(group) < 2:
            continue
        write_parquet_atomically(fs, f"{folder}/{group[0]}", _one_row_per_sequence(table))
        for name in group[1:]:
            fs.rm(f"{folder}/{name}")
            removed.append(name)
    return removed
