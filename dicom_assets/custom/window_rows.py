"""Where a custom table reads its rows and writes its Delta table, in the lake.

Rows: the change log of one window, only the columns a template needs (a column the window does
not have is simply absent; the derivation gives null for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dicom_assets.io.lake_io_manager import _part_files
from dicom_assets.partitions import window_folder
from dicom_assets.resources import LakeResource

CUSTOM_FOLDER = "result/Dicom_Customized"
BATCH_ROWS = 16_384


def window_batches(
    lake: LakeResource, partition_key: str, columns: list[str]
) -> Iterator[pa.RecordBatch]:
    """The window's change-log rows, batch by batch, with those of ``columns`` it has."""
    fs = lake.filesystem()
    folder = f"{lake.dicom_root()}/{window_folder(partition_key)}"
    with lake.storage_errors():
        for name in sorted(_part_files(fs, folder)):
            parquet = pq.ParquetFile(f"{folder}/{name}", filesystem=fs)
            present = [c for c in columns if c in parquet.schema_arrow.names]
            yield from parquet.iter_batches(batch_size=BATCH_ROWS, columns=present)


def custom_table_location(lake: LakeResource, name: str) -> tuple[str, dict[str, Any], str]:
    """(Delta table URI, delta-rs storage options, the URI to show: no secret) of a template."""
    path = lake.path(CUSTOM_FOLDER, name)
    if lake.is_local():
        return path, {}, path
    raise NotImplementedError("custom tables on Azure need the lake's delta-rs storage options")
