"""The local SQL database (DuckDB file) in which the lake's views are registered."""

from __future__ import annotations

import time
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

    def connect(self, wait_seconds: float = 30.0) -> duckdb.DuckDBPyConnection:
        """A read-write connection. DuckDB locks the file against other processes, so a reader
        that has it open (``make query``, a notebook) delays the views' refresh, within bounds."""
        database = self.database_path()
        database.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                return duckdb.connect(str(database))
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
