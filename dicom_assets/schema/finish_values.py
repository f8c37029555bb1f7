"""The vectorised parsers: a flat array of one kind's carrier values (see :mod:`raw`) -> its typed
values and a per-value invalid mask, with Arrow compute. Each kind of :mod:`kinds` names its
function here; each gives what the kind's reference parser (:mod:`values`) gives value by value
(a property test holds them together).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.schema.temporal import parse_temporal
from dicom_assets.schema.values import PADDING

EXACT_FLOAT_INT = 2.0**53


class NeedsReference(Exception):
    """This column must be read by the reference reader (odd keys, exact big integers...)."""


def np_bool(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _none_bad(child: pa.Array) -> np.ndarray:
    return np.zeros(len(child), dtype=bool)


def trimmed(strings: pa.Array) -> pa.Array:
    """Padding removed; an empty value becomes null (as :func:`values.parse_str`)."""
    trimmed = pc.utf8_rtrim(strings, characters=PADDING)
    return pc.if_else(pc.equal(trimmed, ""), None, trimmed)


def finish_text(child: pa.Array, kind: Any) -> tuple[pa.Array, np.ndarray]:
    return trimmed(child), _none_bad(child)


def finish_temporal(child: pa.Array, kind: Any) -> tuple[pa.Array, np.ndarray]:
    return parse_temporal(child, kind)


def finish_float(child: pa.Array, kind: Any) -> tuple[pa.Array, np.ndarray]:
    return child, _none_bad(child)


def finish_int(child: pa.Array, kind: Any) -> tuple[pa.Array, np.ndarray]:
    """Integers carried as float64: a non-integral value is invalid, not truncated."""
    null = child.is_null().to_numpy(zero_copy_only=False)
    numbers = pc.fill_null(child, 0.0).to_numpy(zero_copy_only=False)
    if np.any(np.abs(numbers[np.isfinite(numbers)]) >= EXACT_FLOAT_INT):
        raise NeedsReference("integers beyond float64's exact range")
    finite = np.isfinite(numbers)
    bad = ~null & (~finite | (numbers != np.floor(np.where(finite, numbers, 0.0))))
    ints = np.where(finite & ~bad, numbers, 0.0).astype(np.int64)
    return pa.array(ints, kind.arrow_type, mask=null | bad), bad


def finish_pn(child: pa.Array, kind: Any) -> tuple[pa.Array, np.ndarray]:
    """Names: each group trimmed; a name whose groups are all empty is null."""
    groups, bad = [], np.zeros(len(child), dtype=bool)
    item_valid = child.is_valid()
    for field in kind.arrow_type:
        group = child.field(field.name)
        # A group has at most five components (family^given^middle^prefix^suffix).
        bad |= np_bool(pc.greater(pc.count_substring(group, "^"), 4)) & np_bool(item_valid)
        groups.append(pc.if_else(item_valid, trimmed(group), None))
    empty = np.logical_and.reduce([g.is_null().to_numpy(zero_copy_only=False) for g in groups])
    names = pa.StructArray.from_arrays(
        groups, fields=list(kind.arrow_type), mask=pa.array(empty | bad)
    )
    return names, bad
