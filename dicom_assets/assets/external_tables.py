"""``dicom_external_tables``: the SQL tables and views over the lake's Parquet files."""


from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from dicom_assets.assets.instances import dicom_instances
from dicom_assets.resources import DuckDBWarehouse, LakeResource
from dicom_assets.sql.duckdb_views import register_views

# Re-register after any new window was written, once no window is being written; unlike
# ``eager()`` this does not wait for every hourly partition of the history to exist.
REFRESH_AFTER_SYNC = (
    AutomationCondition.any_deps_updated() | AutomationCondition.missing()
) & ~AutomationCondition.in_progress()


@asset(
    deps=[dicom_instances],
    automation_condition=REFRESH_AFTER_SYNC,
    group_name="dicom",
    kinds={"duckdb", "sql"},
    owners=["team:dicom-assets"],
)
def dicom_external_tables(
    context: AssetExecutionContext, lake: LakeResource, warehouse: DuckDBWarehouse
) -> MaterializeResult:
    """SQL views over every Parquet file of the lake, in the schema ``dicom``.

    ``dicom.instances``: every row (every change) of every file, union by name.
    ``dicom.current_instances``: the latest row per ``SOPInstanceUID`` by ``_sequence``, without
    the deleted ones: what the server holds now. ``dicom.series`` and ``dicom.studies``: one row
    per series and study of the current instances, with counts, modalities, first/last change.
    Locally (DICOM_SQL_TARGET=duckdb) they live in the DuckDB file DICOM_DUCKDB_PATH.
    """
    fs = lake.filesystem()
    files = len(fs.glob(f"{lake.dicom_root()}/**/*.parquet"))
    root_url = lake.url_of(lake.dicom_root())
    with warehouse.connect() as connection:
        registered = register_views(
            connection, root_url, files, fs=None if lake.is_local() else fs
        )
        preview = connection.execute(
            "SELECT * FROM dicom.studies ORDER BY last_change DESC LIMIT 10"
        ).to_arrow_table()
    context.log.info(f"registered {', '.join(registered.views)} over {files} Parquet files")
    return MaterializeResult(
        metadata={
            "target": "duckdb",
            "database": MetadataValue.path(str(warehouse.database_path())),
            "objects": MetadataValue.json(registered.views),
            "column_count": MetadataValue.int(registered.columns),
            "parquet_files": MetadataValue.int(files),
            "studies_preview": MetadataValue.md(_markdown_table(preview)),
        }
    )


def _markdown_table(table) -> str:
    if not table.num_rows:
        return "_no studies yet_"
    header = "| " + " | ".join(table.column_names) + " |"
    rule = "|" + "---|" * table.num_columns
    rows = ["| " + " | ".join(str(value) for value in row.values()) + " |" for row in table.to_pylist()]
    return "\n".join([header, rule, *rows])
