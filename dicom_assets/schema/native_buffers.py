"""The native shredder's flat buffers (``native/_shredder.c``) as Arrow arrays, zero-copy: one
function per native carrier (``kinds.Kind.native``) and the per-element texts (written VR,
``InlineBinary``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dicom_assets.schema.kinds import KINDS


def bitmap(flags: bytes) -> pa.Buffer | None:
    """An Arrow validity bitmap from one byte per value (None when all are valid)."""
    as_bool = np.frombuffer(flags, dtype=bool)
    if as_bool.all():
        return None
    return pa.py_buffer(np.packbits(as_bool, bitorder="little"))


def strings(count: int, valid: bytes, offsets: bytes, data: bytes) -> pa.Array:
    return pa.Array.from_buffers(
        pa.string(), count, [bitmap(valid), pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def texts(column: dict) -> pa.Array:
    """A column's values carried as text."""
    return strings(column["n_values"], column["val_valid"], column["s_off"], column["s_data"])


def numbers(column: dict) -> pa.Array:
    """A column's values carried as numbers."""
    return pa.Array.from_buffers(
        pa.float64(),
        column["n_values"],
        [bitmap(column["val_valid"]), pa.py_buffer(column["nums"])],
    )


def names(column: dict, count: int) -> pa.Array:
    """A column's values carried as PN groups (the pn kind's carrier)."""
    pn = column["pn"]
    groups = [strings(count, pn[3 * g + 2], pn[3 * g], pn[3 * g + 1]) for g in range(3)]
    null = ~np.frombuffer(column["val_valid"], bool)
    fields = list(KINDS["pn"].carrier)
    return pa.StructArray.from_arrays(
        groups, fields=fields, mask=pa.array(null) if null.any() else None
    )


# How the shredder's buffers of each native carrier become the kinds' Arrow carriers.
CARRIERS = {
    "TEXT": lambda column, count: texts(column),
    "NUMBER": lambda column, count: numbers(column),
    "PN": names,
}


def per_element(column: dict, name: str) -> pa.Array:
    """One text per element of a column: its written ``vr``, or its ``ib`` (InlineBinary)."""
    count = len(column["rows"]) // 4  # int32 rows
    return strings(count, column[f"{name}_valid"], column[f"{name}_off"], column[f"{name}_data"])
