"""Synapse serverless objects of the custom tables: ``dicom_custom.<name>``, an external table
over the template's Delta table, and ``dicom_custom.current_<name>``, the latest row per SOP
instance without deletes (the rule of ``dicom.current_instances``).

Column types follow ``dicom.instances`` (``synapse.types.tsql_type``): a string column is sized
by the VR of the attribute its path reaches, lists and structs are JSON text.
"""

from __future__ import annotations

from dicom_assets.custom import Template, output_schema
from dicom_assets.lake.layout import CUSTOMIZED_FOLDER
from dicom_assets.sql.synapse.config import SynapseConfig
from dicom_assets.sql.synapse.script import (
    SynapseStatement,
    external_table_statement,
    prelude_statements,
    schema_statement,
    view_statement,
)
from dicom_assets.sql.synapse.types import TableColumn, tsql_type
from dicom_assets.sql.synapse.views import current_view

CUSTOM_SCHEMA = "dicom_custom"


def custom_location(config: SynapseConfig, name: str) -> str:
    """The Delta table's root relative to the data source."""
    prefix = config.lake_prefix.strip("/")
    folder = f"{CUSTOMIZED_FOLDER}/{name}/"
    return f"{prefix}/{folder}" if prefix else folder


def custom_table_columns(template: Template) -> list[TableColumn]:
    """The external table's columns: the fixed head, then the template's, typed like
    ``dicom.instances`` (strings sized by the VR of the attribute the path reaches)."""
    keywords = {column.name: column.path.keyword for column in template.columns}
    columns = []
    for field in output_schema(template):
        mapped = tsql_type(keywords.get(field.name) or field.name, field.type)
        if mapped is None:  # every type a template can produce maps; kept as a guard
            raise ValueError(f"column {field.name!r} of {template.name} has no T-SQL type")
        columns.append(TableColumn(field.name, *mapped))
    return columns


def custom_statements(config: SynapseConfig, templates: list[Template]) -> list[SynapseStatement]:
    """The schema, then per template its external table and current view."""
    if not templates:
        return []
    statements = [schema_statement(CUSTOM_SCHEMA)]
    for template in templates:
        columns = custom_table_columns(template)
        statements.append(
            external_table_statement(
                config,
                CUSTOM_SCHEMA,
                template.name,
                custom_location(config, template.name),
                columns,
            )
        )
        view = f"current_{template.name}"
        sql, mark = current_view(CUSTOM_SCHEMA, template.name, view, columns)
        statements.append(view_statement(CUSTOM_SCHEMA, view, sql, mark))
    return statements


def build_custom_synapse_script(
    config: SynapseConfig, templates: list[Template]
) -> list[SynapseStatement]:
    """What the ``dicom_custom_sql`` asset runs: the shared prelude, then the custom objects."""
    return [*prelude_statements(config), *custom_statements(config, templates)]
