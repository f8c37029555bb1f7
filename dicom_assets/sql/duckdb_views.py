"""The lake's SQL views in a local DuckDB file: ``dicom.instances``, ``current_instances``,
``series`` and ``studies`` (the same names and meaning as the Synapse views)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import fsspec

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
    files: int


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parquet_glob(dicom_root_url: str) -> str:
    return dicom_root_url.rstrip("/") + "/**/*.parquet"


def register_lake_filesystem(
    connection: duckdb.DuckDBPyConnection, fs: fsspec.AbstractFileSystem | None
) -> None:
    """Let DuckDB read ``abfs://`` paths through the same fsspec filesystem the lake uses."""
    if fs is not None and not connection.filesystem_is_registered(fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol):
        connection.register_filesystem(fs)


def instances_source(connection: duckdb.DuckDBPyConnection, dicom_root_url: str, files: int) -> str:
    """The SELECT behind ``dicom.instances``: every row of every Parquet file, union by name."""
    if files:
        glob = _quote_literal(parquet_glob(dicom_root_url))
        return f"SELECT * FROM read_parquet({glob}, union_by_name = true)"
    # An empty lake still gets views, typed like the lake's fixed columns.
    columns = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in IDENTITY_COLUMNS.items())
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
    dicom_root_url: str,
    files: int,
    fs: fsspec.AbstractFileSystem | None = None,
) -> RegisteredViews:
    """(Re)create the schema and views; safe to run any number of times."""
    register_lake_filesystem(connection, fs)
    select = instances_source(connection, dicom_root_url, files)
    columns = [row[0] for row in connection.execute(f"DESCRIBE {select}").fetchall()]
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    created = []
    for name, statement in view_statements(select, "Modality" in columns):
        connection.execute(statement)
        created.append(f"{SCHEMA}.{name}")
    return RegisteredViews(views=created, columns=len(columns), files=files)
