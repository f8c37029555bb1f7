"""``dicom_custom_sql``: the SQL objects of the custom tables (DuckDB views or Synapse objects)."""

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue

from dicom_assets.assets.automation import sql_layer_asset
from dicom_assets.assets.custom_tables import GROUP
from dicom_assets.custom import Template, output_schema
from dicom_assets.custom.lake_io import custom_table
from dicom_assets.resources import DuckDBWarehouse, LakeResource, SqlTargetResource
from dicom_assets.sql.custom_views import CustomTableSource, register_custom_views
from dicom_assets.sql.duckdb_secret import duckdb_secret_statement, point_duckdb_at_emulator


def build_custom_sql_asset(
    templates: list[Template], custom_assets: list[AssetsDefinition]
) -> AssetsDefinition:
    """One asset registering every template's objects, after any of their tables changed."""

    @sql_layer_asset(name="dicom_custom_sql", deps=custom_assets, group_name=GROUP)
    def dicom_custom_sql(
        context: AssetExecutionContext,
        lake: LakeResource,
        warehouse: DuckDBWarehouse,
        sql_target: SqlTargetResource,
    ) -> MaterializeResult:
        """The custom tables in SQL, in the schema ``dicom_custom``.

        ``dicom_custom.<name>``: every row of the template's Delta table.
        ``dicom_custom.current_<name>``: the latest row per ``SOPInstanceUID``, deleted instances
        excluded (the rule of ``dicom.current_instances``).
        DICOM_SQL_TARGET=duckdb: views in DICOM_DUCKDB_PATH; =synapse: external tables + views.
        """
        with lake.storage_errors():
            written = [t for t in templates if custom_table(lake, t.name).open_if_exists()]
        names = {t.name for t in written}
        if sql_target.is_synapse():
            return _register_in_synapse(context, lake, sql_target, written)
        point_duckdb_at_emulator(lake)
        sources = [
            CustomTableSource(
                t.name,
                custom_table(lake, t.name).uri if t.name in names else None,
                output_schema(t),
            )
            for t in templates
        ]
        with warehouse.connect() as connection:
            views = register_custom_views(connection, sources, duckdb_secret_statement(lake))
        context.log.info(f"registered {len(views)} views of {len(templates)} custom tables")
        return MaterializeResult(
            metadata={
                "target": "duckdb",
                "database": MetadataValue.path(str(warehouse.database_path())),
                "objects": MetadataValue.json(views),
                "not_materialized_yet": MetadataValue.json(
                    [t.name for t in templates if t.name not in names]
                ),
            }
        )

    return dicom_custom_sql


def _register_in_synapse(context, lake, sql_target, written) -> MaterializeResult:
    from dicom_assets.sql.synapse.config import config_for_lake
    from dicom_assets.sql.synapse.custom import build_custom_synapse_script
    from dicom_assets.sql.synapse.executor import apply_synapse_script

    config = config_for_lake(
        lake.url,
        database=sql_target.synapse_database,
        account_name=sql_target.storage_account(),
    )
    with sql_target.synapse_connection() as connection:
        changes = apply_synapse_script(connection, build_custom_synapse_script(config, written))
    context.log.info(f"Synapse: {len(changes)} objects created or altered")
    return MaterializeResult(
        metadata={
            "target": "synapse",
            "database": sql_target.synapse_database,
            "objects_created_or_altered": MetadataValue.json(changes),
            "tables": MetadataValue.json([t.name for t in written]),
        }
    )
