"""The local SQL database (DuckDB file) in which the lake's views are registered."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from dicom_assets.config import resolve_local_path


class DuckDBWarehouse(ConfigurableResource):
    """A DuckDB file (DICOM_DUCKDB_PATH). Not ``dicom.duckdb``: the catalog would clash with the
    schema ``dicom``."""

    path: str = Field(default="data/warehouse.duckdb", description="DuckDB file.")

    def database_path(self) -> Path:
        return resolve_local_path(self.path)

    def connect(self) -> duckdb.DuckDBPyConnection:
        database = self.database_path()
        database.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(database))
