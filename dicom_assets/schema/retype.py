"""Rows of a lake table written by an earlier version, typed as today.

Each row is converted again from its own ``_metadata`` (the instance's DICOM JSON as received)
and head columns, so a migrated row is exactly the row today's sync would write, whatever the
types were then (Parquet TIME for TM, zone-less DT, dates Spark 3 cannot read) and without
asking the DICOM server. Deletes (no ``_metadata``) keep their head and nulls.
"""

from __future__ import annotations

import pyarrow as pa

from dicom_assets.feed_entry import ChangeFeedEntry
from dicom_assets.schema.convert import convert_entries
from dicom_assets.schema.model import ConversionOptions, ConvertedBatch

HEAD = (
    "_sequence",
    "_timestamp",
    "_action",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "_metadata",
)


def retype(table: pa.Table, options: ConversionOptions | None = None) -> ConvertedBatch:
    """``table`` (any earlier lake schema with the row head and ``_metadata``) as today's rows,
    in the same order; rows whose metadata no longer reads are in ``quarantined``."""
    missing = [name for name in HEAD if name not in table.column_names]
    if missing:
        raise ValueError(f"not a lake table: no {', '.join(missing)} column")
    columns = [table.column(name).to_pylist() for name in HEAD]
    entries = [
        ChangeFeedEntry(
            sequence=sequence,
            timestamp=timestamp,
            action=action,
            study_instance_uid=study,
            series_instance_uid=series,
            sop_instance_uid=sop,
            metadata=None if metadata is None else metadata.encode("utf-8", "surrogatepass"),
        )
        for sequence, timestamp, action, study, series, sop, metadata in zip(*columns)
    ]
    return convert_entries(entries, options)
