"""The *raw* Arrow form of DICOM JSON elements, which Arrow converts from Python in C++.

An element ``{"vr": ..., "Value": [...]}`` converts to ``struct<vr: string, Value: list<T>>``
with ``T`` the kind's carrier type (``kinds.Kind.carrier``; for sequences, a struct of the
items' raw fields). Converting a whole batch
this way is many times faster than walking it in Python; :mod:`finish` then types it.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import methodcaller
from typing import Any

import pyarrow as pa

from dicom_assets.schema.kinds import KINDS
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.vr import TagSpec, spec_for_key

_GET_VALUE = methodcaller("get", "Value")


def types_sequence(spec: TagSpec, depth: int, options: ConversionOptions) -> bool:
    """Whether a sequence at ``depth`` (top level = 1) gets a typed column or field."""
    return depth <= options.max_sequence_depth and (
        spec.keyword not in options.typed_sequence_exclusions
    )


def collect_shape(
    elements: Iterable[Any],
    spec: TagSpec,
    shape: SequenceShape,
    depth: int,
    options: ConversionOptions,
) -> None:
    """Widen ``shape`` with the item fields of the sequence ``elements`` (None = absent).

    Mirrors the reference reader: items of a value it would refuse (wrong VR, not a list,
    a non-object item, more items than the cap) add no fields. Keys and element types are
    gathered with set operations (C speed); per-key work happens once per distinct key.
    """
    items = _accepted_items(elements, spec, shape, options.max_sequence_items)
    keys: set[Any] = set()
    element_types: set[type] = set()
    for item in items:
        keys.update(item)
        element_types.update(map(type, item.values()))
    if element_types - {dict}:
        shape.odd_keys = True
    nested = _add_fields(keys, shape, depth, options)
    if not shape.odd_keys:
        value_types: set[type] = set()
        for item in items:
            value_types.update(map(type, map(_GET_VALUE, item.values())))
        if value_types - {list, tuple, type(None)}:
            shape.odd_keys = True
    for child in nested:
        child_shape = shape.children.setdefault(child.key, SequenceShape())
        inner = [item.get(child.key) for item in items]
        collect_shape(inner, child, child_shape, depth + 1, options)


def _accepted_items(
    elements: Iterable[Any], spec: TagSpec, shape: SequenceShape, cap: int | None
) -> list[dict]:
    """The items of every element the reference reader would read as a sequence."""
    accepted = spec.accepted_vrs
    items: list[dict] = []
    for elem in elements:
        if type(elem) is not dict:  # None (absent) included
            continue
        vr = elem.get("vr")
        if vr is not None and (type(vr) is not str or vr not in accepted):
            continue
        value = elem.get("Value")
        if type(value) not in (list, tuple) or (cap is not None and len(value) > cap):
            continue
        if not all(type(item) is dict for item in value):
            shape.odd_keys = True  # the reference reader nulls and lists such values
            continue
        items.extend(value)
    return items


def _add_fields(
    keys: set[Any], shape: SequenceShape, depth: int, options: ConversionOptions
) -> list[TagSpec]:
    """Add the typed ``keys`` to ``shape``; the nested sequences to widen next."""
    nested: list[TagSpec] = []
    for key in keys:
        child = spec_for_key(key)
        if child.category != "typed":
            continue
        # Odd keys go to the reference reader, which is strict where Arrow is lenient.
        if key != child.key:
            shape.odd_keys = True
        if child.kind == "seq":
            if not types_sequence(child, depth + 1, options):
                continue
            nested.append(child)
        shape.fields[child.key] = child
    return nested


def raw_type(spec: TagSpec, shape: SequenceShape | None = None) -> pa.DataType:
    """``struct<vr, Value: list<carrier>>`` of an element (sequences need their shape)."""
    if spec.kind == "seq":
        assert shape is not None
        item = pa.struct(
            [
                pa.field(key, raw_type(shape.fields[key], shape.children.get(key)))
                for key in sorted(shape.fields)
            ]
        )
        value_type = pa.list_(item)
    else:
        value_type = pa.list_(KINDS[spec.kind].carrier)
    return pa.struct([("vr", pa.string()), ("Value", value_type)])
