"""Parsers from one DICOM JSON value to the Python value of its Arrow column.

Each parser returns the parsed value, ``None`` for an empty value, or :data:`INVALID` when the
value does not read as its VR. They never raise: hostile input is data, not an error.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID"})()

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The earliest date and instant Spark 3 reads with default settings from files it did not write
# (`READ_ANCIENT_DATETIME`: spark.sql.parquet.datetimeRebaseModeInRead=EXCEPTION); earlier
# values are invalid, so every engine reads the lake as written (docs/schema.md). In real DICOM
# such values are placeholders ("11111111", "00010101"); `_metadata` keeps them.
EARLIEST_DATE = dt.date(1582, 10, 15)
EARLIEST_INSTANT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)

_DA_RE = re.compile(r"(\d{4})(\d{2})(\d{2})|(\d{4})\.(\d{2})\.(\d{2})")
# Like pydicom's TM; the retired ACR-NEMA "HH:MM:SS" form is accepted by dropping the colons.
_TM_RE = re.compile(r"([01]\d|2[0-3])(?:([0-5]\d)(?:([0-5]\d|60)(?:\.(\d{0,6}))?)?)?")
_DT_RE = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?"
    r"([+-]\d{4})?"
)
_IS_RE = re.compile(r"[+-]?\d+")
_DS_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
PADDING = " \x00"


def is_utf8(text: str) -> bool:
    """False for strings Parquet cannot store (lone surrogates from a broken decoder)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_str(value: Any) -> Any:
    # Trailing spaces (and a UID's NUL) are padding in DICOM; an empty value is null.
    if isinstance(value, str) and is_utf8(value):
        return value.rstrip(PADDING) or None
    return INVALID


def parse_date(value: Any) -> Any:
    if not isinstance(value, str):
        return INVALID
    text = value.strip()
    if not text:
        return None
    match = _DA_RE.fullmatch(text)
    if match is None:
        return INVALID
    y, m, d = (g for g in match.groups() if g is not None)
    try:
        date = dt.date(int(y), int(m), int(d))
    except ValueError:
        return INVALID
    return date if date >= EARLIEST_DATE else INVALID


def parse_time(value: Any) -> Any:
    """A TM as the lake's text ``HH:MM:SS.ffffff`` (see :mod:`kinds`)."""
    if not isinstance(value, str):
        return INVALID
    text = value.strip().replace(":", "")
    if not text:
        return None
    match = _TM_RE.fullmatch(text)
    if match is None:
        return INVALID
    hh, mm, ss, frac = match.groups()
    second = int(ss or 0)
    # A time has no leap second; pydicom reads 60 as 59, and so do we.
    return f"{hh}:{mm or '00'}:{min(second, 59):02d}.{(frac or '').ljust(6, '0')}"


def parse_datetime(value: Any) -> Any:
    """A DT as a UTC datetime: with an offset, the instant it names; without one, the wall-clock
    time as written, labelled UTC (see :mod:`kinds`)."""
    if not isinstance(value, str):
        return INVALID
    text = value.strip()
    if not text:
        return None
    match = _DT_RE.fullmatch(text)
    if match is None:
        return INVALID
    year, month, day, hour, minute, second, frac, offset = match.groups()
    try:
        result = dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "").ljust(6, "0")),
            tzinfo=dt.UTC,
        )
        if offset:
            minutes = int(offset[1:3]) * 60 + int(offset[3:5])
            result -= dt.timedelta(minutes=-minutes if offset[0] == "-" else minutes)
    except (ValueError, OverflowError):
        return INVALID
    return result if result >= EARLIEST_INSTANT else INVALID


# JSON true/false are not DICOM numbers, but Arrow's converters read them as 1/0 and the
# vectorised path relies on those converters; both paths therefore read booleans as 1/0.
def parse_int(value: Any) -> Any:
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return INVALID
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _IS_RE.fullmatch(text):
            number = int(text)
        elif _DS_RE.fullmatch(text):  # "5.0" reads as 5, like pydicom's IS
            as_float = float(text)
            if not math.isfinite(as_float) or as_float != int(as_float):
                return INVALID
            number = int(as_float)
        else:
            return INVALID
    else:
        return INVALID
    if INT64_MIN <= number <= INT64_MAX:
        return number
    return INVALID


def parse_float(value: Any) -> Any:
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return INVALID
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _DS_RE.fullmatch(text):
            number = float(text)
            return number if math.isfinite(number) else INVALID
        # FL/FD written as strings by some encoders ("NaN", "Infinity").
        if text in ("NaN", "Infinity", "-Infinity", "nan", "inf", "-inf"):
            return float(text)
        return INVALID
    return INVALID


# The groups of a name in DICOM JSON (PS3.18 F.2.2), in order: the pn kind's struct fields.
PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


def _pn_group_ok(group: Any) -> bool:
    # A group has at most five components (family^given^middle^prefix^suffix).
    return group is None or (isinstance(group, str) and group.count("^") <= 4 and is_utf8(group))


def parse_pn(value: Any) -> Any:
    if isinstance(value, dict):  # keys other than the three groups are ignored
        groups = tuple(value.get(group) for group in PN_GROUPS)
    elif isinstance(value, str):  # a common encoder mistake: the PS3.5 string form
        parts = value.split("=")
        if len(parts) > 3:
            return INVALID
        groups = tuple(parts + [None] * (3 - len(parts)))
    else:
        return INVALID
    if not all(_pn_group_ok(g) for g in groups):
        return INVALID
    # An empty group is an absent group (encoders differ in writing "" or leaving it out).
    groups = tuple(g.rstrip(PADDING) or None if g is not None else None for g in groups)
    if all(g is None for g in groups):
        return None
    return dict(zip(PN_GROUPS, groups))


def pn_text(value: dict) -> str:
    """A parsed name as PS3.5 text: its groups joined by "=", trailing empty groups left out."""
    groups = [value.get(g) for g in PN_GROUPS]
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(g if isinstance(g, str) else "" for g in groups)
