"""A batch's elements read from JSON bytes by the native shredder (``native/_shredder.c``).

The shredder writes each attribute's raw columns (rows, written VR, list offsets, values by
carrier) into flat buffers; this module wraps them as the *raw* Arrow arrays of :mod:`raw`
without copying values, so :mod:`finish` types them exactly as it types arrays Arrow built from
Python dicts. Where the reference reader would treat a column differently (a refused VR or an
item cap on a sequence, a sequence without typed fields), the column is read from its elements
instead, each parsed from its byte span in the payload. A payload the shredder cannot take
exactly is set aside (:attr:`Shredded.set_aside`, with the reason) and converted by the Python
path alone; the rest of the batch stays native (see :mod:`mixed`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from dicom_assets import native
from dicom_assets.schema.element_source import Planned
from dicom_assets.schema.kinds import KINDS, SHREDDER_CODES
from dicom_assets.schema.metadata_column import CHUNK_BYTES, metadata_column
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.native_buffers import CARRIERS, numbers, per_element, texts
from dicom_assets.schema.private import creator_column
from dicom_assets.schema.raw import types_sequence
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.vr import IDENTITY_KEYS, TagSpec, spec_for_key

_RAW_NAMES = ["vr", "Value", "InlineBinary"]
# The shredder's codes (None when it is not built), from the names the kinds give them.
SKIP, SEQUENCE, SPAN = (
    SHREDDER_CODES.get(name) for name in (native.SKIP, native.SEQUENCE, native.SPAN)
)
# The wrapper of the values of a column the shredder carried as a kind's native carrier.
_WRAP_BY_CODE = {SHREDDER_CODES[name]: wrap for name, wrap in CARRIERS.items() if SHREDDER_CODES}


class NotShreddable(Exception):
    """The native shredder is not built: the batch needs the Python path."""


@lru_cache(maxsize=8)
def _kind_of(options: ConversionOptions):
    @lru_cache(maxsize=65536)
    def kind_of(key: str, depth: int) -> int:
        spec = spec_for_key(key)
        if depth == 1 and (key in IDENTITY_KEYS or spec.category in ("private", "unknown")):
            return SPAN  # read from the element itself (identity, _private)
        if spec.category != "typed":
            return SKIP  # binary at any depth; private and unknown inside items (_metadata only)
        if spec.kind == "seq":
            return SEQUENCE if types_sequence(spec, depth, options) else SKIP
        return KINDS[spec.kind].native_code

    return kind_of


class Shredded:
    """The elements of a batch of payloads (``None`` = no metadata) that the shredder read.

    ``set_aside`` lists ``(index, reason)`` of the payloads it left to the Python path; rows
    here are the other payloads, in order (``kept`` holds their indices in ``payloads``).
    """

    def __init__(self, payloads: list[bytes | None], options: ConversionOptions) -> None:
        if not native.available():
            raise NotShreddable("the native shredder is not built")
        self.columns, self._metadata, self._metadata_offsets, self.set_aside = native.shred(
            payloads, _kind_of(options)
        )
        aside = {index for index, _ in self.set_aside}
        self.kept = [i for i in range(len(payloads)) if i not in aside]
        self.payloads = [payloads[i] for i in self.kept] if aside else payloads
        self.options = options
        self.n = len(self.payloads)
        self._raws: dict[str, pa.StructArray] = {}
        self.children: dict[int, list[int]] = {}
        self.top: dict[str, int] = {}
        for index, column in enumerate(self.columns):
            if column["parent"] < 0:
                self.top[column["key"]] = index
            else:
                self.children.setdefault(column["parent"], []).append(index)
        # Keys are canonical once decoded; odd: a "Value" that is not an array (private tags;
        # typed ones are set aside), which the reference rendering reads as the Python path.
        self.odd_keys: set[Any] = {
            column["key"] for column in self.columns if column["parent"] < 0 and column["odd"]
        }

    @property
    def keys(self) -> list[str]:
        return list(self.top)

    def elements(self, keys: list[Any]) -> list[Any]:
        """Each row's element under ``keys`` (one canonical key here), parsed from its span."""
        out: list[Any] = [None] * self.n
        index = self.top.get(keys[0])
        if index is None:
            return out
        column = self.columns[index]
        rows = np.frombuffer(column["rows"], np.int32).tolist()
        starts = np.frombuffer(column["span_start"], np.int32).tolist()
        ends = np.frombuffer(column["span_end"], np.int32).tolist()
        payloads, loads = self.payloads, orjson.loads
        for row, start, end in zip(rows, starts, ends):
            out[row] = loads(payloads[row][start:end])
        return out

    def shape(self, spec: TagSpec, keys: list[Any]) -> SequenceShape | None:
        """The typed item fields of a top-level sequence; None when the reference reader must
        read it (see the module docstring)."""
        shape = SequenceShape()
        array = self._raw(self.top[spec.key], spec, self.n, shape)
        if array is None:
            return None
        self._raws[spec.key] = array
        return shape

    def raw_struct(self, planned: Planned) -> pa.StructArray:
        """One raw column per planned tag (sequences were built by :meth:`shape`)."""
        arrays = []
        for spec, _, _ in planned:
            array = self._raws.pop(spec.key, None)
            arrays.append(
                array if array is not None else self._raw(self.top[spec.key], spec, self.n, None)
            )
        return pa.StructArray.from_arrays(arrays, names=[keys[0] for _, keys, _ in planned])

    def _raw(
        self, index: int, spec: TagSpec, size: int, shape: SequenceShape | None
    ) -> pa.StructArray | None:
        column = self.columns[index]
        rows = np.frombuffer(column["rows"], np.int32)
        values_count = column["n_values"]
        value_offsets = np.frombuffer(column["val_off"], np.int32)
        vr = per_element(column, "vr")
        wrap = _WRAP_BY_CODE.get(column["kind"])
        if wrap is not None:
            values = wrap(column, values_count)
        else:
            values = self._items(index, spec, values_count, vr, value_offsets, shape)
            if values is None:
                return None
        return self._dense(
            rows, size, vr, np.frombuffer(column["has_value"], bool), value_offsets, values
        )

    def _items(
        self,
        index: int,
        spec: TagSpec,
        items: int,
        vr: pa.Array,
        value_offsets: np.ndarray,
        shape: SequenceShape | None,
    ) -> pa.StructArray | None:
        """The raw struct of a sequence's items; None where the reference reader would leave
        fields out (a refused VR, more items than the cap) or there are no typed fields."""
        assert shape is not None
        cap = self.options.max_sequence_items
        if cap is not None and items and np.diff(value_offsets).max() > cap:
            return None
        written = {v for v in vr.unique().to_pylist() if v is not None}
        if not written <= spec.accepted_vrs:
            return None
        fields, arrays = [], []
        children = sorted(
            (self.columns[i]["key"], i)
            for i in self.children.get(index, ())
            if self.columns[i]["kind"] != SKIP
        )
        for key, child_index in children:
            child_spec = spec_for_key(key)
            child_shape = SequenceShape() if child_spec.kind == "seq" else None
            array = self._raw(child_index, child_spec, items, child_shape)
            if array is None:
                return None
            shape.fields[key] = child_spec
            if child_shape is not None:
                shape.children[key] = child_shape
            fields.append(pa.field(key, array.type))
            arrays.append(array)
        if not fields:
            return None
        return pa.StructArray.from_arrays(arrays, fields=fields)

    @staticmethod
    def _dense(
        rows: np.ndarray,
        size: int,
        vr: pa.Array,
        has_value: np.ndarray,
        value_offsets: np.ndarray,
        values: pa.Array,
        inline_binary: pa.Array | None = None,
    ) -> pa.StructArray:
        """``struct<vr, Value[, InlineBinary]>`` over every row of the level, null where the tag
        is absent."""
        count = len(rows)
        per_element = [vr] if inline_binary is None else [vr, inline_binary]
        if count == size:  # rows are ascending and unique: present everywhere
            present = np.ones(size, dtype=bool)
            offsets = value_offsets
            dense_has_value = has_value
        else:
            present = np.zeros(size, dtype=bool)
            present[rows] = True
            counts = np.zeros(size, dtype=np.int32)
            counts[rows] = np.diff(value_offsets)
            offsets = np.zeros(size + 1, dtype=np.int32)
            np.cumsum(counts, out=offsets[1:])
            take = np.full(size, -1, dtype=np.int32)
            take[rows] = np.arange(count, dtype=np.int32)
            indices = pa.array(take, mask=~present)
            per_element = [array.take(indices) for array in per_element]
            dense_has_value = np.zeros(size, dtype=bool)
            dense_has_value[rows] = has_value
        no_value = ~dense_has_value
        value = pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()),
            values,
            mask=pa.array(no_value) if no_value.any() else None,
        )
        absent = ~present
        arrays = [per_element[0], value, *per_element[1:]]
        return pa.StructArray.from_arrays(
            arrays, names=_RAW_NAMES[: len(arrays)], mask=pa.array(absent) if absent.any() else None
        )

    def private_raw(self, private: list[tuple[TagSpec, list[Any]]]) -> dict[str, pa.Array]:
        """Raw ``struct<vr, Value, InlineBinary>`` columns of the private tags whose values are
        all texts or all numbers (others are rendered from their parsed elements)."""
        out = {}
        for spec, keys in private:
            index = self.top.get(keys[0])
            if index is None:
                continue
            column = self.columns[index]
            if column["complex"] or (column["saw_text"] and column["saw_number"]):
                continue
            out[keys[0]] = self._dense(
                np.frombuffer(column["rows"], np.int32),
                self.n,
                per_element(column, "vr"),
                np.frombuffer(column["has_value"], bool),
                np.frombuffer(column["val_off"], np.int32),
                numbers(column) if column["saw_number"] else texts(column),
                per_element(column, "ib"),
            )
        return out

    def creators(self, key: str) -> pa.Array:
        """Each row's private creator under ``key``: the first value of its element when that is
        a string (:func:`private.creator_of`), taken from the raw column; read from the elements
        when the element's values are not all texts."""
        index = self.top.get(key)
        if index is None:
            return creator_column(None, self.n)
        column = self.columns[index]
        if column["complex"] or column["saw_number"]:
            return creator_column(self.elements([key]), self.n)
        rows = np.frombuffer(column["rows"], np.int32)
        values = texts(column)
        value_offsets = np.frombuffer(column["val_off"], np.int32)
        has_value = np.frombuffer(column["has_value"], bool)
        first = np.full(self.n, -1, dtype=np.int64)
        nonempty = has_value & (np.diff(value_offsets) > 0)
        first[rows[nonempty]] = value_offsets[:-1][nonempty]
        return values.take(pa.array(first, mask=first < 0))

    def metadata_column(self) -> pa.Array | pa.ChunkedArray:
        """``_metadata``: each payload without insignificant whitespace, null where none."""
        offsets = np.frombuffer(self._metadata_offsets, np.int64)
        valid = np.fromiter((p is not None for p in self.payloads), bool, self.n)
        if offsets[-1] >= CHUNK_BYTES:
            data, bounds = self._metadata, offsets.tolist()
            return metadata_column(
                [data[bounds[i] : bounds[i + 1]] if ok else None for i, ok in enumerate(valid)]
            )
        return pa.Array.from_buffers(
            pa.string(),
            self.n,
            [
                None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little")),
                pa.py_buffer(offsets.astype(np.int32)),
                pa.py_buffer(self._metadata),
            ],
        )
