"""Numpy index and flag arrays as Arrow arrays, zero-copy.

``pa.array(ndarray)`` imports ``numpy.ma`` on its first call in a process (it checks for masked
arrays): a first-call cost in every run worker (0.3 s where Python has no cached bytecode to
load it from). Building the array from its buffers does not, and shares the values' memory.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_TYPES = {np.dtype(np.int64): pa.int64(), np.dtype(np.int32): pa.int32()}


def _bits(flags: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def from_numpy(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An Arrow array of int64, int32 or bool ``values``; null where ``valid`` is False."""
    validity = None if valid is None or valid.all() else _bits(valid)
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), len(values), [validity, _bits(values)])
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(
        _TYPES[values.dtype], len(values), [validity, pa.py_buffer(values)]
    )
