"""``dicom_external_tables``: the SQL tables and views over the lake's Delta table."""

import duckdb
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
)

from dicom_assets.assets.automation import sql_layer_asset
from dicom_assets.assets.instances import dicom_instances
from dicom_assets.resources import DuckDBWarehouse, LakeResource, SqlTargetResource
from dicom_assets.sql.duckdb_secret import (
    duckdb_secret_statement,
    duckdb_table_uri,
    point_duckdb_at_emulator,
)
from dicom_assets.sql.duckdb_views import register_views


@sql_layer_asset(deps=[dicom_instances], group_name="dicom")
def dicom_external_tables(
    context: AssetExecutionContext,
    lake: LakeResource,
    warehouse: DuckDBWarehouse,
    sql_target: SqlTargetResource,
) -> MaterializeResult:
    """SQL tables and views over the lake's Delta table (the change log), in the schema ``dicom``.

    ``dicom.instances``: every row (every change) of the table's current version.
    ``dicom.current_instances``: the latest row per ``SOPInstanceUID`` by ``_sequence``, without
    the deleted ones: what the server holds now. ``dicom.series`` and ``dicom.studies``: one row
    per series and study of the current instances, with counts, modalities, first/last change.
    DICOM_SQL_TARGET=duckdb (default): views in the DuckDB file DICOM_DUCKDB_PATH.
    DICOM_SQL_TARGET=synapse: a typed external table and the same views in Synapse serverless SQL.
    """
    if sql_target.is_synapse():
        return _register_in_synapse(context, lake, sql_target)
    table = lake.table()
    point_duckdb_at_emulator(lake)
    with lake.storage_errors():
        delta = table.open_if_exists()
        version = delta.version() if delta is not None else -1
    with warehouse.connect() as connection:
        columns_before = _instances_columns(connection)
        registered = register_views(
            connection,
            duckdb_table_uri(lake),
            exists=delta is not None,
            secret_statement=duckdb_secret_statement(lake),
        )
        new_columns = [c for c in _instances_columns(connection) if c not in columns_before]
        preview = connection.sql(
            "SELECT * FROM dicom.studies ORDER BY last_change DESC LIMIT 10"
        ).to_arrow_table()
    context.log.info(f"registered {', '.join(registered.views)} over Delta table version {version}")
    return MaterializeResult(
        metadata={
            "target": "duckdb",
            "database": MetadataValue.path(str(warehouse.database_path())),
            "objects": MetadataValue.json(registered.views),
            "column_count": MetadataValue.int(registered.columns),
            "delta_version": MetadataValue.int(version),
            "new_columns": MetadataValue.json(new_columns),
            "studies_preview": _table_metadata(preview),
        }
    )


def _register_in_synapse(context, lake, sql_target) -> MaterializeResult:
    from dicom_assets.sql.synapse.target import register_in_synapse

    with sql_target.synapse_connection() as connection:
        registration = register_in_synapse(
            connection,
            lake,
            sql_target.synapse_database,
            sql_target.storage_account(),
        )
    context.log.info(f"Synapse: {len(registration.changes)} objects created or altered")
    return MaterializeResult(
        metadata={
            "target": "synapse",
            "database": sql_target.synapse_database,
            "objects_created_or_altered": MetadataValue.json(registration.changes),
            "column_count": MetadataValue.int(registration.columns),
        }
    )


def _instances_columns(connection) -> list[str]:
    """Columns of ``dicom.instances`` as registered now (none before the first registration)."""
    try:
        return [row[0] for row in connection.sql("DESCRIBE dicom.instances").fetchall()]
    except duckdb.Error:
        return []


def _table_metadata(table: pa.Table) -> MetadataValue:
    """An Arrow table as Dagster table metadata (the UI renders it as a table with a schema)."""
    schema = TableSchema(
        columns=[TableColumn(field.name, _column_type(field.type)) for field in table.schema]
    )
    records = [
        TableRecord({name: _cell(value) for name, value in row.items()})
        for row in table.to_pylist()
    ]
    return MetadataValue.table(records=records, schema=schema)


def _column_type(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "int"
    if pa.types.is_floating(kind):
        return "float"
    if pa.types.is_boolean(kind):
        return "bool"
    return "string"


def _cell(value):
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
