"""Software-defined assets: the synced instances and the SQL layer over them."""

from dicom_assets.assets.external_tables import dicom_external_tables
from dicom_assets.assets.instances import dicom_instances

__all__ = ["dicom_external_tables", "dicom_instances"]
