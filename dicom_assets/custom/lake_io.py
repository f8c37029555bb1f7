"""Where a custom table reads its rows and writes its Delta table, in the lake.

Rows come from the change log (the range's rows, only the columns the template needs, streamed:
``change_reader.py``); the table is ``<lake>/result/Dicom_Customized/<name>/``, reached with the
lake's own storage options (local folder, ADLS or Azurite alike).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from dicom_assets.custom.change_reader import change_batches
from dicom_assets.custom.delta_output import WriteSummary, write_windows
from dicom_assets.custom.derive import derive_batch, output_schema
from dicom_assets.custom.template import Template
from dicom_assets.lake.layout import CUSTOMIZED_FOLDER
from dicom_assets.lake.resource import LakeResource
from dicom_assets.lake.staging import StagedRows
from dicom_assets.lake.writer import DeltaLocation


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
    start: dt.datetime,
    end: dt.datetime,
) -> WindowsWritten:
    """Derive the template's rows of ``[start, end)`` (one window, or a backfill's range of
    windows) from the change log and replace that range of its table in one commit.

    The change log is read once for the whole range, batch by batch (never a window's whole
    table in memory). The derived rows are staged (memory-bounded: spilled to disk beyond
    IN_MEMORY_ROWS), because delta-rs cannot read the change log while it streams a write.
    """
    schema = output_schema(template)
    read = 0
    seconds = {"read": 0.0, "derive": 0.0, "write": 0.0}
    shown = lake.url_of(lake.path(CUSTOMIZED_FOLDER, template.name))
    with StagedRows(in_memory_rows=IN_MEMORY_ROWS) as staged:
        with lake.storage_errors():
            changes = change_batches(lake, template.source_columns(), start, end)
            while True:
                started = time.perf_counter()
                batch = next(changes, None)
                derived = time.perf_counter()
                seconds["read"] += derived - started
                if batch is None:
                    break
                read += batch.num_rows
                staged.add(derive_batch(batch, template, schema))
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
