"""``dicom_custom_<name>``: one derived table per template of DICOM_CUSTOM_SCHEMAS.

Each asset reads its windows' rows from the lake's change log (only the columns the template
needs) and never calls the DICOM server: a new template over a year of history costs the server
nothing. It is partitioned like ``dicom_instances`` and materializes after every sync of the same
window; a backfill of many windows runs as one run (one Delta commit for the whole range).
"""

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from dicom_assets.assets.automation import AFTER_EVERY_SYNC
from dicom_assets.assets.instances import dicom_instances
from dicom_assets.config import resolve_local_path
from dicom_assets.custom import (
    Template,
    TemplateError,
    load_templates,
    output_schema,
)
from dicom_assets.custom.lake_io import rebuild_windows
from dicom_assets.custom.sql_types import duckdb_type
from dicom_assets.partitions import dicom_feed_partitions
from dicom_assets.resources import LakeResource

GROUP = "dicom_custom"


def asset_name(template: Template) -> str:
    return f"dicom_custom_{template.name}"


def column_schema(template: Template) -> TableSchema:
    """The table's columns with their types and descriptions, for the asset's UI page."""
    return TableSchema(
        columns=[
            TableColumn(
                field.name,
                duckdb_type(field.type),
                description=(field.metadata or {}).get(b"comment", b"").decode() or None,
            )
            for field in output_schema(template)
        ]
    )


def _description(template: Template) -> str:
    summary = template.description or f"Custom table {template.name}."
    where = "; ".join(f"{c.keyword} in {c.accepted.to_pylist()}" for c in template.conditions)
    return (
        f"{summary}\n\nDerived from the lake's change log (``dicom_instances``) by the template "
        f"``{template.source}``: one row per change{' where ' + where if where else ''} (deletes "
        f"always kept), columns ``_sequence``, ``_timestamp``, ``_action``, the three UIDs, then "
        f"{', '.join(c.name for c in template.columns)}. Delta table under "
        f"``<lake>/result/Dicom_Customized/{template.name}/``; SQL ``dicom_custom.{template.name}``"
        f" and ``dicom_custom.current_{template.name}``."
    )


def build_custom_table_asset(template: Template) -> AssetsDefinition:
    """The asset of one template."""

    @asset(
        name=asset_name(template),
        partitions_def=dicom_feed_partitions,
        deps=[dicom_instances],
        automation_condition=AFTER_EVERY_SYNC,
        backfill_policy=BackfillPolicy.single_run(),
        group_name=GROUP,
        kinds={"delta", "dicom"},
        owners=["team:dicom-assets"],
        description=_description(template),
        metadata={
            "dagster/column_schema": column_schema(template),
            "template": MetadataValue.path(template.source),
        },
    )
    def _custom_table(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
        keys = context.partition_keys
        window = context.partition_time_window
        written = rebuild_windows(lake, template, window.start, window.end)
        summary = written.summary
        context.log.info(
            f"{summary.rows} rows of {written.changes_read} changes in {len(keys)} window(s)"
            f" -> {written.table} (version {summary.version})"
        )
        filled = {
            name: round(1 - nulls / summary.rows, 4) if summary.rows else None
            for name, nulls in (summary.null_counts or {}).items()
            if name not in ("_sequence", "_timestamp", "_action")
        }
        return MaterializeResult(
            metadata={
                "rows": MetadataValue.int(summary.rows),
                "changes_read": MetadataValue.int(written.changes_read),
                "windows": MetadataValue.int(len(keys)),
                "table": MetadataValue.path(written.table),
                "delta_version": MetadataValue.int(summary.version),
                "filled_share": MetadataValue.json(filled),
                "seconds": MetadataValue.json({k: round(v, 3) for k, v in written.seconds.items()}),
                "dagster/column_schema": column_schema(template),
            }
        )

    return _custom_table


def load_custom_templates(folder: str) -> list[Template]:
    """The templates of DICOM_CUSTOM_SCHEMAS (none when unset); a bad template fails the load
    with the same ``file:line: reason`` lines as ``dicom-assets check-templates``."""
    if not folder:
        return []
    try:
        return load_templates(resolve_local_path(folder))
    except TemplateError as error:
        raise TemplateError(
            error.problems,
            heading=f"DICOM_CUSTOM_SCHEMAS={folder}: "
            "invalid templates (dicom-assets check-templates says the same)",
        ) from None
