"""A template applied to change-log rows: the custom table's rows, batch by batch.

Output columns: the change log's head (``_sequence``, ``_timestamp``, ``_action`` and the three
UIDs), then the template's columns in the template's order. A column's description travels in
its Arrow field metadata under ``comment``, the key Delta Lake, Spark and Synapse read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa

from dicom_assets.custom.evaluate import evaluate_path
from dicom_assets.custom.template import Template
from dicom_assets.custom.where import keep_rows
from dicom_assets.schema.layout import HEAD_FIELDS

HEAD_DESCRIPTIONS = {
    "_sequence": "Change-feed sequence number of the change.",
    "_timestamp": "When the change happened on the DICOM server (UTC).",
    "_action": "create, update or delete.",
    "StudyInstanceUID": "Study Instance UID (0020,000D).",
    "SeriesInstanceUID": "Series Instance UID (0020,000E).",
    "SOPInstanceUID": "SOP Instance UID (0008,0018).",
}


def _described(field: pa.Field, description: str) -> pa.Field:
    return field.with_metadata({"comment": description}) if description else field


def output_schema(template: Template) -> pa.Schema:
    """The custom table's schema, descriptions included (the same for every window)."""
    fields = [_described(f, HEAD_DESCRIPTIONS[f.name]) for f in HEAD_FIELDS]
    fields += [
        _described(pa.field(c.name, c.path.value_type), c.description) for c in template.columns
    ]
    return pa.schema(
        fields, metadata={"comment": template.description} if template.description else None
    )


def derive_batch(batch: pa.RecordBatch, template: Template, schema: pa.Schema) -> pa.RecordBatch:
    """The template's rows of one batch of change-log rows."""
    mask = keep_rows(batch, list(template.conditions))
    if mask is not None:
        batch = batch.filter(mask)
    head = [
        batch.column(f.name).cast(f.type)
        if f.name in batch.schema.names
        else pa.nulls(batch.num_rows, f.type)
        for f in HEAD_FIELDS
    ]
    derived = [evaluate_path(batch, column.path) for column in template.columns]
    return pa.RecordBatch.from_arrays(head + derived, schema=schema)


def derive_batches(
    batches: Iterable[pa.RecordBatch], template: Template
) -> Iterator[pa.RecordBatch]:
    schema = output_schema(template)
    for batch in batches:
        yield derive_batch(batch, template, schema)


def derive_table(rows: pa.Table, template: Template) -> pa.Table:
    """The custom table of a table of change-log rows."""
    schema = output_schema(template)
    return pa.Table.from_batches(list(derive_batches(rows.to_batches(), template)), schema=schema)
