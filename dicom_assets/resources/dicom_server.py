"""The DICOM server the lake follows: which change feed to read and how to reach it."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from dicom_assets.sources.feed import ChangeFeed, open_change_feed


class DicomServerResource(ConfigurableResource):
    """A DICOM server's change feed and DICOMweb metadata (Orthanc or the Azure DICOM service)."""

    url: str = Field(description="DICOMweb base URL (DICOM_SERVER_URL).")
    kind: str = Field(default="azure", description="'orthanc' or 'azure' (DICOM_SERVER_KIND).")
    orthanc_url: str = Field(
        default="", description="Orthanc REST root (ORTHANC_URL); derived from url when empty."
    )
    api_version: str = Field(default="v2", description="Azure change feed API: v2 or v1.")
    auth: str = Field(default="none", description="'none' or 'azure' (DICOM_AUTH).")
    audience: str = Field(
        default="https://dicom.healthcareapis.azure.com",
        description="Entra ID audience of the DICOM service (DICOM_AUDIENCE).",
    )

    def validated_url(self) -> str:
        if not self.url:
            raise ValueError(
                "DICOM_SERVER_URL is not set: point it at the DICOMweb base URL of the server "
                "(Orthanc: http://127.0.0.1:8042/dicom-web/)."
            )
        return self.url

    def effective_orthanc_url(self) -> str:
        """``ORTHANC_URL``, or the DICOMweb URL without its ``/dicom-web`` root."""
        if self.orthanc_url:
            return self.orthanc_url.rstrip("/")
        base = self.validated_url().rstrip("/")
        return base.removesuffix("/dicom-web")

    def change_feed(self) -> ChangeFeed:
        """A new change-feed client (with its own HTTP call count)."""
        return open_change_feed(self)
