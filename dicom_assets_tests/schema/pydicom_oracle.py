"""What a typed column must hold, computed from pydicom's own reading of a file.

Independent of the converter's parsers: dates, times and numbers come from pydicom's value
representations (``pydicom.valuerep``), names from ``PersonName``; only the VR table is shared.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydicom import valuerep
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from dicom_assets.schema.vr import IDENTITY_KEYS, spec_for_key

UNCONVERTIBLE = object()  # pydicom reads it, but not as its VR: the column must be null

# The lake's documented bounds (docs/schema.md): Spark 3 reads no earlier date or instant.
EARLIEST_DATE = dt.date(1582, 10, 15)
EARLIEST_INSTANT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def _one(kind: str, value: Any) -> Any:
    if value is None or (
        isinstance(value, (str, bytes)) and not str(value).strip() and kind != "str"
    ):
        return None
    try:
        if kind == "str":
            # pydicom strips the padding of a whole value field, not of each value; DICOM
            # says trailing spaces are never significant, so the converter strips each.
            return (
                f"{value:08X}" if isinstance(value, int) else (str(value).rstrip(" \x00") or None)
            )
        if kind == "date":
            date = dt.date(*valuerep.DA(value).timetuple()[:3])
            return date if date >= EARLIEST_DATE else UNCONVERTIBLE
        if kind == "time":
            # The retired ACR-NEMA form HH:MM:SS, which pydicom 3 refuses, is read on purpose.
            t = valuerep.TM(value.replace(":", "") if isinstance(value, str) else value)
            # The lake's TM text: ISO 8601 extended, always six fraction digits.
            return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"
        if kind == "datetime":
            d = valuerep.DT(value)
            # With an offset: the instant; without one: the wall-clock time, labelled UTC.
            d = d.astimezone(dt.UTC) if d.tzinfo is not None else d.replace(tzinfo=dt.UTC)
            d = dt.datetime(
                d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, tzinfo=dt.UTC
            )
            return d if d >= EARLIEST_INSTANT else UNCONVERTIBLE
        if kind == "int":
            return int(valuerep.IS(value)) if isinstance(value, str) else int(value)
        if kind == "float":
            number = float(value)
            return number if math.isfinite(number) or not isinstance(value, str) else UNCONVERTIBLE
        if kind == "pn":
            name = (
                valuerep.PersonName(value) if not isinstance(value, valuerep.PersonName) else value
            )
            groups = {
                "Alphabetic": name.alphabetic or None,
                "Ideographic": name.ideographic or None,
                "Phonetic": name.phonetic or None,
            }
            return None if not any(groups.values()) else groups
    except (ValueError, TypeError, OverflowError):
        return UNCONVERTIBLE
    raise AssertionError(kind)


def typed_keys(dataset: Dataset, top_level: bool, exclusions: frozenset[str]) -> list[str]:
    """The keys of ``dataset`` that get a typed column (or struct field)."""
    keys = []
    for elem in dataset.elements():
        key = f"{elem.tag:08X}"
        spec = spec_for_key(key)
        if spec.category != "typed" or (top_level and key in IDENTITY_KEYS):
            continue
        if spec.kind == "seq" and spec.keyword in exclusions:
            continue
        keys.append(key)
    return keys


def expected_value(elem: DataElement, exclusions: frozenset[str]) -> Any:
    """The column value of ``elem`` (UNCONVERTIBLE when pydicom's value is not of its VR)."""
    spec = spec_for_key(f"{elem.tag:08X}")
    if spec.kind == "seq":
        return [expected_item(item, exclusions) for item in elem.value]
    value = elem.value
    if spec.multi:
        values = (
            list(value)
            if isinstance(value, (MultiValue, list))
            else ([] if value in (None, "", b"") else [value])
        )
        if not values:
            return None
        out = [None if v in (None, "") else _one(spec.kind, v) for v in values]
        return UNCONVERTIBLE if any(v is UNCONVERTIBLE for v in out) else out
    if isinstance(value, (MultiValue, list)):
        return UNCONVERTIBLE if len(value) > 1 else (_one(spec.kind, value[0]) if value else None)
    if value == "" and spec.kind == "str":
        return None
    return _one(spec.kind, value)


def expected_item(item: Dataset, exclusions: frozenset[str]) -> dict[str, Any]:
    out = {}
    for key in typed_keys(item, top_level=False, exclusions=exclusions):
        elem = item[int(key, 16)]
        out[spec_for_key(key).keyword] = expected_value(elem, exclusions)
    return out
