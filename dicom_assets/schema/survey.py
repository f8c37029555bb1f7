"""A batch's keys and element types, gathered while each instance is still in cache."""

from __future__ import annotations

from operator import methodcaller
from typing import Any

_VALUE_TYPES = {list, type(None)}
_GET_VALUE = methodcaller("get", "Value")


class Survey:
    """Keys and element types of a batch, gathered while each instance is still in cache.

    Arrow's converters are lenient where the reference reader is not (a string element reads
    as an empty struct, a string "Value" as a list of characters): tags with an element that is
    not an object, or a "Value" that is not an array, go to the reference reader. The checks
    run at C speed (map/type/set).
    """

    def __init__(self) -> None:
        self.keys: set[Any] = set()
        self.element_types: set[type] = set()
        self.value_types: set[type] = set()

    def add(self, metadata: dict) -> None:
        self.keys.update(metadata)
        if self.element_types:
            return  # already odd: odd_keys() scans every instance anyway
        try:
            # dict.get on every element: an element that is not a dict raises here.
            self.value_types.update(map(type, map(_GET_VALUE, metadata.values())))
        except (AttributeError, TypeError):
            self.element_types.update(map(type, metadata.values()))

    def odd_keys(self, metas: list[dict]) -> set[Any]:
        odd: set[Any] = set()
        if self.element_types or self.value_types - _VALUE_TYPES:
            for m in metas:
                for key, elem in m.items():
                    if type(elem) is not dict or type(elem.get("Value")) not in _VALUE_TYPES:
                        odd.add(key)
        return odd
