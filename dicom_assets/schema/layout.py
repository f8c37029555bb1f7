"""The order of a lake table's columns: row head, attributes by tag, then the lossless tail."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from pydicom.datadict import tag_for_keyword

from dicom_assets.schema.private import PRIVATE_TYPE

HEAD_FIELDS = [
    pa.field("_sequence", pa.int64()),
    pa.field("_timestamp", pa.timestamp("us", tz="UTC")),
    pa.field("_action", pa.string()),
    pa.field("StudyInstanceUID", pa.string()),
    pa.field("SeriesInstanceUID", pa.string()),
    pa.field("SOPInstanceUID", pa.string()),
]
TAIL_FIELDS = [
    pa.field("_private", PRIVATE_TYPE),
    pa.field("_invalid", pa.list_(pa.string())),
    pa.field("_metadata", pa.string()),
]
HEAD_COLUMNS = tuple(f.name for f in HEAD_FIELDS)
TAIL_COLUMNS = tuple(f.name for f in TAIL_FIELDS)


def column_order(name: str) -> tuple[int, int, str]:
    """Sort key of a column: head fields, attributes by tag, tail fields."""
    if name in HEAD_COLUMNS:
        return (0, HEAD_COLUMNS.index(name), name)
    if name in TAIL_COLUMNS:
        return (2, TAIL_COLUMNS.index(name), name)
    return (1, tag_for_keyword(name) or 2**33, name)


def one_table(tables: Sequence[pa.Table]) -> pa.Table:
    """Tables of converted batches as one: columns and sequence item fields missing from some
    batches are null there (a column's type never differs between batches)."""
    if len(tables) == 1:
        return tables[0]
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.select(sorted(table.column_names, key=column_order))
