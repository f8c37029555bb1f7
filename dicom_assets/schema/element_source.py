"""What the converter asks of a batch's top-level elements, whoever read them.

Two sources implement it: :class:`~dicom_assets.schema.python_elements.PythonElements` (parsed
Python dicts, which Arrow converts to raw columns in C++) and
:class:`~dicom_assets.schema.shredded.Shredded` (JSON bytes read by the native shredder into
the same raw columns). The reference reader (:mod:`elements`) reads any column of either from
its Python elements (:meth:`ElementSource.elements`); :mod:`convert` works with both alike.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa

from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.vr import TagSpec

# The columns one vectorised pass converts: (spec, the keys written for it, its items' shape).
Planned = list[tuple[TagSpec, list[Any], SequenceShape | None]]


class ElementSource(Protocol):
    """A batch's top-level elements, row by row (a row without metadata has none)."""

    n: int  # rows
    odd_keys: set[Any]  # keys the reference rendering must read from the Python elements

    @property
    def keys(self) -> list[Any]:
        """Every top-level key the batch holds, as written."""
        ...

    def elements(self, keys: list[Any]) -> list[Any]:
        """Each row's element under ``keys`` (None where absent), as Python values."""
        ...

    def shape(self, spec: TagSpec, keys: list[Any]) -> SequenceShape | None:
        """The typed item fields of a top-level sequence; None: the reference reader reads it."""
        ...

    def raw_struct(self, planned: Planned) -> pa.StructArray:
        """One raw column (:mod:`raw`) per planned tag, named by its first key."""
        ...

    def private_raw(self, private: list[tuple[TagSpec, list[Any]]]) -> dict[str, pa.Array]:
        """Raw ``struct<vr, Value, InlineBinary>`` columns of the private tags it can give."""
        ...

    def creators(self, key: str) -> pa.Array:
        """Each row's private creator under ``key``."""
        ...

    def metadata_column(self) -> pa.Array | pa.ChunkedArray:
        """``_metadata``: each row's DICOM JSON as compact text, null where there is none."""
        ...
