"""The typed fields the items of one sequence carry in a batch, as every reader sees them."""

from __future__ import annotations

import pyarrow as pa

from dicom_assets.schema.vr import TagSpec


class SequenceShape:
    """The typed fields seen in the items of one sequence (at one nesting path) in a batch.

    A sequence's struct is the union of the attributes its items carry in the batch, each typed
    by the dictionary: a field has the same type in every file, only the set of fields varies,
    and readers merge structs by field name (see docs/schema.md). The reference reader
    (:mod:`elements`) widens it item by item; the vectorised sources (:mod:`raw`,
    :mod:`shredded`) gather it before conversion and set ``odd_keys`` when the reference reader
    must read the column instead (a key not in canonical form, a non-object item...).
    """

    def __init__(self) -> None:
        self.fields: dict[str, TagSpec] = {}
        self.children: dict[str, SequenceShape] = {}
        self.odd_keys = False

    def is_simple(self) -> bool:
        """A shape the vectorised path handles: canonical keys and no field-less sequence."""
        if self.odd_keys or not self.fields:
            return False
        return all(child.is_simple() for child in self.children.values())

    def arrow_type(self) -> pa.DataType | None:
        """``list<struct<...>>`` with fields ordered by tag; None when no item has a typed field
        (Parquet cannot store an empty struct)."""
        fields = []
        for key in sorted(self.fields):
            spec = self.fields[key]
            if spec.kind == "seq":
                field_type = self.children[key].arrow_type()
                if field_type is None:
                    continue
            else:
                field_type = spec.value_type()
            fields.append(pa.field(spec.keyword, field_type))
        return pa.list_(pa.struct(fields)) if fields else None
