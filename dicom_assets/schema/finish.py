"""Typing raw element columns (see :mod:`raw`) with Arrow compute: the vectorised reader.

Gives exactly what the reference reader (:mod:`elements`) gives for the same elements (a
property test holds the two together); date and time texts are typed by :mod:`temporal`, which
defers every text that is not in a plain form to the reference parsers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.raw import NeedsReference, RawShape
from dicom_assets.schema.temporal import parse_temporal
from dicom_assets.schema.values import PADDING
from dicom_assets.schema.vr import KIND_TYPES, TagSpec

EXACT_FLOAT_INT = 2.0**53
Invalid = list[tuple[int, str]]  # (row, dotted path) of each nulled value


@lru_cache(maxsize=4096)
def _accepted(spec: TagSpec) -> tuple[frozenset[str], pa.Array]:
    accepted = spec.accepted_vrs
    return accepted, pa.array(sorted(accepted), pa.string())


def _vr_bad(vr: pa.Array, spec: TagSpec, present: np.ndarray) -> np.ndarray:
    """Rows whose written VR is not one the column accepts (a missing VR is accepted)."""
    accepted, accepted_array = _accepted(spec)
    if all(v is None or v in accepted for v in vr.unique().to_pylist()):
        return np.zeros(len(vr), dtype=bool)
    return (
        present
        & vr.is_valid().to_numpy(zero_copy_only=False)
        & ~_np_bool(pc.is_in(vr, value_set=accepted_array))
    )


def _np_bool(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _trimmed(strings: pa.Array) -> pa.Array:
    """Padding removed; an empty value becomes null (as :func:`values.parse_str`)."""
    trimmed = pc.utf8_rtrim(strings, characters=PADDING)
    return pc.if_else(pc.equal(trimmed, ""), None, trimmed)


def _parse_child(child: pa.Array, kind: str) -> tuple[pa.Array, np.ndarray]:
    """Typed values and a per-value invalid mask of a flat carrier array."""
    if kind == "str":
        return _trimmed(child), np.zeros(len(child), dtype=bool)
    if kind in ("date", "time", "datetime"):
        return parse_temporal(child, kind)
    if kind == "float":
        return child, np.zeros(len(child), dtype=bool)
    if kind == "int":
        null = child.is_null().to_numpy(zero_copy_only=False)
        numbers = pc.fill_null(child, 0.0).to_numpy(zero_copy_only=False)
        if np.any(np.abs(numbers[np.isfinite(numbers)]) >= EXACT_FLOAT_INT):
            raise NeedsReference("integers beyond float64's exact range")
        finite = np.isfinite(numbers)
        bad = ~null & (~finite | (numbers != np.floor(np.where(finite, numbers, 0.0))))
        ints = np.where(finite & ~bad, numbers, 0.0).astype(np.int64)
        return pa.array(ints, pa.int64(), mask=null | bad), bad
    if kind == "pn":
        groups, bad = [], np.zeros(len(child), dtype=bool)
        item_valid = child.is_valid()
        for name in ("Alphabetic", "Ideographic", "Phonetic"):
            group = child.field(name)
            # A group has at most five components (family^given^middle^prefix^suffix).
            bad |= _np_bool(pc.greater(pc.count_substring(group, "^"), 4)) & _np_bool(item_valid)
            groups.append(pc.if_else(item_valid, _trimmed(group), None))
        empty = np.logical_and.reduce([g.is_null().to_numpy(zero_copy_only=False) for g in groups])
        names = pa.StructArray.from_arrays(
            groups, fields=list(KIND_TYPES["pn"]), mask=pa.array(empty | bad)
        )
        return names, bad
    raise AssertionError(kind)


class Finisher:
    """Types raw columns of one batch; records nulled values in ``invalid``."""

    def __init__(self, options: ConversionOptions) -> None:
        self.options = options

    def finish(
        self,
        raw: pa.StructArray,
        spec: TagSpec,
        path: str,
        depth: int,
        shape: RawShape | None,
        invalid: Invalid,
    ) -> pa.Array | None:
        """The typed column of ``raw`` (None for a sequence without typed fields).

        Per-column costs matter as much as per-value ones (a batch has ~150 columns), so
        common cases take shortcuts: one distinct VR, every row with exactly one value.
        """
        n = len(raw)
        present = raw.is_valid().to_numpy(zero_copy_only=False)
        vr_bad = _vr_bad(raw.field("vr"), spec, present)
        values: pa.ListArray = raw.field("Value")
        has_value = present & values.is_valid().to_numpy(zero_copy_only=False)
        offsets = values.offsets.to_numpy(zero_copy_only=False)
        lengths = np.diff(offsets)  # a null list has no values
        if spec.kind == "seq":
            return self._finish_sequence(
                values,
                spec,
                path,
                depth,
                shape,
                invalid,
                present,
                vr_bad,
                has_value,
                lengths,
                offsets,
            )
        child, child_bad = _parse_child(values.values, spec.kind)
        bad = vr_bad | (has_value & (lengths == 0))
        if child_bad.any():
            counts = np.concatenate([[0], np.cumsum(child_bad)])
            bad |= (counts[offsets[1:]] - counts[offsets[:-1]]) > 0
        if not spec.multi:
            bad |= lengths > 1
        null = ~has_value | bad
        for row in np.flatnonzero(bad):
            invalid.append((int(row), path))
        if spec.multi:
            return pa.ListArray.from_arrays(values.offsets, child, mask=pa.array(null))
        if len(child) == n and not null.any() and offsets[0] == 0:
            return child  # every row has exactly one valid value: the child is the column
        take = pa.array(offsets[:-1], pa.int64(), mask=null | (lengths != 1))
        return child.take(take)

    def _finish_sequence(
        self,
        values,
        spec,
        path,
        depth,
        shape,
        invalid,
        present,
        vr_bad,
        has_value,
        lengths,
        offsets,
    ) -> pa.Array | None:
        assert shape is not None
        cap = self.options.max_sequence_items
        capped = has_value & (lengths > cap) if cap is not None else np.zeros_like(present)
        for row in np.flatnonzero(vr_bad):
            invalid.append((int(row), path))
        # Items under a refused value are not read, as in the reference reader.
        skipped = vr_bad | capped
        items: pa.StructArray = values.values
        item_row = (
            np.repeat(np.arange(len(lengths)), np.diff(offsets))
            if len(items)
            else (np.zeros(0, dtype=np.int64))
        )
        # The child array may extend beyond this (sliced) list array's own items.
        item_row_full = np.full(len(items), -1, dtype=np.int64)
        item_row_full[offsets[0] : offsets[-1]] = item_row
        arrays, fields = [], []
        for key in sorted(shape.fields):
            child_spec = shape.fields[key]
            nested: Invalid = []
            typed = self.finish(
                items.field(key),
                child_spec,
                f"{path}.{child_spec.keyword}",
                depth + 1,
                shape.children.get(key),
                nested,
            )
            for item, nested_path in nested:
                row = item_row_full[item]
                if row >= 0 and not skipped[row]:
                    invalid.append((int(row), nested_path))
            if typed is not None:
                arrays.append(typed)
                fields.append(pa.field(child_spec.keyword, typed.type))
        if not fields:
            return None
        struct = pa.StructArray.from_arrays(arrays, fields=fields)
        null = ~present | skipped
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct, mask=pa.array(null))
