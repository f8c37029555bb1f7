"""SQL type names of a custom table's Arrow types, as DuckDB writes them (for the UI's column
schema; the Synapse types come from ``sql/synapse/types.py`` like those of ``dicom.instances``)."""

from __future__ import annotations

import pyarrow as pa

_SCALARS = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
    pa.bool_(): "BOOLEAN",
}


def duckdb_type(kind: pa.DataType) -> str:
    if kind in _SCALARS:
        return _SCALARS[kind]
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP WITH TIME ZONE" if kind.tz else "TIMESTAMP"
    if pa.types.is_time(kind):
        return "TIME"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"{duckdb_type(kind.value_type)}[]"
    if pa.types.is_struct(kind):
        return "STRUCT(" + ", ".join(f"{f.name} {duckdb_type(f.type)}" for f in kind) + ")"
    return str(kind).upper()
