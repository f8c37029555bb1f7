"""One table schema: new columns and new nested fields merge in, a changed type is an error.

delta-rs' ``schema_mode="merge"`` adds new top-level columns and new struct fields, but it casts
a value whose type conflicts with the table's silently (2.7 into a ``long`` column is stored as
2, 5 into a ``string`` column as '5'). The lake contract fixes a column's type forever, so every
write is checked here first, in Delta's own types (so Arrow's ``string``/``large_string``/
``string_view`` are one type, as they are in the table).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from deltalake import Schema


class LakeSchemaConflict(ValueError):
    """A write would change the type of a column (or nested field) the table already has."""


def _delta_fields(schema: pa.Schema) -> list[dict[str, Any]]:
    return json.loads(Schema.from_arrow(schema).to_json())["fields"]


def _conflicts(path: str, table_type: Any, new_type: Any) -> list[str]:
    """Paths whose types differ; new struct fields are fine (they merge)."""
    if isinstance(table_type, dict) and isinstance(new_type, dict):
        if table_type.get("type") != new_type.get("type"):
            return [f"{path}: {_name(table_type)} in the table, {_name(new_type)} written"]
        if table_type["type"] == "struct":
            known = {field["name"]: field["type"] for field in table_type["fields"]}
            found = []
            for field in new_type["fields"]:
                if field["name"] in known:
                    found += _conflicts(
                        f"{path}.{field['name']}", known[field["name"]], field["type"]
                    )
            return found
        if table_type["type"] == "array":
            return _conflicts(f"{path}[]", table_type["elementType"], new_type["elementType"])
        if table_type["type"] == "map":
            return _conflicts(f"{path}{{key}}", table_type["keyType"], new_type["keyType"]) + (
                _conflicts(f"{path}{{value}}", table_type["valueType"], new_type["valueType"])
            )
        return []
    if table_type != new_type:
        return [f"{path}: {_name(table_type)} in the table, {_name(new_type)} written"]
    return []


def _name(delta_type: Any) -> str:
    if isinstance(delta_type, dict):
        return delta_type.get("type", "?")
    return str(delta_type)


def schema_conflicts(table_schema: pa.Schema | None, new_schema: pa.Schema) -> list[str]:
    """Every column path whose type in ``new_schema`` differs from the table's."""
    if table_schema is None:
        return []
    known = {field["name"]: field["type"] for field in _delta_fields(table_schema)}
    found: list[str] = []
    for field in _delta_fields(new_schema):
        if field["name"] in known:
            found += _conflicts(field["name"], known[field["name"]], field["type"])
    return found


def check_schema(table_schema: pa.Schema | None, new_schema: pa.Schema, table_uri: str) -> None:
    """Raise :class:`LakeSchemaConflict` naming every conflicting column; nothing is written."""
    found = schema_conflicts(table_schema, new_schema)
    if found:
        raise LakeSchemaConflict(
            f"writing to the Delta table {table_uri} would change column types ("
            + "; ".join(found)
            + "). A column's type never changes in the lake: nothing was written."
        )
