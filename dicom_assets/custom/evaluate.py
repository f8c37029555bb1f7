"""Evaluating a resolved path over a batch of change-log rows, column at a time (pyarrow.compute).

The work per batch is a few kernels per path step, never a Python loop per row: a list step
keeps a *parent* index (which row each value belongs to) so that ``[*]`` at any depth ends in one
list per row. A path that reaches nothing in a row gives null (also an empty ``[*]``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.custom.numpy_arrow import from_numpy
from dicom_assets.custom.resolve import (
    Column,
    Element,
    Explode,
    Field,
    ParseAs,
    PrivateValue,
    ResolvedPath,
    SplitValues,
)
from dicom_assets.schema.kinds import KIND_TYPES, PARSERS
from dicom_assets.schema.values import INVALID


class _Absent(Exception):
    """The batch holds no column or struct field on the path: every row is null."""


def element_at(values: pa.Array, n: int) -> pa.Array:
    """``values[i][n]``, null where the list is null or too short (list_element would raise).

    Taken straight from the list's child by offset, so a list of structs is not copied first.
    """
    offsets = values.offsets.to_numpy()
    lengths = np.diff(offsets)
    present = lengths > n
    if values.null_count:
        present &= values.is_valid().to_numpy(zero_copy_only=False)
    positions = np.where(present, offsets[:-1] + n, 0)
    return values.values.take(from_numpy(positions, valid=present))


def _explode(values: pa.Array, parents: np.ndarray | None) -> tuple[pa.Array, np.ndarray]:
    owners = pc.list_parent_indices(values).to_numpy()
    flat = pc.list_flatten(values)
    return flat, (owners if parents is None else parents[owners])


def _private_values(private: pa.Array, op: PrivateValue) -> pa.Array:
    """The value text of the first ``_private`` entry of each row that matches ``op``.

    Cheapest test first: the creator (or the whole tag) by equality, then the group and element
    offset only on those candidates. Creator elements themselves are not ``_private`` entries,
    so an entry with the creator's group and offset is in a reserved block (xx10-xxFF).
    """
    rows = len(private)
    entries = pc.list_flatten(private)
    owners = pc.list_parent_indices(private)
    if op.tag is not None:
        candidates = pc.fill_null(pc.equal(entries.field("tag"), op.tag), False)
    else:
        candidates = pc.fill_null(pc.equal(entries.field("creator"), op.creator), False)
    at = pc.indices_nonzero(candidates)
    if op.tag is None and len(at):
        tags = entries.field("tag").take(at)
        block = pc.and_(
            pc.starts_with(tags, f"{op.group:04X}"), pc.ends_with(tags, f"{op.offset:02X}")
        )
        at = at.filter(pc.fill_null(block, False))
    hit_rows = owners.take(at).to_numpy()
    hit_values = entries.field("value").take(at)
    # The first matching entry of each row (one creator per block; a duplicate block is odd data).
    first_rows, first_at = np.unique(hit_rows, return_index=True)
    index = np.zeros(rows, dtype=np.int64)
    index[first_rows] = first_at
    found = np.zeros(rows, dtype=bool)
    found[first_rows] = True
    return hit_values.take(from_numpy(index, valid=found))


def _parse_as(values: pa.Array, kind: str) -> pa.Array:
    """Text values typed by the lake's own parser of ``kind``, once per distinct text."""
    distinct = pc.unique(values).drop_null()
    parsed = []
    for text in distinct.to_pylist():
        value = PARSERS[kind](text)
        parsed.append(None if value is INVALID else value)
    typed = pa.array(parsed, KIND_TYPES[kind])
    return typed.take(pc.index_in(values, value_set=distinct))


def evaluate_path(batch: pa.RecordBatch, path: ResolvedPath) -> pa.Array:
    """The column ``path`` gives over ``batch`` (typed ``path.value_type``)."""
    rows = batch.num_rows
    try:
        values, parents = _apply(batch, path)
    except _Absent:
        return pa.nulls(rows, path.value_type)
    if parents is None:
        return values.cast(path.value_type)
    counts = np.bincount(parents, minlength=rows)
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    items = values.cast(path.value_type.value_type)
    return pa.ListArray.from_arrays(from_numpy(offsets), items, mask=from_numpy(counts == 0))


def _column(batch: pa.RecordBatch, _values: pa.Array | None, op: Column) -> pa.Array:
    if op.name not in batch.schema.names:
        raise _Absent
    return batch.column(op.name)


def _private(batch: pa.RecordBatch, _values: pa.Array | None, op: PrivateValue) -> pa.Array:
    if "_private" not in batch.schema.names:
        raise _Absent
    return _private_values(batch.column("_private"), op)


def _field(_batch: pa.RecordBatch, values: pa.Array, op: Field) -> pa.Array:
    if not pa.types.is_struct(values.type) or values.type.get_field_index(op.name) < 0:
        raise _Absent
    return pc.struct_field(values, op.name)


# One step of a path: (batch, the values so far, the operation) -> the values after it.
_STEPS = {
    Column: _column,
    PrivateValue: _private,
    Element: lambda _batch, values, op: element_at(values, op.n),
    Field: _field,
    SplitValues: lambda _batch, values, _op: pc.split_pattern(values, "\\"),
    ParseAs: lambda _batch, values, op: _parse_as(values, op.kind),
}


def _apply(batch: pa.RecordBatch, path: ResolvedPath) -> tuple[pa.Array, np.ndarray | None]:
    values: pa.Array | None = None
    parents: np.ndarray | None = None
    for op in path.operations:
        if isinstance(op, Explode):
            values, parents = _explode(values, parents)
        else:
            values = _STEPS[type(op)](batch, values, op)
    assert values is not None
    return values, parents
