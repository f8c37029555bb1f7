"""Dagster resources: the DICOM server, the lake, and the SQL warehouse."""

from dicom_assets.lake.resource import LakeResource
from dicom_assets.resources.dicom_server import DicomServerResource
from dicom_assets.resources.sql_target import SqlTargetResource
from dicom_assets.resources.warehouse import DuckDBWarehouse

__all__ = ["DicomServerResource", "DuckDBWarehouse", "LakeResource", "SqlTargetResource"]
