"""Metadata of one Orthanc instance read from its stored file, for what WADO-RS cannot give."""

from __future__ import annotations

import io
from typing import Any

import pydicom

from dicom_assets.sources.http import CountingSession


def dataset_to_json(dataset: pydicom.Dataset, url: str) -> dict[str, Any]:
    """pydicom's DICOM JSON of a dataset, element by element so one bad value spoils nothing."""
    rendered: dict[str, Any] = {}
    for element in dataset:
        key = f"{element.tag:08X}"
        try:
            rendered[key] = element.to_json_dict(
                bulk_data_element_handler=lambda item: f"{url}#{item.tag:08X}",
                bulk_data_threshold=1024,
            )
        except Exception:  # noqa: BLE001 - keep the raw text; the converter flags it invalid
            raw = element.value if isinstance(element.value, str) else str(element.value)
            rendered[key] = {"vr": element.VR, "Value": [raw]}
    return rendered


def instance_metadata_from_file(session: CountingSession, orthanc_url: str, orthanc_id: str) -> Any:
    """DICOM JSON of one stored instance, read from its file (bulk data as URIs).

    An element pydicom cannot render keeps its raw text, so the converter flags it invalid
    and ``_metadata`` still holds it; a file pydicom cannot read at all becomes the reason
    (a string), which the converter quarantines.
    """
    url = f"{orthanc_url}/instances/{orthanc_id}/file"
    response = session.get(url)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    try:
        dataset = pydicom.dcmread(io.BytesIO(response.content), force=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is quarantined, not fatal
        return f"unreadable DICOM file {orthanc_id}: {type(error).__name__}: {error}"
    return dataset_to_json(dataset, url)
