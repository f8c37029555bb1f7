"""A batch read by two readers: the native shredder and, for what it sets aside, the Python path.

The shredder reads each payload it can take exactly and sets the others aside with a reason (a
duplicate key, a lone surrogate, a numeric text such as "NaN"...). Those instances alone are
parsed and converted by the Python path, so one odd value no longer sends a whole batch (2,000
Orthanc rows, an Azure page) down the slower path. The parts' tables are then merged back into
input order with the column set, column order and item-field order a single Python-path
conversion would give.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from pydicom.datadict import tag_for_keyword

from dicom_assets import native
from dicom_assets.schema.layout import one_table
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.row_head import RowHead
from dicom_assets.schema.shredded import Shredded
from dicom_assets.schema.vr import spec_for_key


def read_natively(
    pairs: Sequence[tuple[Any, RowHead]], options: ConversionOptions
) -> tuple[list[tuple[list[int], Shredded]], list[int], list[str]]:
    """Shredded parts (indices into ``pairs``, source), the indices left to the Python path
    (ascending) and the shredder's reasons for them.

    Metadata given as dicts goes to the Python path; payload bytes are shredded in parts under
    the shredder's 2 GiB bound (its offsets are int32)."""
    python_rows: list[int] = []
    if not any(head.payload is not None for _, head in pairs):
        return [], list(range(len(pairs))), []
    chunks: list[list[int]] = [[]]
    size = 0
    for index, (_, head) in enumerate(pairs):
        if head.metadata is not None:
            python_rows.append(index)
            continue
        length = len(head.payload) if head.payload is not None else 0
        if chunks[-1] and size + length > native.SHRED_BATCH_BYTES:
            chunks.append([])
            size = 0
        if length > native.SHRED_BATCH_BYTES:
            python_rows.append(index)  # one payload over 2 GiB: beyond the shredder's offsets
            continue
        chunks[-1].append(index)
        size += length
    parts: list[tuple[list[int], Shredded]] = []
    reasons: list[str] = []
    for rows in chunks:
        if not rows:
            continue
        source = Shredded([pairs[i][1].payload for i in rows], options)
        python_rows.extend(rows[position] for position, _ in source.set_aside)
        reasons.extend(reason for _, reason in source.set_aside)
        if source.kept:
            parts.append(([rows[position] for position in source.kept], source))
    return parts, sorted(python_rows), reasons


class NotMergeable(Exception):
    """The parts' tables, merged, would not be the table of one conversion of the batch."""


Path = tuple[str, ...]  # tag keys: the sequences down to an attribute, then the attribute


def native_holds(source: Shredded) -> Callable[[Path], bool]:
    """Whether any instance of a shredded part holds an attribute at a path."""

    def holds(path: Path) -> bool:
        parents = {-1}
        for key in path:
            parents = {
                i
                for i, column in enumerate(source.columns)
                if column["key"] == key and column["parent"] in parents
            }
            if not parents:
                return False
        return True

    return holds


def python_holds(metadatas: list[Any]) -> Callable[[Path], bool]:
    """Whether any instance of a parsed part holds an attribute at a path."""

    def holds(path: Path) -> bool:
        level = [m for m in metadatas if type(m) is dict]
        for depth, key in enumerate(path):
            found = [e for item in level for k, e in item.items() if spec_for_key(k).key == key]
            if depth == len(path) - 1:
                return bool(found)
            level = [
                item
                for e in found
                if type(e) is dict and type(e.get("Value")) is list
                for item in e["Value"]
                if type(item) is dict
            ]
        return False

    return holds


def merged(parts: list[tuple[list[int], pa.Table, Callable[[Path], bool]]]) -> pa.Table:
    """The parts' tables as one, rows in the order of their indices (they partition a batch);
    each part comes with a test of whether its instances hold an attribute (``*_holds``).

    A part converted alone leaves out a column or an item field that has nothing to type in it
    (a sequence whose items carry no typed attribute there), where one conversion of the batch
    would give its rows a value (``[]`` for a sequence without items): then
    :class:`NotMergeable`."""
    if len(parts) == 1:
        return parts[0][1]
    # Rows back in input order as runs of consecutive rows of one part: zero-copy slices,
    # concatenated once (a take over every row costs several times more).
    rows = np.concatenate([np.asarray(r, dtype=np.int64) for r, _, _ in parts])
    owner = np.concatenate(
        [np.full(len(r), p, dtype=np.int64) for p, (r, _, _) in enumerate(parts)]
    )
    position = np.concatenate([np.arange(len(r), dtype=np.int64) for r, _, _ in parts])
    order = np.argsort(rows, kind="stable")
    owner, position = owner[order], position[order]
    starts = np.flatnonzero(
        np.concatenate([[True], (owner[1:] != owner[:-1]) | (position[1:] != position[:-1] + 1)])
    )
    ends = np.append(starts[1:], len(order))
    pieces = [parts[owner[a]][1].slice(position[a], b - a) for a, b in zip(starts, ends)]
    table = one_table(pieces or [part for _, part, _ in parts]).combine_chunks()
    for _, part, holds in parts:
        for path in _left_out(table.schema, part.schema):
            if holds(path):
                raise NotMergeable("an attribute left out of a part that holds it")
    schema = pa.schema([field.with_type(_items_in_tag_order(field.type)) for field in table.schema])
    return table if schema == table.schema else table.cast(schema)


def _left_out(
    whole: pa.Schema | pa.StructType, part: pa.Schema | pa.StructType | None, path: Path = ()
) -> list[Path]:
    """The attributes (as paths) of ``whole``'s columns or item fields that ``part`` lacks."""
    out: list[Path] = []
    names = set(part.names) if part is not None else set()
    for field in whole:
        tag = tag_for_keyword(field.name)
        if tag is None:
            continue  # _private, PN groups...: not attributes
        here = (*path, f"{tag:08X}")
        if field.name not in names:
            out.append(here)
            continue
        inner, other = field.type, part.field(field.name).type
        while pa.types.is_list(inner) and pa.types.is_list(other):
            inner, other = inner.value_type, other.value_type
        if pa.types.is_struct(inner) and pa.types.is_struct(other):
            out.extend(_left_out(inner, other, here))
    return out


def _items_in_tag_order(kind: pa.DataType) -> pa.DataType:
    """``kind`` with the fields of sequence items in tag order, as one conversion orders them
    (merging appends the fields only one part has)."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        item = _items_in_tag_order(kind.value_type)
        return kind if item == kind.value_type else pa.list_(kind.value_field.with_type(item))
    if not pa.types.is_struct(kind):
        return kind
    fields = [field.with_type(_items_in_tag_order(field.type)) for field in kind]
    tags = [tag_for_keyword(field.name) for field in fields]
    if fields and all(tag is not None for tag in tags):  # an item: every field an attribute
        fields = [field for _, field in sorted(zip(tags, fields), key=lambda pair: pair[0])]
    return pa.struct(fields)
