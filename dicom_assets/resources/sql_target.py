"""Where ``dicom_external_tables`` registers the SQL layer: DuckDB locally or Synapse serverless."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from dicom_assets.config import setting_value


class SqlTargetResource(ConfigurableResource):
    """DICOM_SQL_TARGET (``duckdb`` or ``synapse``) and the Synapse endpoint and database."""

    target: str = Field(default="duckdb", description="duckdb or synapse (DICOM_SQL_TARGET).")
    synapse_endpoint: str = Field(
        default="", description="<workspace>-ondemand.sql.azuresynapse.net (SYNAPSE_SQL_ENDPOINT)."
    )
    synapse_database: str = Field(default="dicomdb", description="SYNAPSE_DATABASE.")

    def is_synapse(self) -> bool:
        target = self.target.lower()
        if target not in ("duckdb", "synapse"):
            raise ValueError(f"DICOM_SQL_TARGET must be 'duckdb' or 'synapse', not {self.target!r}")
        return target == "synapse"

    def synapse_connection(self) -> Any:
        """A connection to ``master`` (the script creates the database and switches to it),
        authenticated with an Entra ID token from ``DefaultAzureCredential``."""
        from azure.identity import DefaultAzureCredential

        from dicom_assets.sql.synapse_executor import synapse_connection

        if not self.synapse_endpoint:
            raise ValueError("DICOM_SQL_TARGET=synapse needs SYNAPSE_SQL_ENDPOINT")
        return synapse_connection(self.synapse_endpoint, "master", DefaultAzureCredential())

    def storage_account(self) -> str | None:
        return setting_value("AZURE_STORAGE_ACCOUNT_NAME") or None
