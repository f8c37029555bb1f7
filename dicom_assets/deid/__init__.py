"""De-identification before landing: the DICOM PS3.15 Basic Profile with keyed pseudonyms.

See docs/deidentification.md. Layer: below the converter (``schema`` calls :class:`Deidentifier`
on its entries, ``feed_entry.ChangeFeedEntry``); it imports only ``config``.
"""

from dicom_assets.deid.deidentifier import Deidentifier
from dicom_assets.deid.settings import DeidSettings, DeidSettingsError

__all__ = ["DeidSettings", "DeidSettingsError", "Deidentifier"]
