"""DuckDB views of the custom tables: ``dicom_custom.<name>`` and ``dicom_custom.current_<name>``.

``<name>`` is every row of the template's Delta table (``delta_scan``: the table's current
snapshot each time it is queried, so a view is registered once and stays current; a template not
materialized yet gets an empty view of its columns). ``current_<name>`` keeps the latest row per
``SOPInstanceUID`` by the rule of ``dicom.current_instances`` (reconciliation deletes carry
``-sequence`` and win the tie), without deleted instances: the rows of the instances the server
holds now that pass the template's ``where``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from dicom_assets.custom.sql_types import duckdb_type
from dicom_assets.sql.duckdb_extensions import ensure_extensions

SCHEMA = "dicom_custom"


@dataclass(frozen=True)
class CustomTableSource:
    """A template's table as DuckDB reads it: its Delta URI (None: not written yet) and schema."""

    name: str
    uri: str | None
    schema: pa.Schema


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_select(table: CustomTableSource) -> str:
    if table.uri is not None:
        return f"SELECT * FROM delta_scan({_quote_literal(table.uri)})"
    columns = ", ".join(
        f"CAST(NULL AS {duckdb_type(field.type)}) AS {_quote_identifier(field.name)}"
        for field in table.schema
    )
    return f"SELECT {columns} WHERE false"


def current_view_body(source: str) -> str:
    """The SELECT of a ``current_*`` view over ``source`` (a qualified view name)."""
    return f"""SELECT * EXCLUDE (_latest) FROM (
    SELECT *, row_number() OVER (
        PARTITION BY SOPInstanceUID ORDER BY abs(_sequence) DESC, _sequence ASC
    ) AS _latest
    FROM {source}
) WHERE _latest = 1 AND _action <> 'delete'"""


def custom_view_statements(table: CustomTableSource) -> list[tuple[str, str]]:
    """(view, statement) of one template's two views."""
    everything = f"{SCHEMA}.{table.name}"
    current = f"{SCHEMA}.current_{table.name}"
    return [
        (everything, f"CREATE OR REPLACE VIEW {everything} AS {source_select(table)}"),
        (current, f"CREATE OR REPLACE VIEW {current} AS\n{current_view_body(everything)}"),
    ]


def register_custom_views(
    connection: duckdb.DuckDBPyConnection,
    tables: list[CustomTableSource],
    secret_statement: str | None = None,
) -> list[str]:
    """(Re)create the schema and every template's views; safe to run any number of times."""
    ensure_extensions(connection)
    if secret_statement:
        connection.execute(secret_statement)
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    created = []
    for table in tables:
        for view, statement in custom_view_statements(table):
            connection.execute(statement)
            created.append(view)
    return created
