"""DICOM JSON -> typed Arrow rows: the lake's schema (see docs/schema.md)."""

from dicom_assets.schema.convert import convert_entries
from dicom_assets.schema.model import ConversionOptions, ConvertedBatch, QuarantinedInstance

__all__ = ["ConversionOptions", "ConvertedBatch", "QuarantinedInstance", "convert_entries"]
