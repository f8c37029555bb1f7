"""Building one top-level attribute column from the elements the batch holds for its tag."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from dicom_assets.schema.elements import ElementReader
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.vr import TagSpec


def _to_array(
    values: list[Any], arrow_type: pa.DataType, spec: TagSpec, invalid: list[list[str]]
) -> pa.Array:
    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        # Should not happen after parsing; if it does, the offending rows are nulled, not lost.
        kept = []
        for row, value in enumerate(values):
            try:
                pa.array([value], type=arrow_type)
                kept.append(value)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                kept.append(None)
                invalid[row].append(spec.keyword)
        return pa.array(kept, type=arrow_type)


def build_column(
    spec: TagSpec, elements: list[Any], reader: ElementReader, invalid: list[list[str]]
) -> pa.Array | None:
    """The column of ``spec`` from one element (or None) per row; None when it gets no column.

    ``invalid[row]`` receives the keyword (or dotted path inside sequences) of each value nulled.
    """
    read = reader.read
    keyword = spec.keyword
    if spec.kind == "seq":
        if not reader.types_sequence(spec, 1):
            return None
        shape = SequenceShape()
        values = [
            None if elem is None else read(elem, spec, keyword, 1, shape, invalid[row])
            for row, elem in enumerate(elements)
        ]
        arrow_type = shape.arrow_type()
        if arrow_type is None:
            return None
        return _to_array(values, arrow_type, spec, invalid)
    values = [
        None if elem is None else read(elem, spec, keyword, 0, None, invalid[row])
        for row, elem in enumerate(elements)
    ]
    return _to_array(values, spec.value_type(), spec, invalid)
