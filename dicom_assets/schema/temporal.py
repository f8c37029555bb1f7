"""DA / TM / DT text columns -> date32 / ``HH:MM:SS.ffffff`` text / UTC timestamp arrays and an
invalid mask (the types, parsers and kernel codes: the entries of :mod:`kinds`, passed in).

Plain forms (``20261124``, ``101530.5``, ``20261124101530``) are read by a native kernel
(``native/_temporal.c``) when it is built; every other text, and every text when it is not, is
parsed once per distinct value by the reference parsers of :mod:`values`, which alone decide
what is invalid. Either way the result is the reference parsers' (a property test holds them
together): the kernel yields days and microseconds, and the bounds and the final Arrow type are
applied here, to both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets import native
from dicom_assets.schema.values import EARLIEST_DATE, EARLIEST_INSTANT, INVALID

_EPOCH_DAYS = 719163  # date(1970, 1, 1).toordinal()
_EARLIEST_DAYS = EARLIEST_DATE.toordinal() - _EPOCH_DAYS
_EARLIEST_MICROS = int(EARLIEST_INSTANT.timestamp()) * 1_000_000
# The Arrow type the kernel's numbers mean for each kind, and the smallest valid one.
_KERNEL_KINDS = {
    "date": (pa.date32(), _EARLIEST_DAYS),
    "time": (pa.time64("us"), None),
    "datetime": (pa.timestamp("us", tz="UTC"), _EARLIEST_MICROS),
}


def parse_distinct(strings: pa.Array, kind: Any) -> tuple[pa.Array, np.ndarray]:
    """Each distinct text parsed once by the reference parser of ``kind`` (a kinds.Kind)."""
    encoded = strings.dictionary_encode()
    parse = kind.parse
    parsed = [None if text is None else parse(text) for text in encoded.dictionary.to_pylist()]
    bad = np.array([p is INVALID for p in parsed], dtype=bool)
    typed = pa.array([None if p is INVALID else p for p in parsed], kind.arrow_type)
    indices = encoded.indices
    child_bad = (
        bad[pc.fill_null(indices, 0).to_numpy(zero_copy_only=False)]
        if len(bad)
        else (np.zeros(len(strings), dtype=bool))
    )
    child_bad &= indices.is_valid().to_numpy(zero_copy_only=False)
    return typed.take(indices), child_bad


def parse_temporal(strings: pa.Array, kind: Any) -> tuple[pa.Array, np.ndarray]:
    """Typed values of a string array of DA, TM or DT texts (``kind``: their kinds.Kind), and
    where they were invalid."""
    code = kind.temporal_code
    if code is None or strings.type != pa.string() or len(strings) == 0:
        return parse_distinct(strings, kind)
    kernel_type, earliest = _KERNEL_KINDS[kind.name]
    _, offsets, data = strings.buffers()
    raw_values, raw_slow = native.parse_temporal(code, len(strings), strings.offset, offsets, data)
    values = np.frombuffer(raw_values, np.int32 if kind.name == "date" else np.int64)
    valid = strings.is_valid().to_numpy(zero_copy_only=False)
    slow = np.frombuffer(raw_slow, bool) & valid
    # Plain texts before the earliest value Spark 3 reads are invalid, as values.parse_* says.
    bad = (
        valid & ~slow & (values < earliest)
        if earliest is not None
        else (np.zeros(len(strings), dtype=bool))
    )
    null = ~valid | slow | bad
    validity = None if not null.any() else pa.py_buffer(np.packbits(~null, bitorder="little"))
    typed = pa.Array.from_buffers(kernel_type, len(strings), [validity, pa.py_buffer(values)])
    if kind.name == "time":
        typed = typed.cast(kind.arrow_type)  # Arrow writes time64[us] as HH:MM:SS.ffffff
    if slow.any():
        rows = np.flatnonzero(slow)
        reference, slow_bad = parse_distinct(strings.take(rows), kind)
        typed = pc.replace_with_mask(typed, pa.array(slow), reference)
        bad[rows] = slow_bad
    return typed, bad
