"""Lake columns as Synapse external-table columns: the Arrow -> T-SQL type rule and the rule
that picks at most ``max_columns`` (1,020) of them.

Types follow how Synapse serverless reads Parquet: integers as BIGINT (the lake writes every
integer VR as int64), DS/FL/FD as FLOAT, DA as DATE, DT and ``_timestamp`` (UTC timestamps) as
DATETIME2, strings as VARCHAR with the UTF-8 binary collation serverless wants for Parquet, and
nested or list columns (PN structs, multi-valued attributes, sequences) as VARCHAR(MAX), which
serverless fills with the value's JSON text. TM is text ``HH:MM:SS.ffffff`` in the lake
(docs/schema.md): VARCHAR(15), ``CAST(StudyTime AS time(6))`` gives the time. Only the lake's
portable types (``schema.portable``) are mapped; anything else (Parquet TIME, unsigned integers,
float16, durations, null-typed columns) is left out, never guessed.

String lengths: VARCHAR sizes are bytes, DICOM maxima are characters and UTF-8 needs up to four
bytes per character, so a standard attribute gets ``4 x`` its VR's maximum length (PS3.5 table
6.2-1), VARCHAR(MAX) above 8,000 bytes or for VRs without a maximum. The headroom matters:
serverless fails a query when a value is longer than its column, and real files break the
maxima now and then.

Column selection (Synapse allows at most 1,024 columns per table; we use 1,020):
1. always the identity and change columns ``_sequence, _timestamp, _action, StudyInstanceUID,
   SeriesInstanceUID, SOPInstanceUID`` first and ``_private, _invalid, _metadata`` last;
2. then the attributes present in the most rows (ties by name), in the lake's column order;
3. left out: the rest, columns whose Arrow type Synapse cannot read (null-typed columns that
   never held a value, durations, ...), names SQL Server cannot use, and a name that only
   differs by case from one already taken. Every left-out attribute stays reachable through
   ``JSON_VALUE(_metadata, '$."GGGGEEEE".Value[0]')``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pydicom.datadict import dictionary_VR, tag_for_keyword

from dicom_assets.schema.kinds import KINDS
from dicom_assets.schema.layout import HEAD_COLUMNS, TAIL_COLUMNS
from dicom_assets.sql.lake_schema import LakeColumn, is_list_like
from dicom_assets.sql.synapse_quoting import is_valid_identifier

UTF8_COLLATION = "Latin1_General_100_BIN2_UTF8"
REQUIRED_COLUMNS = (*HEAD_COLUMNS, "_metadata")

# Maximum characters per value for the VRs the lake stores as strings (PS3.5 table 6.2-1);
# None = no maximum (UC, UR, UT). AT is written as text such as "(0010,0010)".
_VR_MAX_CHARACTERS: dict[str, int | None] = {
    "AE": 16,
    "AS": 4,
    "AT": 16,
    "CS": 16,
    "DA": 8,
    "DS": 16,
    "DT": 26,
    "IS": 12,
    "LO": 64,
    "LT": 10240,
    "PN": 64 * 3,
    "SH": 16,
    "ST": 1024,
    "UC": None,
    "UI": 64,
    "UR": None,
    "UT": None,
}
_BYTES_PER_CHARACTER = 4  # worst case for UTF-8
# VRs the lake writes as text of its own fixed form (ASCII), sized in bytes.
_LAKE_TEXT_BYTES = {
    vr: k.sql_text_bytes for k in KINDS.values() if k.sql_text_bytes for vr in k.vrs
}
# The lake's scalar types by kind (its entry's sql_type); `_timestamp` is a UTC timestamp too.
_SCALAR_TYPES = {k.arrow_type: k.sql_type for k in KINDS.values() if k.sql_type}
_MAX_VARCHAR_BYTES = 8000
# Contract columns whose sizes the lake fixes rather than the DICOM dictionary.
_FIXED_STRING_SIZES = {"_action": "16", "_private": "MAX", "_invalid": "MAX", "_metadata": "MAX"}


@dataclass(frozen=True)
class TableColumn:
    """One external-table column: its name, full T-SQL type and the base type name SQL Server
    reports for it (``TYPE_NAME`` in ``sys.columns``), used to detect schema changes."""

    name: str
    sql_type: str
    type_name: str


@dataclass(frozen=True)
class ColumnSelection:
    """The chosen external-table columns (in table order) and the lake columns left out."""

    columns: list[TableColumn]
    left_out: list[str]


def varchar(size: str) -> str:
    return f"VARCHAR({size}) COLLATE {UTF8_COLLATION}"


def string_size(name: str) -> str:
    """VARCHAR size for a string column: fixed for contract columns, from the VR otherwise."""
    if name in _FIXED_STRING_SIZES:
        return _FIXED_STRING_SIZES[name]
    tag = tag_for_keyword(name)
    if tag is None:
        return "MAX"
    vr = dictionary_VR(tag).split(" ")[0]  # "US or SS" style entries list alternatives
    if vr in _LAKE_TEXT_BYTES:
        return str(_LAKE_TEXT_BYTES[vr])
    characters = _VR_MAX_CHARACTERS.get(vr)
    if characters is None:
        return "MAX"
    size = characters * _BYTES_PER_CHARACTER
    return str(size) if size <= _MAX_VARCHAR_BYTES else "MAX"


def _is_nested(data_type: pa.DataType) -> bool:
    return pa.types.is_struct(data_type) or pa.types.is_map(data_type) or is_list_like(data_type)


def tsql_type(name: str, data_type: pa.DataType) -> tuple[str, str] | None:
    """(T-SQL type, base type name) for a lake column, or None when Synapse cannot read it."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if _is_nested(data_type):
        return varchar("MAX"), "varchar"
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or (pa.types.is_string_view(data_type))
    ):
        return varchar(string_size(name)), "varchar"
    return _SCALAR_TYPES.get(data_type)  # not a type the lake writes: left out


def select_columns(columns: list[LakeColumn], max_columns: int) -> ColumnSelection:
    """Apply the documented selection rule (module docstring) to the lake's columns."""
    by_name = {column.name: column for column in columns}
    missing = [name for name in REQUIRED_COLUMNS if name not in by_name]
    if missing:
        raise ValueError(f"the lake lacks the contract columns {', '.join(missing)}")

    typed: dict[str, TableColumn] = {}
    left_out: list[str] = []
    taken_folded: set[str] = set()
    reserved = [name for name in (*HEAD_COLUMNS, *TAIL_COLUMNS) if name in by_name]
    # Reserved columns claim their names first so that a case-variant attribute cannot.
    ordered = [by_name[name] for name in reserved] + [
        column for column in columns if column.name not in reserved
    ]
    for column in ordered:
        mapped = tsql_type(column.name, column.arrow_type)
        folded = column.name.casefold()
        if mapped is None or not is_valid_identifier(column.name) or folded in taken_folded:
            if column.name in reserved:
                raise ValueError(f"contract column {column.name!r} cannot be mapped to T-SQL")
            left_out.append(column.name)
            continue
        taken_folded.add(folded)
        typed[column.name] = TableColumn(column.name, *mapped)

    budget = max_columns - len(reserved)
    candidates = [
        column for column in columns if column.name in typed and column.name not in reserved
    ]
    ranked = sorted(candidates, key=lambda column: (-column.rows_present, column.name))
    chosen = {column.name for column in ranked[:budget]}
    left_out.extend(column.name for column in ranked[budget:])

    table = [typed[name] for name in HEAD_COLUMNS if name in typed]
    table += [typed[column.name] for column in columns if column.name in chosen]
    table += [typed[name] for name in TAIL_COLUMNS if name in typed]
    left_out_set = set(left_out)
    return ColumnSelection(
        columns=table, left_out=[c.name for c in columns if c.name in left_out_set]
    )
