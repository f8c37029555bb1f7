"""The de-identification settings as a Dagster resource (``deidentification``), read at run time.

The key comes in through ``EnvVar("DICOM_DEID_KEY")``: Dagster shows the variable's name in
the UI and run storage, never its value.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from dicom_assets.deid.deidentifier import Deidentifier
from dicom_assets.deid.settings import DeidSettings


class DeidentificationResource(ConfigurableResource):
    """DICOM_DEIDENTIFY / DICOM_DEID_OPTIONS / DICOM_DEID_KEY (docs/deidentification.md)."""

    mode: str = Field(default="off", description="'off' or 'basic' (DICOM_DEIDENTIFY).")
    options: str = Field(default="", description="Annex E options (DICOM_DEID_OPTIONS).")
    key: str = Field(default="", description="Pseudonym key (DICOM_DEID_KEY); a secret.")

    def settings(self) -> DeidSettings:
        return DeidSettings.parse(self.mode, self.options, self.key)

    def deidentifier(self) -> Deidentifier | None:
        """The run's de-identifier, or None when DICOM_DEIDENTIFY=off."""
        settings = self.settings()
        return Deidentifier(settings) if settings.enabled else None
