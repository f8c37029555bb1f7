"""Where a custom table reads its rows and writes its Delta table, in the lake.

Rows come from the change log through the lake's read API (one window's rows, only the columns
the template needs); the table is ``<lake>/result/Dicom_Customized/<name>/``, reached with the
lake's own storage options (local folder, ADLS or Azurite alike).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from dicom_assets.custom.delta_output import WriteSummary, write_windows
from dicom_assets.custom.derive import derive_batch, output_schema
from dicom_assets.custom.template import Template
from dicom_assets.lake.change_log import read_window
from dicom_assets.lake.layout import CUSTOMIZED_FOLDER
from dicom_assets.lake.resource import LakeResource
from dicom_assets.lake.staging import StagedRows
from dicom_assets.lake.writer import DeltaLocation

BATCH_ROWS = 65_536


def window_batches(
    lake: LakeResource, partition_key: str, columns: list[str]
) -> Iterator[pa.RecordBatch]:
    """The window's change-log rows with those of ``columns`` the table has, batch by batch."""
    with lake.storage_errors():
        rows = read_window(lake, partition_key, columns)
    yield from rows.to_batches(max_chunksize=BATCH_ROWS)


def custom_table(lake: LakeResource, name: str) -> DeltaLocation:
    """The Delta table of template ``name`` (its storage options hold secrets: never log)."""
    return lake.table(f"{CUSTOMIZED_FOLDER}/{name}")


@dataclass
class WindowsWritten:
    """What a materialization of windows did (``table``: the address to show, no secret), and
    where the time went."""

    table: str
    changes_read: int
    summary: WriteSummary
    seconds: dict[str, float] = field(default_factory=dict)


# Derived rows held in memory before they spill to disk: a template's columns take ~100-300
# bytes a row, so this bounds the memory to some tens of MB while a busy hour stays in memory.
IN_MEMORY_ROWS = 262_144


def rebuild_windows(
    lake: LakeResource,
    template: Template,
    partition_keys: list[str],
    start: dt.datetime,
    end: dt.datetime,
) -> WindowsWritten:
    """Derive the template's rows of ``partition_keys`` (the windows covering ``[start, end)``)
    from the change log and replace that range of its table in one commit.

    The derived rows are staged first (memory-bounded: spilled to disk beyond IN_MEMORY_ROWS),
    because delta-rs cannot read the change log while it streams a write.
    """
    schema = output_schema(template)
    needed = template.source_columns()
    read = 0
    seconds = {"read": 0.0, "derive": 0.0, "write": 0.0}
    shown = lake.url_of(lake.path(CUSTOMIZED_FOLDER, template.name))
    with StagedRows(in_memory_rows=IN_MEMORY_ROWS) as staged:
        for key in partition_keys:
            started = time.perf_counter()
            with lake.storage_errors():
                changes = read_window(lake, key, needed)
            derived = time.perf_counter()
            seconds["read"] += derived - started
            read += changes.num_rows
            for batch in changes.to_batches(max_chunksize=BATCH_ROWS):
                staged.add(derive_batch(batch, template, schema))
            del changes
            seconds["derive"] += time.perf_counter() - derived
        started = time.perf_counter()
        rows = (batch for group in staged.groups(schema) for batch in group.to_batches())
        with lake.storage_errors():
            summary = write_windows(
                custom_table(lake, template.name),
                schema,
                rows,
                start,
                end,
                shown,
                template.description,
            )
        seconds["write"] = time.perf_counter() - started
    return WindowsWritten(shown, read, summary, seconds)
