"""Reading one DICOM JSON element into the Python value of its column, sequences included.

This is the reference reader: it defines what every column holds. The vectorised reader
(:mod:`finish`, over the raw columns of either element source) gives the same, a property test
holds them together, and hands it each column it cannot type exactly (odd keys, integers beyond
float64's exact range, sequence items that are not all objects...). ``ConversionOptions(
vectorised=False)`` reads every column with it. Values are parsed by their kind's reference
parser (:mod:`kinds`, :mod:`values`).
"""

from __future__ import annotations

from typing import Any

from dicom_assets.schema.kinds import PARSERS
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.raw import types_sequence
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.values import INVALID
from dicom_assets.schema.vr import TagSpec, spec_for_key


class ElementReader:
    """Reads elements for one batch; ``invalid`` lists receive the path of every nulled value."""

    def __init__(self, options: ConversionOptions) -> None:
        self.options = options

    def types_sequence(self, spec: TagSpec, depth: int) -> bool:
        """Whether a sequence at this depth (top level = 1) gets a typed column or field."""
        return types_sequence(spec, depth, self.options)

    def read(
        self,
        elem: Any,
        spec: TagSpec,
        path: str,
        depth: int,
        shape: SequenceShape | None,
        invalid: list[str],
    ) -> Any:
        """The typed value of ``elem`` (None when empty or invalid; invalid ones are recorded)."""
        value = _element_value(elem, spec)
        if value is None:
            # A sequence present without items is an empty list, not an absent attribute.
            return [] if spec.kind == "seq" else None
        if value is not INVALID:
            if spec.kind == "seq":
                value = self._read_items(value, path, depth, shape, invalid)
            else:
                value = _parsed_values(value, spec)
        if value is INVALID:
            invalid.append(path)
            return None
        return value

    def _read_items(
        self, items: list, path: str, depth: int, shape: SequenceShape | None, invalid: list[str]
    ) -> Any:
        cap = self.options.max_sequence_items
        if cap is not None and len(items) > cap:
            return None
        if not all(type(item) is dict for item in items):
            return INVALID
        assert shape is not None
        return [self.read_item(item, shape, path, depth, invalid) for item in items]

    def read_item(
        self, item: dict, shape: SequenceShape, path: str, depth: int, invalid: list[str]
    ) -> dict[str, Any]:
        """One sequence item (at ``depth``) as a dict keyed by keyword; widens ``shape``."""
        out: dict[str, Any] = {}
        for key, elem in item.items():
            spec = spec_for_key(key)
            if spec.category != "typed":
                continue  # private, unknown and binary elements of items live in _metadata
            child = None
            if spec.kind == "seq":
                if not self.types_sequence(spec, depth + 1):
                    continue
                child = shape.children.get(spec.key)
                if child is None:
                    child = shape.children[spec.key] = SequenceShape()
            shape.fields[spec.key] = spec
            value = self.read(elem, spec, f"{path}.{spec.keyword}", depth + 1, child, invalid)
            if value is not None:
                out[spec.keyword] = value
        return out


def _element_value(elem: Any, spec: TagSpec) -> Any:
    """The ``Value`` of a well-formed element (None when it has none), else INVALID."""
    if type(elem) is not dict:
        return INVALID
    vr = elem.get("vr")
    if vr is not None and (type(vr) is not str or vr not in spec.accepted_vrs):
        return INVALID
    value = elem.get("Value")
    if value is None:
        return None
    if type(value) not in (list, tuple):
        return INVALID
    if not value and spec.kind != "seq":
        return INVALID  # PS3.18 writes an empty attribute without "Value", never as []
    return value


def _parsed_values(value: list | tuple, spec: TagSpec) -> Any:
    """A non-empty ``Value`` parsed by the kind's parser: one value, or a list when multi."""
    parse = PARSERS[spec.kind]
    if not spec.multi:
        if len(value) != 1:
            return INVALID
        item = value[0]
        return None if item is None else parse(item)
    out = []
    for item in value:
        # Null inside a multi-valued Value is how DICOM JSON writes an empty value.
        parsed = None if item is None else parse(item)
        if parsed is INVALID:
            return INVALID
        out.append(parsed)
    return out
