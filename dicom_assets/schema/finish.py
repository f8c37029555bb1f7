"""Typing raw element columns (see :mod:`raw`) with Arrow compute: the vectorised reader.

Gives exactly what the reference reader (:mod:`elements`) gives for the same elements (a
property test holds the two together); the values of each kind are typed by the function its
entry in :mod:`kinds` names (:mod:`finish_values`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.schema.finish_values import np_bool
from dicom_assets.schema.kinds import KINDS
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.vr import TagSpec

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
        & ~np_bool(pc.is_in(vr, value_set=accepted_array))
    )


@dataclass(frozen=True)
class _RowMasks:
    """Per row of one raw column: which rows hold the element, which hold a value, which carry
    a VR the tag does not accept, and the value lists' offsets and lengths."""

    present: np.ndarray
    vr_bad: np.ndarray
    has_value: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, raw: pa.StructArray, spec: TagSpec) -> _RowMasks:
        present = raw.is_valid().to_numpy(zero_copy_only=False)
        values: pa.ListArray = raw.field("Value")
        offsets = values.offsets.to_numpy(zero_copy_only=False)
        return cls(
            present=present,
            vr_bad=_vr_bad(raw.field("vr"), spec, present),
            has_value=present & values.is_valid().to_numpy(zero_copy_only=False),
            offsets=offsets,
            lengths=np.diff(offsets),  # a null list has no values
        )


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
        shape: SequenceShape | None,
        invalid: Invalid,
    ) -> pa.Array | None:
        """The typed column of ``raw`` (None for a sequence without typed fields).

        Per-column costs matter as much as per-value ones (a batch has ~150 columns), so
        common cases take shortcuts: one distinct VR, every row with exactly one value.
        """
        n = len(raw)
        rows = _RowMasks.of(raw, spec)
        values: pa.ListArray = raw.field("Value")
        if spec.kind == "seq":
            return self._finish_sequence(values, spec, path, depth, shape, invalid, rows)
        offsets, lengths = rows.offsets, rows.lengths
        kind = KINDS[spec.kind]
        child, child_bad = kind.finish(values.values, kind)
        bad = rows.vr_bad | (rows.has_value & (lengths == 0))
        if child_bad.any():
            counts = np.concatenate([[0], np.cumsum(child_bad)])
            bad |= (counts[offsets[1:]] - counts[offsets[:-1]]) > 0
        if not spec.multi:
            bad |= lengths > 1
        null = ~rows.has_value | bad
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
        values: pa.ListArray,
        spec: TagSpec,
        path: str,
        depth: int,
        shape: SequenceShape | None,
        invalid: Invalid,
        rows: _RowMasks,
    ) -> pa.Array | None:
        assert shape is not None
        present, vr_bad, has_value = rows.present, rows.vr_bad, rows.has_value
        offsets, lengths = rows.offsets, rows.lengths
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
