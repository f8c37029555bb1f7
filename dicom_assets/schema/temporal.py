"""DA / TM / DT text columns -> date32 / time64 / timestamp arrays and an invalid mask.

Plain forms (``20261124``, ``101530.5``, ``20261124101530``) are read by a native kernel
(``_temporal.c``) when it is built; every other text, and every text when it is not, is parsed
once per distinct value by the reference parsers of :mod:`values`, which alone decide what is
invalid. Either way the result is the reference parsers' (a property test holds them together).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.schema.values import INVALID, PARSERS
from dicom_assets.schema.vr import KIND_TYPES

try:
    from dicom_assets.schema import _temporal
except ImportError:  # not built: every text goes through the reference parsers
    _temporal = None

# The kernel's code for each kind and the integer storage of its Arrow type.
_KERNEL_KINDS = {"date": (0, pa.int32()), "time": (1, pa.int64()), "datetime": (2, pa.int64())}


def parse_distinct(strings: pa.Array, kind: str) -> tuple[pa.Array, np.ndarray]:
    """Each distinct text parsed once by the reference parser."""
    encoded = strings.dictionary_encode()
    parse = PARSERS[kind]
    parsed = [None if text is None else parse(text) for text in encoded.dictionary.to_pylist()]
    bad = np.array([p is INVALID for p in parsed], dtype=bool)
    typed = pa.array([None if p is INVALID else p for p in parsed], KIND_TYPES[kind])
    indices = encoded.indices
    child_bad = bad[pc.fill_null(indices, 0).to_numpy(zero_copy_only=False)] if len(bad) else (
        np.zeros(len(strings), dtype=bool))
    child_bad &= indices.is_valid().to_numpy(zero_copy_only=False)
    return typed.take(indices), child_bad


def parse_temporal(strings: pa.Array, kind: str) -> tuple[pa.Array, np.ndarray]:
    """Typed values of a string array of DA, TM or DT texts, and where they were invalid."""
    if _temporal is None or strings.type != pa.string() or len(strings) == 0:
        return parse_distinct(strings, kind)
    code, storage = _KERNEL_KINDS[kind]
    _, offsets, data = strings.buffers()
    raw_values, raw_slow = _temporal.parse(code, len(strings), strings.offset, offsets, data)
    values = np.frombuffer(raw_values, storage.to_pandas_dtype())
    valid = strings.is_valid().to_numpy(zero_copy_only=False)
    slow = np.frombuffer(raw_slow, bool) & valid
    null = ~valid
    bad = np.zeros(len(strings), dtype=bool)
    if slow.any():
        rows = np.flatnonzero(slow)
        typed, slow_bad = parse_distinct(strings.take(rows), kind)
        as_numbers = typed.cast(storage)
        values = values.copy()  # the kernel's bytes are read-only
        values[rows] = pc.fill_null(as_numbers, 0).to_numpy(zero_copy_only=False)
        null[rows] = as_numbers.is_null().to_numpy(zero_copy_only=False)
        bad[rows] = slow_bad
    validity = None if not null.any() else pa.py_buffer(np.packbits(~null, bitorder="little"))
    return pa.Array.from_buffers(KIND_TYPES[kind], len(strings),
                                 [validity, pa.py_buffer(values)]), bad
