"""Parquet IO manager of the lake (local folder or ADLS Gen2)."""

from dicom_assets.io.lake_io_manager import DicomLakeIOManager, ParquetLakeIOManager
from dicom_assets.io.window_sync import SYNC_MODE_TAG, SyncMode, WindowSync

__all__ = ["SYNC_MODE_TAG", "DicomLakeIOManager", "ParquetLakeIOManager", "SyncMode", "WindowSync"]
