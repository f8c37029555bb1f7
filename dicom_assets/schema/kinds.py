"""The value kinds: how the values of each DICOM VR are typed, one entry per kind.

A kind groups the VRs that share an Arrow type and a parser. Its entry says everything the
other modules need to know about it: the VRs, the column's Arrow type, the *carrier* (the raw
Arrow type Arrow converts one JSON value to, :mod:`raw`), the native shredder's carrier and the
date/time kernel's code (``dicom_assets.native``), the reference parser (:mod:`values`), the
vectorised one (:mod:`finish_values`), how private values written with its VRs are carried
(:mod:`private`) and its Synapse column type (``sql/synapse_types.py``). Changing how a VR is
typed is editing its entry here (and the C carrier, only if that changes).

Every Arrow type here is one that Spark 3.x, Delta Lake reader version 1 (Synapse serverless),
polars, DuckDB and pyarrow read with default settings (docs/schema.md, "Types every engine
reads"):
- TM is text "HH:MM:SS.ffffff" (always 15 characters): Parquet TIME breaks Spark 3 and Delta,
  and this text casts to a time in every engine that has one, sorts in time order, and reads
  as written in those that have none.
- DT is a UTC timestamp: a zone-less one would become Delta's timestamp_ntz (reader version 3).
  A value with an offset is the instant it names; a value without one is its wall-clock time
  as written (the modality's local time), labelled UTC. `_metadata` keeps the text.
- Dates before 1582-10-15 and timestamps before 1900-01-01T00:00Z are invalid values (see
  values.EARLIEST_DATE): Spark 3 refuses them in files it did not write.
- No unsigned integers, no float16, no durations: integer VRs are int64, numbers float64.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from dicom_assets import native
from dicom_assets.schema import finish_values, values

TIME_TEXT_LENGTH = len("HH:MM:SS.ffffff")
_TEXT = pa.string()
_TEXT_VRS = ("AE", "AS", "CS", "LO", "LT", "SH", "ST", "UC", "UI", "UR", "UT", "AT")
_INT_VRS = ("IS", "SS", "US", "SL", "UL", "SV", "UV")
_FLOAT_VRS = ("DS", "FL", "FD")


@dataclass(frozen=True)
class Kind:
    """How the values of a group of VRs are typed (see the module docstring)."""

    name: str
    vrs: tuple[str, ...]
    # The column's value type; None: typed by what the batch holds (seq) or not typed (bulk).
    arrow_type: pa.DataType | None
    # One value as Arrow converts it from JSON: strings for text, dates and times; float64 for
    # every number (a non-integral value in an integer attribute is seen, not truncated).
    carrier: pa.DataType | None
    # The native shredder's code name for this kind's values (``KIND_<native>`` in _shredder.c).
    native: str
    parse: Callable[[Any], Any] | None = None
    finish: Callable[[pa.Array, Kind], tuple[pa.Array, np.ndarray]] | None = None
    # Written VRs read as this kind besides its own (a text attribute accepts a DA...).
    also_accepts: tuple[str, ...] = ()
    # How a private element written with one of these VRs is carried (None: element by element).
    private_carrier: pa.DataType | None = _TEXT
    # The text of one parsed value in ``_private`` (None: rendered by its Python type).
    private_text: Callable[[Any], str] | None = None
    # The date/time kernel's code name (``KIND_<temporal>`` in _temporal.c), if it reads these.
    temporal: str | None = None
    # Synapse: (T-SQL type, TYPE_NAME) of a scalar column; None for text and nested columns.
    sql_type: tuple[str, str] | None = None
    # Synapse: VARCHAR bytes of a value the lake writes as text of its own fixed form.
    sql_text_bytes: int | None = None
    # Filled at import from the built extensions (None when not built).
    native_code: int | None = None
    temporal_code: int | None = None


_PN_TYPE = pa.struct([(group, pa.string()) for group in values.PN_GROUPS])
_DATETIME = pa.timestamp("us", tz="UTC")

_ENTRIES = (
    Kind(
        "str",
        _TEXT_VRS,
        pa.string(),
        pa.string(),
        "TEXT",
        values.parse_str,
        finish_values.finish_text,
        also_accepts=("DA", "TM", "DT"),
    ),
    Kind(
        "date",
        ("DA",),
        pa.date32(),
        pa.string(),
        "TEXT",
        values.parse_date,
        finish_values.finish_temporal,
        temporal="DATE",
        sql_type=("DATE", "date"),
    ),
    Kind(
        "time",
        ("TM",),
        pa.string(),
        pa.string(),
        "TEXT",
        values.parse_time,
        finish_values.finish_temporal,
        temporal="TIME",
        sql_text_bytes=TIME_TEXT_LENGTH,
    ),
    Kind(
        "datetime",
        ("DT",),
        _DATETIME,
        pa.string(),
        "TEXT",
        values.parse_datetime,
        finish_values.finish_temporal,
        temporal="DATETIME",
        # UTC instants (a DT without offset: its wall-clock time labelled UTC), read as written.
        sql_type=("DATETIME2", "datetime2"),
    ),
    Kind(
        "int",
        _INT_VRS,
        pa.int64(),
        pa.float64(),
        "NUMBER",
        values.parse_int,
        finish_values.finish_int,
        private_carrier=pa.float64(),
        sql_type=("BIGINT", "bigint"),
    ),
    Kind(
        "float",
        _FLOAT_VRS,
        pa.float64(),
        pa.float64(),
        "NUMBER",
        values.parse_float,
        finish_values.finish_float,
        also_accepts=_INT_VRS,
        private_carrier=pa.float64(),
        sql_type=("FLOAT", "float"),
    ),
    Kind(
        "pn",
        ("PN",),
        _PN_TYPE,
        _PN_TYPE,
        "PN",
        values.parse_pn,
        finish_values.finish_pn,
        private_carrier=None,
        private_text=values.pn_text,
    ),
    Kind("seq", ("SQ",), None, None, native.SEQUENCE, private_carrier=None),
    Kind("bulk", ("OB", "OD", "OF", "OL", "OV", "OW", "UN"), None, None, native.SKIP),
)

# The codes of the built extensions, checked against the entries (ImportError on a mismatch).
SHREDDER_CODES = native.shredder_codes(k.native for k in _ENTRIES)
TEMPORAL_CODES = native.temporal_codes(k.temporal for k in _ENTRIES if k.temporal)

KINDS: dict[str, Kind] = {
    k.name: dataclasses.replace(
        k,
        native_code=SHREDDER_CODES.get(k.native),
        temporal_code=TEMPORAL_CODES.get(k.temporal or ""),
    )
    for k in _ENTRIES
}

# Views of the entries, by what the other modules look up.
VR_KINDS: dict[str, str] = {vr: k.name for k in KINDS.values() for vr in k.vrs}
# Kinds whose values get a column of their own type (not sequences, not binary).
KIND_TYPES: dict[str, pa.DataType] = {
    k.name: k.arrow_type for k in KINDS.values() if k.arrow_type is not None
}
PARSERS: dict[str, Callable[[Any], Any]] = {
    k.name: k.parse for k in KINDS.values() if k.parse is not None
}
# The element's own "vr" may differ from the dictionary's (old dictionaries, vendor quirks).
# It is accepted when its value still reads as the column's kind; otherwise the value is invalid.
ACCEPTED_VRS: dict[str, frozenset[str]] = {
    k.name: frozenset(k.vrs) | frozenset(k.also_accepts) for k in KINDS.values() if k.name != "bulk"
}


def kind_of_vr(vr: Any) -> Kind | None:
    """The kind of a written VR (None for a VR the standard does not define)."""
    name = VR_KINDS.get(vr) if isinstance(vr, str) else None
    return KINDS[name] if name is not None else None
