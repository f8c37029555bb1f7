"""One batch of readable rows -> its Arrow table, read through one element source (the parsed
dicts or the native shredder's buffers): the typed columns, ``_private`` and ``_invalid``.

``convert.py`` decides which rows go through which source, and merges the parts."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
from pydicom.datadict import tag_for_keyword

from dicom_assets.schema.columns import build_column
from dicom_assets.schema.element_source import ElementSource, Planned
from dicom_assets.schema.elements import ElementReader
from dicom_assets.schema.finish import Finisher
from dicom_assets.schema.finish_values import NeedsReference
from dicom_assets.schema.layout import HEAD_FIELDS, TAIL_FIELDS
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.private import (
    assemble_private,
    creator_column,
    creator_key,
    is_creator_element,
    private_tag_columns,
)
from dicom_assets.schema.raw import raw_type, types_sequence
from dicom_assets.schema.row_head import RowHead
from dicom_assets.schema.vr import IDENTITY_KEYS, TagSpec, spec_for_key

# Columns converted by Arrow per call: one failing value only sends its chunk column by column.
CHUNK_COLUMNS = 32
_CONVERT_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError, NeedsReference)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@lru_cache(maxsize=16384)
def _path_order(path: str) -> tuple:
    """Sort key of an ``_invalid`` path: by tag at each level, unknown names last."""
    return tuple((tag_for_keyword(part) or 2**33, part) for part in path.split("."))


class _Batch:
    """The state of converting one batch; see :func:`batch_table`."""

    def __init__(
        self, heads: list[RowHead], source: ElementSource, options: ConversionOptions
    ) -> None:
        self.heads = heads
        self.source = source
        self.options = options
        self.n = len(heads)
        self.has_metadata = np.fromiter(
            (h.metadata is not None or h.payload is not None for h in heads), bool, self.n
        )
        self.invalid: list[list[str]] = [[] for _ in range(self.n)]
        self.columns: list[tuple[int, str, pa.Array]] = []
        self.reader = ElementReader(options)
        self.finisher = Finisher(options)

    def elements(self, keys: list[Any]) -> list[Any]:
        return self.source.elements(keys)

    def keys_by_spec(self) -> list[tuple[TagSpec, list[Any]]]:
        self.odd_keys = self.source.odd_keys
        groups: dict[str, tuple[TagSpec, list[Any]]] = {}
        for key in self.source.keys:
            spec = spec_for_key(key)
            name = spec.key if spec.category != "invalid" else f"invalid:{key!r}"
            groups.setdefault(name, (spec, []))[1].append(key)
        # Invalid keys (tag -1) sort last; raw keys sorted by text so merging is deterministic.
        ordered = sorted(groups.values(), key=lambda g: (g[0].tag % 2**33, g[0].key))
        return [(spec, sorted(raw, key=repr)) for spec, raw in ordered]

    def add_reference_column(self, spec: TagSpec, keys: list[Any]) -> None:
        array = build_column(spec, self.elements(keys), self.reader, self.invalid)
        if array is not None:
            self.columns.append((spec.tag, spec.keyword, array))

    def add_vectorised(self, planned: Planned) -> None:
        """Convert columns with Arrow, chunk by chunk, falling back per column, then to the
        reference reader for a column Arrow cannot take."""
        # One pass over the batch for every column; only if a value fails, chunk by chunk.
        chunks = [planned]
        try:
            whole = self.source.raw_struct(planned)
        except _CONVERT_ERRORS:
            whole = None
            chunks = [planned[i : i + CHUNK_COLUMNS] for i in range(0, len(planned), CHUNK_COLUMNS)]
        for chunk in chunks:
            try:
                raw = whole if whole is not None else self.source.raw_struct(chunk)
            except _CONVERT_ERRORS:
                raw = None
            for index, (spec, keys, shape) in enumerate(chunk):
                try:
                    column = (
                        raw.field(index)
                        if raw is not None
                        else pa.array(self.elements(keys), raw_type(spec, shape))
                    )
                    records: list[tuple[int, str]] = []
                    array = self.finisher.finish(
                        column, spec, spec.keyword, 1 if spec.kind == "seq" else 0, shape, records
                    )
                except _CONVERT_ERRORS:
                    self.add_reference_column(spec, keys)
                    continue
                for row, path in records:
                    self.invalid[row].append(path)
                if array is not None:
                    self.columns.append((spec.tag, spec.keyword, array))

    def add_attributes(self) -> list[tuple[TagSpec, list[Any]]]:
        """Typed columns; returns the private/unknown tags for ``_private``."""
        planned: Planned = []
        private: list[tuple[TagSpec, list[Any]]] = []
        for spec, keys in self.keys_by_spec():
            if spec.category == "typed" and spec.key not in IDENTITY_KEYS:
                if spec.kind == "seq" and not types_sequence(spec, 1, self.options):
                    continue
                simple = (
                    self.options.vectorised and keys == [spec.key] and spec.key not in self.odd_keys
                )
                shape = None
                if simple and spec.kind == "seq":
                    shape = self.source.shape(spec, keys)
                    simple = shape is not None and shape.is_simple()
                if simple:
                    planned.append((spec, keys, shape))
                else:
                    self.add_reference_column(spec, keys)
            elif spec.category in ("private", "unknown") and not is_creator_element(spec):
                private.append((spec, keys))
            elif spec.category == "invalid":
                for row, elem in enumerate(self.elements(keys)):
                    if elem is not None:
                        self.invalid[row].append(spec.key)
        self.add_vectorised(planned)
        return private

    def private_column(self, private: list[tuple[TagSpec, list[Any]]]) -> pa.Array:
        creators: dict[str | None, pa.Array] = {}
        columns = []
        raw = self.source.private_raw(private) if self.options.vectorised else {}
        for spec, keys in private:
            block = creator_key(spec)
            if block not in creators:
                creators[block] = (
                    creator_column(None, self.n) if block is None else self.source.creators(block)
                )
            present, creator, vr, value = private_tag_columns(
                lambda keys=keys: self.elements(keys),
                creators[block],
                self.options.max_private_value_chars,
                self.options.vectorised and not self.odd_keys.intersection(keys),
                raw.get(keys[0]) if len(keys) == 1 else None,
            )
            columns.append((spec.key, present, creator, vr, value))
        return assemble_private(columns, self.has_metadata)

    def invalid_column(self) -> pa.Array:
        lists = [sorted(set(paths), key=_path_order) if paths else paths for paths in self.invalid]
        self.invalid = lists
        return pa.array(
            [lst if ok else None for lst, ok in zip(lists, self.has_metadata)],
            pa.list_(pa.string()),
        )

    def table(self) -> pa.Table:
        private = self.private_column(self.add_attributes())
        heads = self.heads
        head_arrays = [
            pa.array([h.sequence for h in heads], pa.int64()),
            pa.array([(h.timestamp - _EPOCH) // _MICROSECOND for h in heads], pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            pa.array([h.action for h in heads], pa.string()),
            *(pa.array([h.uids[f.name] for h in heads], pa.string()) for f in HEAD_FIELDS[3:]),
        ]
        tail_arrays = [private, self.invalid_column(), self.source.metadata_column()]
        self.columns.sort(key=lambda c: c[0])
        fields = [pa.field(keyword, array.type) for _, keyword, array in self.columns]
        schema = pa.schema(HEAD_FIELDS + fields + TAIL_FIELDS)
        arrays = head_arrays + [array for _, _, array in self.columns] + tail_arrays
        return pa.Table.from_arrays(arrays, schema=schema)


def batch_table(
    heads: list[RowHead], source: ElementSource, options: ConversionOptions
) -> tuple[pa.Table, int]:
    """The table of ``heads`` read through ``source``, and how many values it lists in
    ``_invalid``."""
    batch = _Batch(heads, source, options)
    table = batch.table()
    return table, sum(len(paths) for paths in batch.invalid)
