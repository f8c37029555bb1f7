"""A batch's elements as parsed Python dicts: the reference input of the converter.

One of the two :class:`~dicom_assets.schema.element_source.ElementSource` implementations; the
other, :class:`~dicom_assets.schema.shredded.Shredded`, reads JSON bytes natively.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from dicom_assets.schema.element_source import Planned
from dicom_assets.schema.metadata_column import metadata_column
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.private import creator_column, guess_carrier, raw_private_type
from dicom_assets.schema.raw import collect_shape, raw_type
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.survey import Survey
from dicom_assets.schema.vr import TagSpec

_EMPTY: dict = {}
CONVERT_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)


class PythonElements:
    """The top-level elements of a batch's metadata dicts (``None`` = no metadata)."""

    def __init__(
        self,
        metadatas: list[dict | None],
        texts: list[bytes | None],
        survey: Survey,
        options: ConversionOptions,
    ) -> None:
        self.metas = [m if m is not None else _EMPTY for m in metadatas]
        self.texts = texts  # each dict serialised (see row_head.metadata_json), for _metadata
        self.n = len(self.metas)
        self.options = options
        self.keys = survey.keys
        self.odd_keys = survey.odd_keys(self.metas)

    def elements(self, keys: list[Any]) -> list[Any]:
        """Each row's element under any of ``keys`` (keys differing only in case merge)."""
        if len(keys) == 1:
            key = keys[0]
            return [m.get(key) for m in self.metas]
        merged: list[Any] = [None] * self.n
        for key in keys:
            for row, m in enumerate(self.metas):
                if merged[row] is None:
                    merged[row] = m.get(key)
        return merged

    def shape(self, spec: TagSpec, keys: list[Any]) -> SequenceShape | None:
        """The typed item fields a top-level sequence carries in the batch."""
        shape = SequenceShape()
        collect_shape(self.elements(keys), spec, shape, 1, self.options)
        return shape

    def raw_struct(self, planned: Planned) -> pa.StructArray:
        """One raw column per planned tag, converted by Arrow in one pass over the dicts."""
        struct_type = pa.struct(
            [pa.field(keys[0], raw_type(spec, shape)) for spec, keys, shape in planned]
        )
        return pa.array(self.metas, struct_type)

    def metadata_column(self) -> pa.Array | pa.ChunkedArray:
        """``_metadata``: each dict's compact JSON, null where there is no metadata."""
        return metadata_column(self.texts)

    def creators(self, key: str) -> pa.Array:
        """Each row's private creator under ``key`` (:func:`private.creator_of`)."""
        return creator_column(self.elements([key]), self.n)

    def private_raw(self, private: list[tuple[TagSpec, list[Any]]]) -> dict[str, pa.Array]:
        """One Arrow pass over the private tags whose carrier type can be guessed."""
        guessed = []
        for spec, keys in private:
            if len(keys) != 1 or keys[0] in self.odd_keys or not isinstance(keys[0], str):
                continue
            key = keys[0]
            carrier = guess_carrier(next(m[key] for m in self.metas if key in m))
            if carrier is not None:
                guessed.append(pa.field(key, raw_private_type(carrier)))
        try:
            raw = pa.array(self.metas, pa.struct(guessed))
        except CONVERT_ERRORS:
            return {}
        return {field.name: raw.field(i) for i, field in enumerate(guessed)}
