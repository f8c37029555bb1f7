"""Register the lake in Synapse serverless SQL: the script from the lake's schema, then run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dicom_assets.sql.lake_schema import read_table_schema
from dicom_assets.sql.synapse_config import config_for_lake
from dicom_assets.sql.synapse_executor import apply_synapse_script
from dicom_assets.sql.synapse_script import build_synapse_script


@dataclass(frozen=True)
class SynapseRegistration:
    changes: list[str]  # objects created or altered; empty when everything was up to date
    columns: int


def register_in_synapse(
    connection: Any,
    lake: Any,
    database: str,
    account_name: str | None = None,
) -> SynapseRegistration:
    columns, _rows = read_table_schema(lake)
    lake_url = lake.url
    config = config_for_lake(lake_url, database=database, account_name=account_name)
    statements = build_synapse_script(columns, config)
    changes = apply_synapse_script(connection, statements)
    table_columns = next(
        (s.column_count for s in statements if s.kind == "external_table" and s.column_count), 0
    )
    return SynapseRegistration(changes=changes, columns=table_columns)
