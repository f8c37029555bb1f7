"""DICOM JSON change-feed entries -> one typed Arrow table (the lake's row format)."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
from pydicom.datadict import tag_for_keyword

from dicom_assets.schema.columns import build_column
from dicom_assets.schema.elements import ElementReader
from dicom_assets.schema.entries import RowHead, Unreadable, payload_text, read_head
from dicom_assets.schema.finish import Finisher
from dicom_assets.schema.layout import HEAD_FIELDS, TAIL_FIELDS
from dicom_assets.schema.metadata_column import metadata_column
from dicom_assets.schema.model import ConversionOptions, ConvertedBatch, QuarantinedInstance
from dicom_assets.schema.private import (
    assemble_private,
    creator_column,
    creator_key,
    guess_carrier,
    is_creator_element,
    private_tag_columns,
    raw_private_type,
)
from dicom_assets.schema.raw import (
    NeedsReference,
    RawShape,
    collect_shape,
    raw_type,
    shape_is_simple,
    types_sequence,
)
from dicom_assets.schema.survey import Survey
from dicom_assets.schema.vr import IDENTITY_KEYS, TagSpec, spec_for_key

# Columns converted by Arrow per call: one failing value only sends its chunk column by column.
CHUNK_COLUMNS = 32
_CONVERT_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError, NeedsReference)
_EMPTY: dict = {}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Conversion allocates millions of short-lived objects and frees them all at the end;
    generational GC passes over them would cost more than the conversion itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _quarantine(entry: Any, reason: str) -> QuarantinedInstance:
    return QuarantinedInstance(
        entry=entry, reason=reason, raw_payload=payload_text(getattr(entry, "metadata", entry))
    )


@lru_cache(maxsize=16384)
def _path_order(path: str) -> tuple:
    """Sort key of an ``_invalid`` path: by tag at each level, unknown names last."""
    return tuple((tag_for_keyword(part) or 2**33, part) for part in path.split("."))


class _Batch:
    """The state of converting one batch; see :func:`convert_entries`."""

    def __init__(self, heads: list[RowHead], survey: Survey, options: ConversionOptions
                 ) -> None:
        self.heads = heads
        self.survey = survey
        self.options = options
        self.n = len(heads)
        self.metas = [h.metadata if h.metadata is not None else _EMPTY for h in heads]
        self.has_metadata = np.fromiter((h.metadata is not None for h in heads), bool, self.n)
        self.invalid: list[list[str]] = [[] for _ in range(self.n)]
        self.columns: list[tuple[int, str, pa.Array]] = []
        self.reader = ElementReader(options)
        self.finisher = Finisher(options)

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

    def keys_by_spec(self) -> list[tuple[TagSpec, list[Any]]]:
        keys = self.survey.keys
        self.odd_keys = self.survey.odd_keys(self.metas)
        groups: dict[str, tuple[TagSpec, list[Any]]] = {}
        for key in keys:
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

    def _raw(self, columns: list[tuple[TagSpec, list[Any], RawShape | None]]) -> pa.StructArray:
        struct_type = pa.struct(
            [pa.field(keys[0], raw_type(spec, shape)) for spec, keys, shape in columns])
        return pa.array(self.metas, struct_type)

    def add_vectorised(self, planned: list[tuple[TagSpec, list[Any], RawShape | None]]) -> None:
        """Convert columns with Arrow, chunk by chunk, falling back per column, then to the
        reference reader for a column Arrow cannot take."""
        # One pass over the batch for every column; only if a value fails, chunk by chunk.
        chunks = [planned]
        try:
            whole = self._raw(planned)
        except _CONVERT_ERRORS:
            whole = None
            chunks = [planned[i:i + CHUNK_COLUMNS] for i in range(0, len(planned), CHUNK_COLUMNS)]
        for chunk in chunks:
            try:
                raw = whole if whole is not None else self._raw(chunk)
            except _CONVERT_ERRORS:
                raw = None
            for index, (spec, keys, shape) in enumerate(chunk):
                try:
                    column = raw.field(index) if raw is not None else pa.array(
                        self.elements(keys), raw_type(spec, shape))
                    records: list[tuple[int, str]] = []
                    array = self.finisher.finish(
                        column, spec, spec.keyword, 1 if spec.kind == "seq" else 0, shape, records)
                except _CONVERT_ERRORS:
                    self.add_reference_column(spec, keys)
                    continue
                for row, path in records:
                    self.invalid[row].append(path)
                if array is not None:
                    self.columns.append((spec.tag, spec.keyword, array))

    def add_attributes(self) -> list[tuple[TagSpec, list[Any]]]:
        """Typed columns; returns the private/unknown tags for ``_private``."""
        planned: list[tuple[TagSpec, list[Any], RawShape | None]] = []
        private: list[tuple[TagSpec, list[Any]]] = []
        for spec, keys in self.keys_by_spec():
            if spec.category == "typed" and spec.key not in IDENTITY_KEYS:
                if spec.kind == "seq" and not types_sequence(spec, 1, self.options):
                    continue
                simple = (self.options.vectorised and keys == [spec.key]
                          and spec.key not in self.odd_keys)
                shape = None
                if simple and spec.kind == "seq":
                    shape = RawShape()
                    collect_shape(self.elements(keys), spec, shape, 1, self.options)
                    simple = shape_is_simple(shape)
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

    def _raw_private(self, private: list[tuple[TagSpec, list[Any]]]) -> dict[str, pa.Array]:
        """One Arrow pass over the private tags whose carrier type can be guessed."""
        if not self.options.vectorised:
            return {}
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
        except _CONVERT_ERRORS:
            return {}
        return {field.name: raw.field(i) for i, field in enumerate(guessed)}

    def private_column(self, private: list[tuple[TagSpec, list[Any]]]) -> pa.Array:
        creators: dict[str | None, pa.Array] = {}
        columns = []
        raw = self._raw_private(private)
        for spec, keys in private:
            block = creator_key(spec)
            if block not in creators:
                creators[block] = creator_column(
                    None if block is None else self.elements([block]), self.n)
            present, creator, vr, value = private_tag_columns(
                lambda keys=keys: self.elements(keys), creators[block], self.options.max_private_value_chars,
                self.options.vectorised and not self.odd_keys.intersection(keys),
                raw.get(keys[0]) if len(keys) == 1 else None)
            columns.append((spec.key, present, creator, vr, value))
        return assemble_private(columns, self.has_metadata)

    def invalid_column(self) -> pa.Array:
        lists = [
            sorted(set(paths), key=_path_order) if paths else paths
            for paths in self.invalid
        ]
        self.invalid = lists
        return pa.array([lst if ok else None for lst, ok in zip(lists, self.has_metadata)],
                        pa.list_(pa.string()))

    def table(self) -> pa.Table:
        private = self.private_column(self.add_attributes())
        heads = self.heads
        head_arrays = [
            pa.array([h.sequence for h in heads], pa.int64()),
            pa.array([(h.timestamp - _EPOCH) // _MICROSECOND for h in heads], pa.int64()).cast(
                pa.timestamp("us", tz="UTC")),
            pa.array([h.action for h in heads], pa.string()),
            *(pa.array([h.uids[f.name] for h in heads], pa.string()) for f in HEAD_FIELDS[3:]),
        ]
        metadata = metadata_column([h.metadata_json for h in heads])
        tail_arrays = [private, self.invalid_column(), metadata]
        self.columns.sort(key=lambda c: c[0])
        fields = [pa.field(keyword, array.type) for _, keyword, array in self.columns]
        schema = pa.schema(HEAD_FIELDS + fields + TAIL_FIELDS)
        arrays = head_arrays + [array for _, _, array in self.columns] + tail_arrays
        return pa.Table.from_arrays(arrays, schema=schema)


def convert_entries(
    entries: Sequence[Any], options: ConversionOptions | None = None
) -> ConvertedBatch:
    """Convert change-feed entries to a table with one row per readable entry, in input order.

    Never raises: values that do not read as their VR are nulled and listed in ``_invalid``;
    entries that cannot be understood at all are returned in ``quarantined`` instead of a row.
    Larger batches convert faster per instance (Arrow's per-column costs are shared).
    """
    options = options or ConversionOptions()
    with _gc_paused():
        heads: list[RowHead] = []
        quarantined: list[QuarantinedInstance] = []
        survey = Survey()
        for entry in entries:
            try:
                head = read_head(entry)
                if head.metadata is not None:
                    survey.add(head.metadata)
                heads.append(head)
            except Unreadable as exc:
                quarantined.append(_quarantine(entry, str(exc)))
            except Exception as exc:  # noqa: BLE001 - an odd entry must not fail the batch
                quarantined.append(_quarantine(entry, f"unreadable entry: {exc!r:.200}"))
        batch = _Batch(heads, survey, options)
        table = batch.table()
        invalid_values = sum(len(paths) for paths in batch.invalid)
    return ConvertedBatch(table=table, quarantined=quarantined, invalid_values=invalid_values)
