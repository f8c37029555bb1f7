"""The lake's SQL views in a local DuckDB file: ``dicom.instances``, ``current_instances``,
``series`` and ``studies`` (the same names and meaning as the Synapse views).

``dicom.instances`` is ``delta_scan`` over the change log's Delta table: DuckDB reads the table's
current snapshot (one schema, only the active files) each time a view is queried, so the views
are registered once and stay current; they need only DuckDB and its ``delta`` extension
(duckdb_extensions.py), not this project's code.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from dicom_assets.sql.duckdb_extensions import ensure_extensions

SCHEMA = "dicom"
IDENTITY_COLUMNS = {
    "_sequence": "BIGINT",
    "_timestamp": "TIMESTAMPTZ",
    "_action": "VARCHAR",
    "StudyInstanceUID": "VARCHAR",
    "SeriesInstanceUID": "VARCHAR",
    "SOPInstanceUID": "VARCHAR",
    "Modality": "VARCHAR",
    "_metadata": "VARCHAR",
}


@dataclass(frozen=True)
class RegisteredViews:
    views: list[str]
    columns: int
    table_exists: bool


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def instances_source(table_uri: str, exists: bool) -> str:
    """The SELECT behind ``dicom.instances``: the Delta table's current snapshot."""
    if exists:
        return f"SELECT * FROM delta_scan({_quote_literal(table_uri)})"
    # An empty lake still gets views, typed like the lake's fixed columns.
    columns = ", ".join(
        f"CAST(NULL AS {kind}) AS {name}" for name, kind in IDENTITY_COLUMNS.items()
    )
    return f"SELECT {columns} WHERE false"


def view_statements(instances_select: str, has_modality: bool) -> list[tuple[str, str]]:
    """(view name, statement) in dependency order. The rules match the Synapse views.

    Reconciliation's delete rows carry -(sequence of the create they end): by absolute value
    they rank with that create and win the tie; a later re-create outranks both.
    """
    modality = "Modality" if has_modality else "CAST(NULL AS VARCHAR)"
    return [
        ("instances", f"CREATE OR REPLACE VIEW {SCHEMA}.instances AS {instances_select}"),
        (
            "current_instances",
            f"""CREATE OR REPLACE VIEW {SCHEMA}.current_instances AS
SELECT * EXCLUDE (_latest) FROM (
    SELECT *, row_number() OVER (
        PARTITION BY SOPInstanceUID ORDER BY abs(_sequence) DESC, _sequence ASC
    ) AS _latest
    FROM {SCHEMA}.instances
) WHERE _latest = 1 AND _action <> 'delete'""",
        ),
        (
            "series",
            f"""CREATE OR REPLACE VIEW {SCHEMA}.series AS
SELECT StudyInstanceUID, SeriesInstanceUID,
       min({modality}) AS Modality,
       count(*) AS instances,
       min(_timestamp) AS first_change,
       max(_timestamp) AS last_change
FROM {SCHEMA}.current_instances
GROUP BY StudyInstanceUID, SeriesInstanceUID""",
        ),
        (
            "studies",
            f"""CREATE OR REPLACE VIEW {SCHEMA}.studies AS
SELECT StudyInstanceUID,
       count(DISTINCT SeriesInstanceUID) AS series,
       count(*) AS instances,
       string_agg(DISTINCT {modality}, ',' ORDER BY {modality}) AS modalities,
       min(_timestamp) AS first_change,
       max(_timestamp) AS last_change
FROM {SCHEMA}.current_instances
GROUP BY StudyInstanceUID""",
        ),
    ]


def register_views(
    connection: duckdb.DuckDBPyConnection,
    table_uri: str,
    exists: bool = True,
    secret_statement: str | None = None,
) -> RegisteredViews:
    """(Re)create the schema and views; safe to run any number of times. ``secret_statement``
    (an Azure lake): the ``CREATE PERSISTENT SECRET`` that lets later connections read it."""
    ensure_extensions(connection)
    if secret_statement:
        connection.execute(secret_statement)
    select = instances_source(table_uri, exists)
    columns = [row[0] for row in connection.execute(f"DESCRIBE {select}").fetchall()]
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    created = []
    for name, statement in view_statements(select, "Modality" in columns):
        connection.execute(statement)
        created.append(f"{SCHEMA}.{name}")
    return RegisteredViews(views=created, columns=len(columns), table_exists=exists)
